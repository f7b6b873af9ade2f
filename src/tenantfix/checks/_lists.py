"""Helpers shared by the checks that move apps between the app lists (TF001-TF003)."""

from __future__ import annotations

from tenantfix.checks._app_list_fixes import label, removal
from tenantfix.graph.model import App, AppList, AppListEntry, Location, ProjectGraph
from tenantfix.plan import Fix, Prediction

DOCS_MOVING_APPS = (
    "https://django-tenants.readthedocs.io/en/latest/use.html"
    "#moving-apps-between-shared-apps-and-tenant-apps"
)


def tenant_entries(graph: ProjectGraph, app: App) -> list[tuple[AppList, AppListEntry]]:
    """Every tenant-list entry naming ``app`` (one per tenant type in multi-type projects)."""
    values = app.list_values()
    return [
        (lst, e)
        for lst in graph.settings.tenant_app_lists()
        for e in lst.entries
        if e.value in values
    ]


def entry_value(graph: ProjectGraph, app: App) -> str:
    """How the project already spells ``app`` in its lists (module or AppConfig path)."""
    for lst in (*graph.settings.tenant_app_lists(), graph.settings.installed_apps):
        if lst is not None:
            entry = lst.find(app.list_values())
            if entry is not None:
                return entry.value
    return app.name


def where(graph: ProjectGraph, app: App, fallback: Location) -> Location:
    """The line a user should look at: the app's tenant-list entry, else ``fallback``."""
    found = tenant_entries(graph, app)
    return found[0][1].location if found else fallback


def _anchor(graph: ProjectGraph, public: AppList) -> str:
    """Insert beside the tenant model's app when it is listed; else at the end."""
    tenant_model = graph.settings.tenant_model
    if tenant_model is None:
        return ""
    tenant_app = graph.app_for_model(tenant_model.value)
    if tenant_app is None:
        return ""
    entry = public.find(tenant_app.list_values())
    return entry.value if entry else ""


def share_app_fixes(
    graph: ProjectGraph, app: App, *, move: bool, safety: str = "safe"
) -> tuple[Fix, ...]:
    """Add ``app`` to the public list and (``move``) take it out of the tenant lists.

    Returns no fix when the public list has no literal to edit (it is computed at run time).
    """
    public = graph.settings.public_apps()
    if public is None or public.origin is None:
        return ()
    value = entry_value(graph, app)
    fixes = [
        Fix(
            kind="codemod",
            name="add_app_to_list",
            path=public.origin.path,
            args=(
                ("list_name", public.origin_name or public.name),
                ("app", value),
                ("after", _anchor(graph, public)),
                ("key_path", "/".join(public.key_path)),
            ),
            safety="safe" if safety == "safe" else "unsafe",
            description=f"add {value!r} to {label(public)}",
        )
    ]
    if move:
        fixes += [
            removal(lst, entry, "safe" if safety == "safe" else "unsafe")
            for lst, entry in tenant_entries(graph, app)
        ]
    return tuple(fixes)


def public_list_label(graph: ProjectGraph) -> str:
    public = graph.settings.public_apps()
    if public is None:
        return (
            "TENANT_TYPES['public']['APPS']"
            if graph.settings.has_multi_type_tenants
            else "SHARED_APPS"
        )
    return label(public)


def user_model_table(graph: ProjectGraph) -> str:
    model = graph.model(graph.settings.user_model)
    if model is not None:
        return model.table
    label, _, name = graph.settings.user_model.partition(".")
    return f"{label}_{name.lower()}"


def simulated_failure(graph: ProjectGraph, *tables: str) -> Prediction | None:
    """The simulated failure about one of ``tables`` (the run continued past earlier ones)."""
    from tenantfix.simulate import predict

    wanted = {f'relation "{t}" does not exist' for t in tables}
    for schema in predict(graph):
        if schema.error in wanted:
            return Prediction(schema.step, schema.failed_migration, schema.error)
        for migration, error in schema.failures:
            if error in wanted:
                return Prediction(schema.step, migration, error)
    return None


def first_migration_referencing(graph: ProjectGraph, app: App, model_key: str) -> str | None:
    """The first of ``app``'s migrations with a relation to ``model_key`` (``label.model``)."""
    for migration in app.migrations:
        relations = [r for cm in migration.created_models for r in cm.relations]
        relations += [r for _, r in migration.added_relations]
        if any(r.target and graph.resolve_model(r.target) == model_key for r in relations):
            return migration.name
    return None
