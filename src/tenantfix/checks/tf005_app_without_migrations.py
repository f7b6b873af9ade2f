"""An app with models has no migrations (or an empty migrations package).

What breaks: Django treats an app without migrations as unmigrated: ``migrate_schemas`` does
not create its tables, and a ``swappable_dependency`` on it is ignored, so for the user app
``admin.0001_initial`` fails with ``relation "accounts_user" does not exist``; for the tenant app
the tenant step fails with ``relation "tenants_client" does not exist``. An *empty* migrations
package makes every dependent migration fail with
``ValueError: Dependency on app with no migrations: <app>``.

Why: the initial migration was never generated (or never committed: check .gitignore).
When git ignores the app's migration files on purpose (a project that runs makemigrations where
it deploys), their absence from the checkout proves nothing: the app is not reported, and a note
names the ignore rule.

Example::

    # before: users/models.py defines User, users/migrations/ is missing (or empty)
    users/models.py
    # after: python manage.py makemigrations users
    users/models.py
    users/migrations/__init__.py
    users/migrations/0001_initial.py

Fix (safe): run Django's own ``makemigrations <app>`` in the project's interpreter; tenantfix
never writes migration files by hand.

See: https://docs.djangoproject.com/en/stable/topics/migrations/#adding-migrations-to-apps
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantfix.checks import Check
from tenantfix.graph.model import App, Location, ProjectGraph
from tenantfix.plan import Diagnostic, Fix, Prediction

check = Check(__name__)


def _prediction(graph: ProjectGraph, app: App) -> Prediction:
    tables = [m.table for m in app.concrete_models]
    first = tables[0] if tables else f"{app.label}_*"
    user_app = graph.user_app
    if app.has_migrations_module:
        return Prediction(
            "migrate_schemas --shared" if graph.is_shared(app) else "migrate_schemas --tenant",
            None,
            f"ValueError: Dependency on app with no migrations: {app.label}",
        )
    if user_app is app:
        return Prediction(
            "migrate_schemas --shared", "admin.0001_initial", f'relation "{first}" does not exist'
        )
    tenant = graph.settings.tenant_model
    if tenant is not None and graph.app_for_model(tenant.value) is app:
        return Prediction("migrate_schemas --tenant", None, f'relation "{first}" does not exist')
    return Prediction("runtime", None, f'relation "{first}" does not exist')


@check.register
def run(graph: ProjectGraph) -> Iterator[Diagnostic]:
    for app in graph.apps:
        if not app.local or app.migrations or not app.concrete_models:
            continue
        if app.migrations_ignored:
            continue  # made outside the checkout (pipeline notes it): unknown, not absent
        location = Location(app.models_path, 1) if app.models_path else Location(app.path or ".", 1)
        state = "an empty migrations package" if app.has_migrations_module else "no migrations"
        yield Diagnostic(
            code=check.code,
            message=f"app {app.label!r} defines {len(app.concrete_models)} model(s) but has {state}",
            location=location,
            why=(
                f"Without an initial migration Django never creates `{app.label}` tables "
                "(migrate only runs migrations), and migrations that depend on it cannot be ordered."
            ),
            fix_summary=f"run `python manage.py makemigrations {app.label}` (tenantfix apply does it with Django's own makemigrations)",
            prediction=_prediction(graph, app),
            fixes=(
                Fix(
                    kind="makemigrations",
                    name="makemigrations",
                    path=None,
                    args=(("app_label", app.label),),
                    description=f"generate the initial migration of {app.label!r} with makemigrations",
                ),
            ),
        )
