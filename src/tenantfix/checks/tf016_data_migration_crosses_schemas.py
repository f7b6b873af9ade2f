"""A RunPython/RunSQL runs in a schema where a model it uses has no table.

What breaks: ``migrate_schemas`` stops at the data migration with
``django.db.utils.ProgrammingError: relation "articles_category" does not exist``: during
``--shared`` when a SHARED app's migration reads a TENANT-only model, in each tenant when a
tenant app's migration reads a model that is in neither the tenant's apps nor SHARED_APPS.

Why: django-tenants runs a migration's ``RunPython``/``RunSQL`` in every schema where the
*migration's own app* is allowed (``TenantSyncRouter.allow_migrate`` is asked with that app's
label), whatever models the function touches. ``apps.get_model("articles", "Category")`` returns
the historical model, but its table exists only in the schemas whose app list holds ``articles``
(tenants also see public's tables through ``search_path = tenant, public``). tenantfix reads the
``apps.get_model(...)`` calls of the function the migration passes to RunPython (and the same
module's helpers it calls) and the tables a RunSQL statement names.

Example::

    # before: core (SHARED) seeds a TENANT-only model; --shared fails
    def seed(apps, schema_editor):
        Category = apps.get_model("articles", "Category")
        Category.objects.create(name="News")

    # after (one of three ways out): run it only in tenant schemas
    from django_tenants.utils import tenant_migration

    @tenant_migration
    def seed(apps, schema_editor):
        Category = apps.get_model("articles", "Category")
        Category.objects.create(name="News")

Fix: none automatic; three ways out, a human's choice: decorate the function with
``django_tenants.utils.tenant_migration`` (``tenant_schema=True, public_schema=False`` by
default) so it runs only where the table exists; move the data migration into the model's own
app; or add the model's app to SHARED_APPS (its data becomes global).

See: https://django-tenants.readthedocs.io/en/latest/use.html#migrations
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantfix.checks import Check
from tenantfix.graph.model import App, AppList, CodeOperation, Location, Migration, ProjectGraph
from tenantfix.plan import Diagnostic, Prediction
from tenantfix.simulate import PUBLIC, SHARED_STEP, TENANT_STEP, predict

check = Check(__name__)

_EXAMPLE = (
    "`from django_tenants.utils import tenant_migration` then `@tenant_migration` above "
    "`def {func}(apps, schema_editor):`"
)


def _schemas(graph: ProjectGraph) -> list[tuple[str, AppList | None, bool]]:
    """(schema name, its app list, is public) as the simulation names them."""
    settings = graph.settings
    found: list[tuple[str, AppList | None, bool]] = [(PUBLIC, settings.public_apps(), True)]
    if settings.has_multi_type_tenants:
        found += [(name, lst, False) for name, lst in settings.tenant_types if name != PUBLIC]
    elif settings.tenant_apps is not None:
        found.append(("tenant", settings.tenant_apps, False))
    return found


def _targets(graph: ProjectGraph, op: CodeOperation) -> Iterator[tuple[App, str, str, Location]]:
    """(app, model name, table, where it is read) of each model the operation uses."""
    for ref, where in op.models:
        model = graph.model(ref)
        if model is not None and not model.abstract:
            app = graph.app(model.app_label)
            if app is not None:
                yield app, model.name, model.table, where
    for table, where in op.tables:
        for app in graph.apps:
            model = next((m for m in app.concrete_models if m.table == table), None)
            if model is not None:
                yield app, model.name, table, where
                break


def _prediction(graph: ProjectGraph, schema: str, migration: Migration, table: str) -> Prediction:
    name = f"{migration.app_label}.{migration.name}"
    error = f'relation "{table}" does not exist'
    step = SHARED_STEP if schema == PUBLIC else TENANT_STEP
    for run in predict(graph):
        if run.schema == schema and (name, error) in run.failures:
            return Prediction(step=run.step, migration=name, error=error)
    return Prediction(step=step, migration=name, error=error)


@check.register
def run(graph: ProjectGraph) -> Iterator[Diagnostic]:
    schemas = _schemas(graph)
    public = graph.settings.public_apps()
    for app in graph.apps:
        if not app.local:
            continue
        for migration in app.migrations:
            for op in migration.code_operations:
                yield from _findings(graph, schemas, public, app, migration, op)


def _findings(
    graph: ProjectGraph,
    schemas: list[tuple[str, AppList | None, bool]],
    public: AppList | None,
    app: App,
    migration: Migration,
    op: CodeOperation,
) -> Iterator[Diagnostic]:
    for target, model_name, table, where in _targets(graph, op):
        failing: list[str] = []
        for schema, app_list, is_public in schemas:
            if op.schemas == "none" or op.schemas == ("tenant" if is_public else "public"):
                continue
            if not graph.in_list(app, app_list):
                continue  # the router skips the whole migration here
            if graph.in_list(target, app_list) or (not is_public and graph.in_list(target, public)):
                continue
            failing.append(schema)
        if not failing:
            continue
        name = f"{migration.app_label}.{migration.name}"
        where_runs = ", ".join("public" if s == PUBLIC else f"{s} schemas" for s in failing)
        func = op.function or "forwards"
        yield Diagnostic(
            code=check.code,
            message=(
                f"{op.kind} in `{name}` uses {target.label}.{model_name}, which has no table in "
                f"{where_runs}"
            ),
            location=where,
            why=(
                f"The {op.kind} runs wherever `{app.label}` is allowed ({where_runs} included), "
                f"but `{target.label}` is not in that schema's apps, so `{table}` does not exist "
                "there."
            ),
            fix_summary=(
                (
                    "choose one: run it only where the table exists with "
                    + _EXAMPLE.format(func=func)
                    if op.kind == "RunPython"
                    else "choose one: move the SQL into a RunPython decorated with "
                    "`@tenant_migration` (django_tenants.utils)"
                )
                + f"; move the data migration into `{target.label}`; or share "
                f"`{target.label}` (add it to SHARED_APPS, its data becomes global)"
            ),
            prediction=_prediction(graph, failing[0], migration, table),
        )
