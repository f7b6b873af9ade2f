"""Where the apps of a TF001-TF004 finding live, before and after its fix, and the relation
that crosses from the public schema into tenant schemas: the data the text output's table
and the PR body's table and Mermaid diagram are drawn from.

"After" is the fix's own list edits (``add_app_to_list``/``remove_app_from_list``) applied to
"before", so the picture shows exactly what ``tenantfix apply`` writes, not a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tenantfix.graph.model import App, AppList, ProjectGraph
from tenantfix.plan import AppPlacement, Crossing, Fix

_EDITS = {"add_app_to_list": True, "remove_app_from_list": False}


def _columns(graph: ProjectGraph) -> list[tuple[str, AppList | None]]:
    settings = graph.settings
    columns: list[tuple[str, AppList | None]] = [("public", settings.public_apps())]
    if settings.has_multi_type_tenants:
        columns += [
            (f"tenant:{name}", lst) for name, lst in settings.tenant_types if name != "public"
        ]
    else:
        columns.append(("tenant", settings.tenant_apps))
    return columns


def _names(app_list: AppList) -> set[tuple[str, str]]:
    key_path = "/".join(app_list.key_path)
    names = {(app_list.name, key_path)}
    if app_list.origin_name:  # a list built from another literal: the codemod edits that one
        names.add((app_list.origin_name, key_path))
        names.add((app_list.origin_name, ""))
    return names


def placements(
    graph: ProjectGraph, apps: Iterable[App], fixes: Sequence[Fix] = ()
) -> tuple[AppPlacement, ...]:
    columns = _columns(graph)
    out: list[AppPlacement] = []
    for app in dict.fromkeys(apps):
        before = tuple(graph.in_list(app, lst) for _, lst in columns)
        after = list(before)
        for fix in fixes:
            change = _EDITS.get(fix.name)
            if fix.kind != "codemod" or change is None:
                continue
            args = dict(fix.args)
            target = graph.app_for_entry(args.get("app", ""))
            if target is None or target.label != app.label:
                continue
            edited = (args.get("list_name", ""), args.get("key_path", ""))
            for i, (_, lst) in enumerate(columns):
                if lst is not None and edited in _names(lst):
                    after[i] = change
        out.append(
            AppPlacement(
                app=app.label,
                columns=tuple(name for name, _ in columns),
                before=before,
                after=tuple(after),
            )
        )
    return tuple(out)


def model_crossing(
    graph: ProjectGraph, source_app: App, target_key: str, target_app: App, fallback: str
) -> Crossing:
    """The first field of ``source_app`` pointing at ``target_key`` (``app.Model``); else
    ``fallback`` (the migration that creates the reference) as the source."""
    found = graph.model(target_key)
    # as written in the models (users.User), not the resolved key's lower case
    shown = f"{found.app_label}.{found.name}" if found is not None else target_key
    for model in source_app.models:
        for relation in model.relations:
            if relation.target and graph.resolve_model(relation.target) == target_key:
                return Crossing(
                    source=f"{source_app.label}.{model.name}.{relation.field_name}",
                    source_app=source_app.label,
                    target=shown,
                    target_app=target_app.label,
                    kind=relation.kind,
                )
    return Crossing(
        source=fallback,
        source_app=source_app.label,
        target=shown,
        target_app=target_app.label,
        kind="references",
    )
