"""A shared model has a ForeignKey, OneToOneField or ManyToManyField to a tenant-only model.

What breaks: ``python manage.py migrate_schemas --shared`` stops at the shared app's migration
that creates the field, with ``django.db.utils.ProgrammingError: relation "<table>" does not
exist`` (the table of the tenant-only model).

Why: the public schema only holds the tables of SHARED_APPS (``TENANT_TYPES['public']['APPS']``
in multi-type projects), and a tenant's search path is ``tenant, public``: tenant tables may
point at public ones, never the other way round. A public table cannot reference a table that
exists only inside tenant schemas, and there is one such table per tenant.

There are three ways out, and choosing one is a design decision:

1. share the target app (add it to SHARED_APPS): its data becomes global, one table for all
   tenants;
2. move the referencing model into a tenant app, so both sides live in each tenant schema;
3. drop the database-level link: store the id in a plain field (or, for a generic reference,
   use contenttypes' GenericForeignKey) and look the row up in the tenant's schema yourself.

Example::

    # before: core is shared, crm is tenant-only
    class Organization(models.Model):                       # core/models.py
        main_customer = models.ForeignKey("crm.Customer", on_delete=models.CASCADE)
    # after (third way out): keep the id, look the row up in the tenant's schema
    class Organization(models.Model):
        main_customer_id = models.IntegerField(null=True)

Fix (unsafe, only with ``--unsafe-fixes``): add the target app to SHARED_APPS. It changes where
data lives; review it, and the data migration it implies, before applying.

The rule leaves the user app to TF001, the tenant and domain model apps to TF002, and framework
apps (contenttypes, auth) to TF003.

See: https://django-tenants.readthedocs.io/en/latest/install.html#configure-tenant-and-shared-applications
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantfix.checks import Check
from tenantfix.checks._lists import public_list_label, share_app_fixes
from tenantfix.checks._placement import placements
from tenantfix.graph.model import App, Model, ProjectGraph, Relation
from tenantfix.plan import Crossing, Diagnostic, Prediction
from tenantfix.simulate import SHARED_STEP, predict

check = Check(__name__, safety="unsafe")


def _left_to_other_rules(graph: ProjectGraph) -> set[str]:
    labels: set[str] = set()
    settings = graph.settings
    for ref in (
        settings.user_model,
        settings.tenant_model.value if settings.tenant_model else None,
        settings.tenant_domain_model.value if settings.tenant_domain_model else None,
    ):
        if ref:
            labels.add(graph.resolve_model(ref).partition(".")[0])
    return labels


def _tenant_only(graph: ProjectGraph, app: App) -> bool:
    return not graph.is_shared(app) and graph.is_tenant(app)


def _prediction(graph: ProjectGraph, source: App, table: str) -> Prediction:
    error = f'relation "{table}" does not exist'
    public = predict(graph)[0]
    for migration, found in public.failures:
        if found == error and migration.startswith(f"{source.label}."):
            return Prediction(step=SHARED_STEP, migration=migration, error=error)
    return Prediction(step=SHARED_STEP, migration=None, error=error)


@check.register
def run(graph: ProjectGraph) -> Iterator[Diagnostic]:
    public = graph.settings.public_apps()
    if public is None:
        return
    skip = _left_to_other_rules(graph)
    public_name = public_list_label(graph)
    for app in graph.apps:
        if not graph.is_shared(app):
            continue
        for model in app.concrete_models:
            for relation in model.relations:
                found = _tenant_target(graph, relation, skip)
                if found is None:
                    continue
                target_app, target = found
                yield _diagnostic(graph, app, model, relation, target_app, target, public_name)


def _tenant_target(
    graph: ProjectGraph, relation: Relation, skip: set[str]
) -> tuple[App, Model] | None:
    if relation.target is None:
        return None
    key = graph.resolve_model(relation.target)
    label = key.partition(".")[0]
    target_app = graph.app(label)
    if target_app is None or label in skip or not target_app.local:
        return None
    if not _tenant_only(graph, target_app):
        return None
    target = graph.model(key)
    if target is None or target.abstract:
        return None
    return target_app, target


def _diagnostic(
    graph: ProjectGraph,
    app: App,
    model: Model,
    relation: Relation,
    target_app: App,
    target: Model,
    public_name: str,
) -> Diagnostic:
    table = target.table
    return Diagnostic(
        code=check.code,
        message=(
            f"shared model {app.label}.{model.name}.{relation.field_name} "
            f"({relation.kind} to {target.app_label}.{target.name}) references a model of "
            f"tenant-only app {target_app.label!r}"
        ),
        location=relation.location,
        why=(
            f"`{app.label}` is in {public_name}, so `{model.table}` is created in the public "
            f"schema, but `{target_app.label}` is only in the tenant lists: `{table}` exists only "
            "inside each tenant schema, and a public table cannot reference it."
        ),
        fix_summary=(
            f"choose one: share {target_app.label!r} (add it to {public_name}; its data becomes "
            f"global), move {model.name} into a tenant app, or replace the {relation.kind} by a "
            "plain id field; `--unsafe-fixes` applies the first"
        ),
        prediction=_prediction(graph, app, table),
        fixes=(fixes := share_app_fixes(graph, target_app, move=False, safety="unsafe")),
        placement=placements(graph, [target_app, app], fixes),
        crossing=Crossing(
            source=f"{app.label}.{model.name}.{relation.field_name}",
            source_app=app.label,
            target=f"{target.app_label}.{target.name}",
            target_app=target_app.label,
            kind=relation.kind,
        ),
    )
