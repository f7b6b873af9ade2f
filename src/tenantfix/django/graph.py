"""Build the :class:`ProjectGraph` from what Django loaded (see :mod:`tenantfix.django.collect`).

The system checks (in the project's process) and ``check --probe`` (the collected data sent
back as JSON) both go through :func:`graph_from_collected`, so precise mode and the checks
cannot drift. The models and migrations are the files Django imported, read with the same
``ast`` readers as the static graph; the settings are the single configuration Django loaded.
Nothing here imports libcst, typer or the settings evaluator: this runs on every ``runserver``.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tenantfix.graph.cache import ExtractCache
from tenantfix.graph.model import (
    App,
    AppList,
    AppListEntry,
    Location,
    Migration,
    Model,
    ProjectGraph,
    ProjectSettings,
    SettingValue,
)
from tenantfix.graph.read_migrations import migration_from_raw
from tenantfix.graph.read_models import (
    TargetResolver,
    inherit_relations,
    read_models,
)

BARE_APP_CONFIG = "django.apps.config.AppConfig"
_SET_CALL = re.compile(r"\b(?:frozen)?set\(")
_LISTS = {
    "SHARED_APPS": "shared_apps",
    "TENANT_APPS": "tenant_apps",
    "INSTALLED_APPS": "installed_apps",
}


def project_root(collected: Mapping[str, Any]) -> Path:
    """The directory holding the settings module's top package (where manage.py lives)."""
    files = collected.get("settings_files") or []
    module = str(collected.get("settings_module") or "")
    if not files:
        return Path.cwd()
    path = Path(files[0]).resolve()
    depth = module.count(".") + (1 if path.name == "__init__.py" else 0)
    return path.parents[depth] if depth < len(path.parents) else path.parent


class _Relative:
    """Paths relative to the root when inside it (as the static graph writes them).

    Module files are absolute already: a string prefix test first, ``realpath`` only for a
    path outside the root as written (a symlinked checkout); resolving every one of 1,500
    files was 15 % of the build on the 500-app benchmark.
    """

    def __init__(self, root: Path) -> None:
        self.prefixes = tuple(
            dict.fromkeys((str(root).rstrip("/") + "/", os.path.realpath(root) + "/"))
        )

    def _inside(self, path: str) -> str | None:
        for prefix in self.prefixes:
            if path.startswith(prefix):
                return path[len(prefix) :]
        return None

    def __call__(self, path: Path) -> str:
        text = str(path)
        inside = self._inside(text)
        if inside is None and os.path.isabs(text):
            inside = self._inside(os.path.realpath(text))
        return Path(inside).as_posix() if inside is not None else path.as_posix()

    def inside(self, path: Path) -> bool:
        text = str(path)
        return self._inside(text) is not None or self._inside(os.path.realpath(text)) is not None


class _SettingsText:
    """Where a setting's strings are written: a cheap text search of the settings files (no
    parsing), so findings point at a line; line 1 of the settings module when not found."""

    def __init__(self, files: Sequence[str], rel: _Relative) -> None:
        self.texts: list[tuple[str, list[str]]] = []
        for file in files:
            try:
                lines = Path(file).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                lines = []
            self.texts.append((rel(Path(file)), lines))
        self.fallback = Location(self.texts[0][0] if self.texts else "settings.py", 1)

    def assignment(self, name: str) -> Location | None:
        pattern = re.compile(rf"^\s*{re.escape(name)}\s*(?::[^=]*)?(?:\+?=)")
        for path, lines in self.texts:
            for number, line in enumerate(lines, 1):
                if pattern.match(line):
                    return Location(path, number)
        return None

    def built_through_set(self, where: Location | None) -> bool:
        """``INSTALLED_APPS = list(set(SHARED_APPS + TENANT_APPS))``: the order Django loaded
        is this process's hash order, another process may differ (the static reading follows
        set() through any expression; this text test sees the assignment line only)."""
        if where is None:
            return False
        lines = dict(self.texts).get(where.path, [])
        text = lines[where.line - 1] if 0 < where.line <= len(lines) else ""
        return _SET_CALL.search(text) is not None

    def value(self, value: str, after: Location | None) -> Location:
        quoted = (f"'{value}'", f'"{value}"')
        candidates: list[Location] = []
        for path, lines in self.texts:
            for number, line in enumerate(lines, 1):
                if any(q in line for q in quoted):
                    candidates.append(Location(path, number))
        if after is not None:
            later = [c for c in candidates if c.path == after.path and c.line >= after.line]
            if later:
                return later[0]
        return candidates[0] if candidates else after or self.fallback


def settings_from_collected(collected: Mapping[str, Any], root: Path) -> ProjectSettings:
    """The one configuration Django loaded, as :class:`ProjectSettings` (nothing unknown).

    Locations come from :class:`_SettingsText`; ``origin`` stays ``None``: codemods never run
    from here. AUTH_USER_MODEL counts only when the project sets it (Django always has one).
    """
    rel = _Relative(root)
    files = [str(f) for f in collected.get("settings_files") or []]
    text = _SettingsText(files, rel)
    values: Mapping[str, Any] = collected.get("settings") or {}
    overridden = set(values.get("OVERRIDDEN") or ())

    def app_list(name: str, raw: Any, key_path: tuple[str, ...] = ()) -> AppList | None:
        if not isinstance(raw, list):
            return None
        where = text.assignment(name)
        entries = tuple(AppListEntry(v, text.value(v, where)) for v in raw if isinstance(v, str))
        return AppList(
            name=name,
            entries=entries,
            origin=None,
            key_path=key_path,
            assigned_at=where,
            ordered=not text.built_through_set(where),
        )

    def scalar(name: str) -> SettingValue | None:
        raw = values.get(name)
        if name not in overridden or not isinstance(raw, str):
            return None
        return SettingValue(raw, text.value(raw, text.assignment(name)))

    lists = {
        field: app_list(name, values.get(name)) if name in overridden else None
        for name, field in _LISTS.items()
    }
    multi = values.get("HAS_MULTI_TYPE_TENANTS") is True
    tenant_types: list[tuple[str, AppList]] = []
    types = values.get("TENANT_TYPES")
    if multi and isinstance(types, dict):
        for type_name, spec in types.items():
            found = app_list("TENANT_TYPES", spec.get("APPS") if isinstance(spec, dict) else None)
            if found is not None:
                tenant_types.append((type_name, _with_key(found, (type_name, "APPS"))))
    routers_raw = values.get("DATABASE_ROUTERS")
    routers: tuple[SettingValue, ...] | None = None
    if "DATABASE_ROUTERS" in overridden and isinstance(routers_raw, list):
        where = text.assignment("DATABASE_ROUTERS")
        routers = tuple(
            SettingValue(r, text.value(r, where)) for r in routers_raw if isinstance(r, str)
        )
    engine_raw = values.get("ENGINE")
    engine = (
        SettingValue(engine_raw, text.value(engine_raw, text.assignment("DATABASES")))
        if isinstance(engine_raw, str)
        else None
    )
    all_values = [e.value for lst in lists.values() if lst for e in lst.entries] + [
        e.value for _, lst in tenant_types for e in lst.entries
    ]
    return ProjectSettings(
        module=str(collected.get("settings_module") or ""),
        path=text.fallback.path,
        files=tuple(t[0] for t in text.texts),
        tenant_types=tuple(tenant_types),
        has_multi_type_tenants=multi,
        auth_user_model=scalar("AUTH_USER_MODEL"),
        tenant_model=scalar("TENANT_MODEL"),
        tenant_domain_model=scalar("TENANT_DOMAIN_MODEL"),
        public_schema_urlconf=scalar("PUBLIC_SCHEMA_URLCONF"),
        root_urlconf=scalar("ROOT_URLCONF"),
        session_engine=scalar("SESSION_ENGINE"),
        database_routers=routers,
        database_engine=engine,
        legacy_tenant_schemas="tenant_schemas" in all_values,
        shared_apps=lists["shared_apps"],
        tenant_apps=lists["tenant_apps"],
        installed_apps=lists["installed_apps"],
    )


def _with_key(app_list: AppList, key_path: tuple[str, ...]) -> AppList:
    return replace(app_list, key_path=key_path)


def apps_from_collected(
    collected: Mapping[str, Any],
    root: Path,
    settings: ProjectSettings,
    *,
    strict: bool = False,
    cache: ExtractCache | None = None,
) -> tuple[tuple[App, ...], tuple[AppListEntry, ...]]:
    """Every AppConfig Django built, with its model modules and migration files read with
    ``ast``; and the entries of ``settings``' lists that name no loaded app.

    ``strict`` (the system checks): a migration file that does not parse raises, as Django's
    loader would; otherwise (the CLI) it is skipped, as the static graph does. ``cache`` is the
    CLI's extraction cache; inside Django an in-memory one (nothing is written anywhere)."""
    from tenantfix.graph.build import app_entries

    if cache is None:
        cache = ExtractCache(persist=False)
    rel = _Relative(root)
    raw_apps: list[dict[str, Any]] = list(collected.get("apps") or [])
    module_labels = {a["name"]: a["label"] for a in raw_apps}
    setting_models = {
        name: value.value
        for name, value in (
            ("TENANT_MODEL", settings.tenant_model),
            ("TENANT_DOMAIN_MODEL", settings.tenant_domain_model),
        )
        if value is not None
    }
    swappable_labels = {"AUTH_USER_MODEL": settings.user_model.partition(".")[0]}
    models_per_app: dict[str, tuple[Model, ...]] = {}
    for raw in raw_apps:
        files = [
            (rel(Path(path)), extracted)
            for module, path in raw.get("models") or []
            if (extracted := cache.model_file(Path(path), module)) is not None
        ]
        models_per_app[raw["label"]] = read_models(
            files, raw["label"], module_labels, setting_models
        )
    # inheritance crosses apps (users.User -> auth.AbstractUser): resolve over all models at once
    by_key = {f"{m.app_label}.{m.name}": m for ms in models_per_app.values() for m in ms}
    inherited = inherit_relations(by_key)
    apps: list[App] = []
    for raw in raw_apps:
        label = raw["label"]
        models = tuple(inherited[f"{m.app_label}.{m.name}"] for m in models_per_app[label])
        resolver = TargetResolver(
            label, {m.name: label for m in models}, module_labels, setting_models
        )
        migrations: list[Migration] = []
        for name, path in raw.get("migrations") or []:
            file = Path(path)
            mig = cache.migration_file(file, f"{raw['name']}.migrations.{name}")
            if mig is not None:
                migrations.append(
                    migration_from_raw(mig, name, rel(file), label, resolver, swappable_labels)
                )
            elif strict:
                _raise_unreadable(file, rel(file))
        model_files = [Path(p) for _, p in raw.get("models") or []]
        config_path = raw.get("config_path")
        directory = Path(raw["path"])
        apps.append(
            App(
                label=label,
                name=raw["name"],
                config_path=None if config_path == BARE_APP_CONFIG else config_path,
                path=rel(directory),
                local=rel.inside(directory),
                models=models,
                migrations=tuple(migrations),
                has_migrations_module=bool(raw.get("migrated")),
                models_path=rel(model_files[0]) if model_files else None,
            )
        )
    known = {v for a in apps for v in a.list_values()}
    unresolved = tuple(e for e in app_entries(settings) if e.value not in known)
    return tuple(apps), unresolved


def _raise_unreadable(path: Path, rel: str) -> None:
    """Why a migration file could not be read (only on that rare path: no second parse of
    the files that read fine). Django's loader fails on the same file."""
    text = path.read_text(encoding="utf-8")  # OSError / UnicodeDecodeError as they are
    ast.parse(text, filename=str(path))  # the SyntaxError, with file and line
    raise ValueError(f"{rel}: no Migration class")


def graph_from_collected(
    collected: Mapping[str, Any], root: Path | None = None, settings: ProjectSettings | None = None
) -> ProjectGraph:
    """The graph of the loaded project; ``settings`` defaults to the loaded ones."""
    root = (root or project_root(collected)).resolve()
    if settings is None:
        settings = settings_from_collected(collected, root)
    # strict: a file Django cannot load either is an analysis failure, not "no migration"
    apps, unresolved = apps_from_collected(collected, root, settings, strict=True)
    from tenantfix.graph.read_urls import read_urlconfs

    # the URLconf modules the public site serves (TF017), read as the CLI reads them
    urlconfs = [v.value for v in (settings.public_schema_urlconf, settings.root_urlconf) if v]
    return ProjectGraph(
        root=root.as_posix(),
        settings=settings,
        apps=apps,
        unresolved_apps=unresolved,
        source="probe",
        urlconfs=read_urlconfs(root, urlconfs),
    )
