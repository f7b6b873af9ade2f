"""A shared app depends on a framework app that is not shared (contenttypes for auth/admin,
auth for a user model built on AbstractUser).

What breaks: ``migrate_schemas --shared`` fails at the dependent app's first migration, e.g.
``auth.0001_initial`` with ``relation "django_content_type" does not exist``, or
``users.0001_initial`` with ``relation "auth_group" does not exist``.

Why: Django plans the dependency's migrations in public but the router skips them (the app is
not in SHARED_APPS) while recording them as applied; the dependent migration's foreign keys
then point at tables that were never created.

Example::

    # before: auth is shared, the content types its permissions point at are not
    SHARED_APPS = ["django_tenants", "customers", "django.contrib.auth"]
    TENANT_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "shop"]
    # after
    SHARED_APPS = ["django_tenants", "customers", "django.contrib.auth",
                   "django.contrib.contenttypes"]

Fix (safe): add the dependency to SHARED_APPS. It may stay in TENANT_APPS as well: framework
apps such as contenttypes and auth are commonly in both lists.

See: https://django-tenants.readthedocs.io/en/latest/install.html#configure-tenant-and-shared-applications
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantfix.checks import Check
from tenantfix.checks._lists import public_list_label, share_app_fixes, simulated_failure
from tenantfix.checks._placement import placements
from tenantfix.graph.model import App, Location, ProjectGraph
from tenantfix.plan import Crossing, Diagnostic, Prediction

check = Check(__name__)


def _is_framework(app: App) -> bool:
    """Dependencies whose placement is not a design choice (local apps are TF004's concern)."""
    return not app.local


def _first_table(app: App) -> str:
    for migration in app.migrations:
        for created in migration.created_models:
            if created.managed and not created.proxy:
                return created.table(app.label)
    models = app.concrete_models
    return models[0].table if models else f"{app.label}_*"


@check.register
def run(graph: ProjectGraph) -> Iterator[Diagnostic]:
    reported: set[str] = set()
    for app in graph.apps:
        if not graph.is_shared(app):
            continue
        for migration in app.migrations:
            for dep in migration.dependencies:
                if dep.swappable or dep.app_label == app.label or dep.app_label in reported:
                    continue
                target = graph.app(dep.app_label)
                if target is None or graph.is_shared(target) or not _is_framework(target):
                    continue
                reported.add(target.label)
                public = public_list_label(graph)
                table = _first_table(target)
                public_list = graph.settings.public_apps()
                listed = public_list.find(app.list_values()) if public_list else None
                location = listed.location if listed else Location(graph.settings.path, 1)
                yield Diagnostic(
                    code=check.code,
                    message=f"shared app {app.label!r} depends on {target.label!r}, which is not in {public}",
                    location=location,
                    why=(
                        f"`{app.label}.{migration.name}` depends on `{target.label}`; in public the router skips "
                        f"`{target.label}` (it is not in {public}), so `{table}` is never created there."
                    ),
                    fix_summary=f"add {target.name!r} to {public}",
                    prediction=simulated_failure(graph, table)
                    or Prediction(
                        "migrate_schemas --shared",
                        f"{app.label}.{migration.name}",
                        f'relation "{table}" does not exist',
                    ),
                    fixes=(fixes := share_app_fixes(graph, target, move=False)),
                    placement=placements(graph, [target, app], fixes),
                    crossing=Crossing(
                        source=f"{app.label}.{migration.name}",
                        source_app=app.label,
                        target=target.label,
                        target_app=target.label,
                        kind="depends on",
                    ),
                )
