"""TF010: TenantSyncRouter missing from DATABASE_ROUTERS, or ENGINE not django-tenants'."""

from __future__ import annotations

import pytest
from graphs_tf008_tf011 import SETTINGS, graph, run

from tenantfix.checks import tf010_tenant_router_or_backend_missing as tf010
from tenantfix.graph.model import Location

ROUTER = "django_tenants.routers.TenantSyncRouter"


# -- noop ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("routers", "engine", "legacy"),
    [
        pytest.param((ROUTER,), "django_tenants.postgresql_backend", False, id="standard"),
        pytest.param(
            ("proj.routers.Replica", ROUTER),
            "django_tenants.postgresql_backend",
            False,
            id="own-router-first",
        ),
        pytest.param((ROUTER,), None, False, id="engine-read-at-run-time"),
        pytest.param(
            ("tenant_schemas.routers.TenantSyncRouter",),
            "tenant_schemas.postgresql_backend",
            True,
            id="legacy-tenant-schemas",
        ),
    ],
)
def test_noop(routers, engine, legacy):
    shared = ["tenant_schemas", "customers"] if legacy else None
    assert run(tf010, graph(routers=routers, engine=engine, legacy=legacy, shared=shared)) == []


# -- finds --------------------------------------------------------------------------------------
def test_finds_missing_setting_and_creates_it_next_to_databases():
    (d,) = run(tf010, graph(routers=None))
    assert d.message == f"DATABASE_ROUTERS is not set: {ROUTER!r} is missing"
    assert d.location == Location(SETTINGS, 80, 18)  # the ENGINE, inside DATABASES
    assert f"DATABASE_ROUTERS setting must contain '{ROUTER}'." in d.why
    (fix,) = d.fixes
    assert (fix.name, fix.path, fix.args) == (
        "set_database_routers",
        SETTINGS,
        (("router", ROUTER),),
    )


def test_finds_router_absent_from_existing_list():
    (d,) = run(tf010, graph(routers=("proj.routers.Replica",)))
    assert d.message == f"DATABASE_ROUTERS does not contain {ROUTER!r}"
    assert d.location == Location(SETTINGS, 90, 4)


@pytest.mark.parametrize(
    "engine", ["django.db.backends.postgresql", "django.db.backends.postgresql_psycopg2"]
)
def test_finds_plain_postgresql_engine_with_fix(engine):
    (d,) = run(tf010, graph(engine=engine))
    assert d.severity == "error"
    assert "'DatabaseWrapper' object has no attribute 'set_schema'" in d.why
    (fix,) = d.fixes
    assert (fix.name, fix.args) == (
        "set_tenant_db_engine",
        (("engine", "django_tenants.postgresql_backend"),),
    )


def test_finds_postgis_without_fix_and_names_original_backend():
    (d,) = run(tf010, graph(engine="django.contrib.gis.db.backends.postgis"))
    assert (d.severity, d.fixes) == ("error", ())
    assert "ORIGINAL_BACKEND" in d.fix_summary


def test_finds_custom_backend_as_warning_without_fix():
    (d,) = run(tf010, graph(engine="proj.db_backend"))
    assert (d.severity, d.fixes) == ("warning", ())
    assert "proj.db_backend" in d.why


def test_finds_legacy_names():
    found = run(
        tf010,
        graph(
            routers=(ROUTER,),
            engine="django_tenants.postgresql_backend",
            legacy=True,
            shared=["tenant_schemas", "customers"],
        ),
    )
    assert [d.message for d in found] == [
        "DATABASE_ROUTERS does not contain 'tenant_schemas.routers.TenantSyncRouter'",
        "the default database ENGINE is 'django_tenants.postgresql_backend', not "
        "'tenant_schemas.postgresql_backend'",
    ]
