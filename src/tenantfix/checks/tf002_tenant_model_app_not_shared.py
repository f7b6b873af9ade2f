"""The app of TENANT_MODEL or TENANT_DOMAIN_MODEL is not in SHARED_APPS.

What breaks: the tenant registry lives in the public schema. Without the tenant app there,
``migrate_schemas --shared`` never creates ``tenants_tenant``/``tenants_domain``, and the tenant
step (and every request through ``TenantMainMiddleware``) fails with
``relation "tenants_tenant" does not exist``; a shared model with a foreign key to the tenant
(``User.tenant``) fails already in ``--shared``.

Why: django-tenants reads TENANT_MODEL and TENANT_DOMAIN_MODEL from ``public`` to know which
schemas exist; only apps in SHARED_APPS get tables there.

Example::

    TENANT_MODEL = "customers.Client"
    # before: the tenant registry only in tenant schemas
    SHARED_APPS = ["django_tenants", "django.contrib.contenttypes"]
    TENANT_APPS = ["customers", "shop"]
    # after
    SHARED_APPS = ["django_tenants", "customers", "django.contrib.contenttypes"]
    TENANT_APPS = ["shop"]

Fix (safe): add the tenant app to SHARED_APPS, and remove it from TENANT_APPS (the tenant
registry belongs to public only).

See: https://django-tenants.readthedocs.io/en/latest/install.html#the-tenant-domain-model
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantfix.checks import Check
from tenantfix.checks._lists import (
    first_migration_referencing,
    public_list_label,
    share_app_fixes,
    simulated_failure,
    where,
)
from tenantfix.checks._placement import model_crossing, placements
from tenantfix.graph.model import App, ProjectGraph, SettingValue
from tenantfix.plan import Diagnostic, Prediction

check = Check(__name__)


def _first_reference(graph: ProjectGraph, target_key: str) -> tuple[App, str] | None:
    """A shared migration with a relation to the tenant model: the first to fail in public."""
    for app in graph.apps:
        if graph.is_shared(app):
            name = first_migration_referencing(graph, app, target_key)
            if name is not None:
                return app, name
    return None


@check.register
def run(graph: ProjectGraph) -> Iterator[Diagnostic]:
    settings = graph.settings
    seen: set[str] = set()
    setting: SettingValue | None
    for setting_name, setting in (
        ("TENANT_MODEL", settings.tenant_model),
        ("TENANT_DOMAIN_MODEL", settings.tenant_domain_model),
    ):
        if setting is None:
            continue
        app = graph.app_for_model(setting.value)
        if app is None or app.label in seen or graph.is_shared(app):
            continue
        seen.add(app.label)
        model = graph.model(setting.value)
        table = model.table if model else f"{app.label}_{setting.value.partition('.')[2].lower()}"
        early = _first_reference(graph, graph.resolve_model(setting.value))
        if early is not None:
            prediction = Prediction(
                "migrate_schemas --shared",
                f"{early[0].label}.{early[1]}",
                f'relation "{table}" does not exist',
            )
        else:
            prediction = Prediction(
                "migrate_schemas --tenant", None, f'relation "{table}" does not exist'
            )
        public = public_list_label(graph)
        yield Diagnostic(
            code=check.code,
            message=f"{setting_name} = {setting.value!r} but its app {app.label!r} is not in {public}",
            location=where(graph, app, setting.location),
            why=(
                f"django-tenants keeps the tenant registry (`{table}`) in the public schema and only "
                f"creates tables there for apps in {public}."
            ),
            fix_summary=f"add {app.label!r} to {public}"
            + (" and remove it from TENANT_APPS" if graph.is_tenant(app) else ""),
            prediction=simulated_failure(graph, table) or prediction,
            fixes=(fixes := share_app_fixes(graph, app, move=True)),
            placement=placements(graph, [app, *([early[0]] if early else [])], fixes),
            crossing=(
                model_crossing(
                    graph,
                    early[0],
                    graph.resolve_model(setting.value),
                    app,
                    f"{early[0].label}.{early[1]}",
                )
                if early
                else None
            ),
        )
