"""set_database_routers: add TenantSyncRouter, or create DATABASE_ROUTERS after DATABASES."""

from __future__ import annotations

import textwrap

import pytest

from tenantfix.codemod import run_codemod


def transform(before, **args):
    result = run_codemod("set_database_routers", textwrap.dedent(before), args)
    assert result.error is None, result.error
    return result


@pytest.mark.parametrize(
    "before",
    [
        pytest.param(
            "DATABASE_ROUTERS = ('django_tenants.routers.TenantSyncRouter',)\n", id="tuple"
        ),
        pytest.param(
            "DATABASE_ROUTERS = ['x.R', 'django_tenants.routers.TenantSyncRouter']\n", id="list"
        ),
        pytest.param(
            "from .base import *\nDATABASE_ROUTERS += ['django_tenants.routers.TenantSyncRouter']\n",
            id="augassign",
        ),
    ],
)
def test_noop(before):
    result = transform(before)
    assert (result.changed, result.skipped) == (False, None)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            """\
            import os

            DATABASES = {
                "default": {"ENGINE": "django_tenants.postgresql_backend"},  # main
            }

            TIME_ZONE = "UTC"
            """,
            """\
            import os

            DATABASES = {
                "default": {"ENGINE": "django_tenants.postgresql_backend"},  # main
            }

            DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

            TIME_ZONE = "UTC"
            """,
            id="create-after-databases-double-quotes",
        ),
        pytest.param(
            "DATABASES = {'default': {}}\nDATABASES['default']['ENGINE'] = 'x'\nDEBUG = True\n",
            "DATABASES = {'default': {}}\nDATABASES['default']['ENGINE'] = 'x'\n\n"
            "DATABASE_ROUTERS = ('django_tenants.routers.TenantSyncRouter',)\nDEBUG = True\n",
            id="create-after-item-assignment",
        ),
        pytest.param(
            "DEBUG = True\n",
            "DEBUG = True\n\nDATABASE_ROUTERS = ('django_tenants.routers.TenantSyncRouter',)\n",
            id="create-at-end-without-databases",
        ),
        pytest.param(
            """\
            DATABASE_ROUTERS = [
                "proj.routers.ReplicaRouter",  # reads
            ]
            """,
            """\
            DATABASE_ROUTERS = [
                "proj.routers.ReplicaRouter",  # reads
                "django_tenants.routers.TenantSyncRouter",
            ]
            """,
            id="append-after-own-router",
        ),
    ],
)
def test_fixes_and_is_idempotent(before, after):
    result = transform(before)
    assert result.code == textwrap.dedent(after)
    assert not transform(result.code).changed


def test_legacy_router_argument():
    result = transform("DATABASE_ROUTERS = []\n", router="tenant_schemas.routers.TenantSyncRouter")
    assert result.code == "DATABASE_ROUTERS = ['tenant_schemas.routers.TenantSyncRouter']\n"


@pytest.mark.parametrize(
    ("before", "reason"),
    [
        pytest.param(
            "DATABASE_ROUTERS = env.list('ROUTERS')\n", "not a list or tuple literal", id="runtime"
        ),
        pytest.param(
            "from .base import *\nDATABASE_ROUTERS += ['x.R']\n",
            "only extended here",
            id="defined-elsewhere",
        ),
    ],
)
def test_skips(before, reason):
    result = transform(before)
    assert result.skipped is not None and reason in result.skipped
