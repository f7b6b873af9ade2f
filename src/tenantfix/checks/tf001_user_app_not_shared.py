"""The app of AUTH_USER_MODEL is not in SHARED_APPS while shared apps depend on the user model.

What breaks: ``python manage.py migrate_schemas --shared`` stops at ``admin.0001_initial`` (or
the first shared migration with a foreign key to the user) with
``django.db.utils.ProgrammingError: relation "users_user" does not exist``.

Why: django-tenants migrates the public schema with only the apps of SHARED_APPS. The user
app's ``0001_initial`` is planned first (admin depends on it through
``swappable_dependency(settings.AUTH_USER_MODEL)``) but its operations are skipped in public;
then ``django_admin_log.user_id REFERENCES users_user`` fails. The skipped migration is still
recorded as applied in ``public.django_migrations`` (a phantom record, TF012), so a database that
already ran the failing command needs ``tenantfix repair-db`` after the settings fix.

Example::

    # before: admin (shared) has a foreign key to users.User, which only tenants have
    SHARED_APPS = ["django_tenants", "customers", "django.contrib.contenttypes",
                   "django.contrib.auth", "django.contrib.admin"]
    TENANT_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "users"]
    # after
    SHARED_APPS = ["django_tenants", "customers", "django.contrib.contenttypes",
                   "django.contrib.auth", "django.contrib.admin", "users"]
    TENANT_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]

Fix (safe): add the user app to SHARED_APPS next to the tenant app and, unless
``--keep-in-tenant-apps``, remove it from TENANT_APPS (an app in both lists gives every tenant
its own user table that shadows the public one, TF011).

See: https://django-tenants.readthedocs.io/en/latest/install.html#configure-tenant-and-shared-applications
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantfix.checks import Check
from tenantfix.checks._lists import (
    first_migration_referencing,
    public_list_label,
    share_app_fixes,
    simulated_failure,
    user_model_table,
    where,
)
from tenantfix.checks._placement import model_crossing, placements
from tenantfix.graph.model import App, Location, ProjectGraph
from tenantfix.plan import Diagnostic, Prediction

check = Check(__name__)

# Apps that always reference the user model in their first migration.
_ALWAYS_DEPEND = {"admin": "0001_initial"}


def _dependents(graph: ProjectGraph, user_app: App) -> list[tuple[App, str | None]]:
    """Shared apps whose models or migrations reference the user model, with the migration."""
    user_key = graph.resolve_model(graph.settings.user_model)
    found: list[tuple[App, str | None]] = []
    for app in graph.apps:
        if app is user_app or not graph.is_shared(app):
            continue
        migration = first_migration_referencing(graph, app, user_key)
        if migration is not None:
            found.append((app, migration))
        elif any(
            graph.resolve_model(r.target) == user_key
            for m in app.models
            for r in m.relations
            if r.target
        ):
            found.append((app, None))
        elif app.label in _ALWAYS_DEPEND and not app.migrations:
            found.append((app, _ALWAYS_DEPEND[app.label]))
    return found


@check.register
def run(graph: ProjectGraph) -> Iterator[Diagnostic]:
    user_app = graph.user_app
    settings = graph.settings
    if user_app is None or graph.is_shared(user_app):
        return
    dependents = _dependents(graph, user_app)
    if not dependents:
        return
    table = user_model_table(graph)
    app, migration = next(((a, m) for a, m in dependents if a.label == "admin"), dependents[0])
    names = ", ".join(sorted(a.label for a, _ in dependents))
    fallback = (
        settings.auth_user_model.location
        if settings.auth_user_model
        else Location(settings.path, 1)
    )
    in_tenant = graph.is_tenant(user_app)
    public = public_list_label(graph)
    yield Diagnostic(
        code=check.code,
        message=(
            f"user app {user_app.label!r} (AUTH_USER_MODEL = {settings.user_model!r}) is "
            f"{'only in TENANT_APPS' if in_tenant else 'not in ' + public}, but shared apps use the user model: {names}"
        ),
        location=where(graph, user_app, fallback),
        why=(
            f"The public schema is migrated with {public} only, so `{user_app.label}` migrations are "
            f"skipped there (and still recorded as applied) while `{app.label}` creates a foreign key to "
            f"`{table}`."
        ),
        fix_summary=(
            f"add {user_app.label!r} to {public}"
            + (" and remove it from TENANT_APPS" if in_tenant else "")
            + "; on a database that already failed, run `tenantfix repair-db` before migrating again"
        ),
        prediction=simulated_failure(graph, table)
        or Prediction(
            step="migrate_schemas --shared",
            migration=f"{app.label}.{migration}" if migration else None,
            error=f'relation "{table}" does not exist',
        ),
        fixes=(fixes := share_app_fixes(graph, user_app, move=True)),
        placement=placements(graph, [user_app, *(a for a, _ in dependents)], fixes),
        crossing=model_crossing(
            graph,
            app,
            graph.resolve_model(settings.user_model),
            user_app,
            f"{app.label}.{migration}" if migration else app.label,
        ),
    )
