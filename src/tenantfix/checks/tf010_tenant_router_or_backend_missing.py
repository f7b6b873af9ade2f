"""DATABASE_ROUTERS lacks TenantSyncRouter, or the default ENGINE is not django-tenants' backend.

Why: ``DjangoTenantsConfig.ready()`` raises ``ImproperlyConfigured: DATABASE_ROUTERS setting
must contain 'django_tenants.routers.TenantSyncRouter'.`` at startup, so every ``manage.py``
command fails; the router is also what keeps tenant apps out of public and shared apps out of
tenant schemas. With Django's own ``django.db.backends.postgresql`` ENGINE there is no schema
switching: requests fail with ``AttributeError: 'DatabaseWrapper' object has no attribute
'set_schema'`` and ``migrate_schemas`` cannot set the search path. Legacy django-tenant-schemas
projects are checked against ``tenant_schemas.routers.TenantSyncRouter`` and
``tenant_schemas.postgresql_backend``. An ENGINE read at run time (environment, dj-database-url)
is not judged, nor a DATABASE_ROUTERS tenantfix cannot read.

Example::

    # before
    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", ...}}
    # after
    DATABASES = {"default": {"ENGINE": "django_tenants.postgresql_backend", ...}}
    DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

Fix safety: safe: ``set_database_routers`` appends the router to a literal DATABASE_ROUTERS (or
creates the setting after DATABASES); ``set_tenant_db_engine`` rewrites only Django's plain
PostgreSQL ENGINE. PostGIS and custom backends are reported without a fix: they need
``ORIGINAL_BACKEND`` or a subclass of django-tenants' wrapper.
https://django-tenants.readthedocs.io/en/latest/install.html#basic-settings
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantfix.checks import Check
from tenantfix.checks._app_list_fixes import settings_location
from tenantfix.graph.model import Location, ProjectGraph, ProjectSettings
from tenantfix.plan import Diagnostic, Fix, Severity

# Judges DATABASE_ROUTERS and ENGINE itself: each part stays silent when its setting is unknown.
check = Check(__name__, reads=frozenset({"HAS_MULTI_TYPE_TENANTS"}))

PLAIN_POSTGRESQL = frozenset(
    {
        "django.db.backends.postgresql",
        "django.db.backends.postgresql_psycopg2",
        "django.db.backends.postgresql.base",
    }
)
POSTGIS = "django.contrib.gis.db.backends.postgis"


def _package(settings: ProjectSettings) -> str:
    return "tenant_schemas" if settings.legacy_tenant_schemas else "django_tenants"


@check.register
def run(graph: ProjectGraph) -> Iterator[Diagnostic]:
    yield from _router(graph)
    yield from _engine(graph)


def _router(graph: ProjectGraph) -> Iterator[Diagnostic]:
    settings = graph.settings
    router = f"{_package(settings)}.routers.TenantSyncRouter"
    routers = settings.database_routers
    if settings.is_unknown("DATABASE_ROUTERS"):
        return  # read at run time (or by code we do not follow): not "missing"
    if routers is not None and any(r.value == router for r in routers):
        return
    engine = settings.database_engine
    location: Location
    if routers:
        location, path = routers[0].location, routers[0].location.path
        message = f"DATABASE_ROUTERS does not contain {router!r}"
    else:
        # A new DATABASE_ROUTERS goes next to DATABASES, which the ENGINE locates.
        location = engine.location if engine else settings_location(settings)
        path = location.path
        message = f"DATABASE_ROUTERS is not set: {router!r} is missing"
    yield Diagnostic(
        code=check.code,
        message=message,
        location=location,
        why=(
            f"{_package(settings)} refuses to start without its router: every manage.py command, "
            f"migrate_schemas included, fails with `ImproperlyConfigured: DATABASE_ROUTERS "
            f"setting must contain '{router}'.`"
        ),
        fix_summary=f"add {router!r} to DATABASE_ROUTERS",
        fixes=(
            Fix(
                kind="codemod",
                name="set_database_routers",
                path=path,
                args=(("router", router),),
                description=f"add {router!r} to DATABASE_ROUTERS",
            ),
        ),
    )


def _engine(graph: ProjectGraph) -> Iterator[Diagnostic]:
    settings = graph.settings
    engine = settings.database_engine
    wanted = f"{_package(settings)}.postgresql_backend"
    if engine is None or engine.value in {wanted, f"{wanted}.base"}:
        return
    why = (
        f"DATABASES['default']['ENGINE'] is {engine.value!r}, which cannot switch schemas: "
        "tenant requests fail with `AttributeError: 'DatabaseWrapper' object has no attribute "
        "'set_schema'` and migrate_schemas cannot point the search_path at a tenant."
    )
    fixes: tuple[Fix, ...] = ()
    severity: Severity = "error"
    if engine.value in PLAIN_POSTGRESQL:
        summary = f"set ENGINE to {wanted!r}"
        fixes = (
            Fix(
                kind="codemod",
                name="set_tenant_db_engine",
                path=engine.location.path,
                args=(("engine", wanted),),
                description=summary,
            ),
        )
    elif engine.value == POSTGIS:
        summary = f"set ENGINE to {wanted!r} and ORIGINAL_BACKEND = {POSTGIS!r}"
    elif engine.value.startswith("django.db.backends."):
        summary = f"use PostgreSQL through {wanted!r}: django-tenants needs PostgreSQL schemas"
    else:
        # A project's own backend may well subclass django-tenants' wrapper; we cannot tell.
        severity = "warning"
        why = (
            f"DATABASES['default']['ENGINE'] is the custom backend {engine.value!r}; unless its "
            f"DatabaseWrapper subclasses {wanted}.base.DatabaseWrapper, tenant requests fail "
            "with `AttributeError: 'DatabaseWrapper' object has no attribute 'set_schema'`."
        )
        summary = (
            f"make {engine.value}.base.DatabaseWrapper subclass {wanted}.base.DatabaseWrapper, "
            f"or set ENGINE to {wanted!r} and ORIGINAL_BACKEND to {engine.value!r}"
        )
    yield Diagnostic(
        code=check.code,
        message=f"the default database ENGINE is {engine.value!r}, not {wanted!r}",
        location=engine.location,
        why=why,
        fix_summary=summary,
        severity=severity,
        fixes=fixes,
    )
