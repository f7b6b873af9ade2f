"""set_tenant_db_engine: plain PostgreSQL ENGINE -> django_tenants.postgresql_backend, nothing else."""

from __future__ import annotations

import textwrap

import pytest

from tenantfix.codemod import run_codemod


def transform(before, **args):
    result = run_codemod("set_tenant_db_engine", textwrap.dedent(before), args)
    assert result.error is None, result.error
    return result


def test_noop_already_tenant_backend():
    result = transform("DATABASES = {'default': {'ENGINE': 'django_tenants.postgresql_backend'}}\n")
    assert (result.changed, result.skipped) == (False, None)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            """\
            DATABASES = {
                "default": {
                    "ENGINE": "django.db.backends.postgresql",  # psycopg 3
                    "NAME": os.environ["DB_NAME"],
                },
                "replica": {"ENGINE": "django.db.backends.postgresql"},
            }
            """,
            """\
            DATABASES = {
                "default": {
                    "ENGINE": "django_tenants.postgresql_backend",  # psycopg 3
                    "NAME": os.environ["DB_NAME"],
                },
                "replica": {"ENGINE": "django.db.backends.postgresql"},
            }
            """,
            id="dict-literal-only-default",
        ),
        pytest.param(
            "DATABASES = {'default': {'ENGINE': 'x'}}\n"
            "DATABASES['default']['ENGINE'] = 'django.db.backends.postgresql_psycopg2'\n"
            "DATABASES['default']['CONN_MAX_AGE'] = 60\n",
            "DATABASES = {'default': {'ENGINE': 'x'}}\n"
            "DATABASES['default']['ENGINE'] = 'django_tenants.postgresql_backend'\n"
            "DATABASES['default']['CONN_MAX_AGE'] = 60\n",
            id="last-item-assignment-wins",
        ),
    ],
)
def test_fixes_and_is_idempotent(before, after):
    result = transform(before)
    assert result.code == textwrap.dedent(after)
    assert not transform(result.code).changed


@pytest.mark.parametrize(
    ("before", "reason"),
    [
        pytest.param(
            "DATABASES = {'default': {'ENGINE': 'django.contrib.gis.db.backends.postgis'}}\n",
            "ORIGINAL_BACKEND",
            id="postgis",
        ),
        pytest.param(
            "DATABASES = {'default': {'ENGINE': 'proj.db'}}\n", "not Django's plain", id="custom"
        ),
        pytest.param(
            "DATABASES = {'default': dj_database_url.config()}\n",
            "built at run time",
            id="dj-database-url",
        ),
        pytest.param(
            "DATABASES = {'default': {'ENGINE': os.environ['ENGINE']}}\n",
            "not a string literal",
            id="environment",
        ),
        pytest.param("DEBUG = True\n", "no literal DATABASES", id="no-databases"),
    ],
)
def test_skips(before, reason):
    result = transform(before)
    assert result.skipped is not None and reason in result.skipped
