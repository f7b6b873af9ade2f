"""Helpers shared by TF008-TF011: naming an app list and aiming a codemod at its literal."""

from __future__ import annotations

from tenantfix.graph.model import AppList, AppListEntry, Location, ProjectGraph, ProjectSettings
from tenantfix.plan import Fix, Safety


def label(app_list: AppList) -> str:
    """``SHARED_APPS`` or ``TENANT_TYPES['public']['APPS']``, as the user wrote it."""
    return app_list.name + "".join(f"[{k!r}]" for k in app_list.key_path)


def removal(app_list: AppList, entry: AppListEntry, safety: Safety) -> Fix:
    """The codemod taking ``entry`` out of ``app_list`` (TF001-TF004 moves, TF011)."""
    return Fix(
        kind="codemod",
        name="remove_app_from_list",
        path=entry.location.path,
        args=(
            ("list_name", app_list.name),
            ("app", entry.value),
            ("key_path", "/".join(app_list.key_path)),
        ),
        safety=safety,
        description=f"remove {entry.value!r} from {label(app_list)}",
    )


def literal_target(app_list: AppList) -> tuple[tuple[str, str], ...] | None:
    """``list_name``/``key_path`` arguments of the list codemods, or None without a literal."""
    if app_list.origin is None:
        return None
    if app_list.origin_name:
        return (("list_name", app_list.origin_name), ("key_path", ""))
    return (("list_name", app_list.name), ("key_path", "/".join(app_list.key_path)))


def in_origin(app_list: AppList, entry: AppListEntry) -> bool:
    """Whether ``entry`` was written in the list's origin literal (same file, not above it).

    Locations do not give a literal's extent, so this is a conservative approximation: the
    codemods refuse on their own when an entry turns out to live elsewhere.
    """
    origin = app_list.origin
    return (
        origin is not None
        and entry.location.path == origin.path
        and entry.location.line >= origin.line
    )


def settings_location(settings: ProjectSettings) -> Location:
    return Location(settings.path, 1)


def app_key(graph: ProjectGraph, value: str) -> str:
    """One key per app whatever the spelling (module path or AppConfig path)."""
    app = graph.app_for_entry(value)
    return app.label if app else value
