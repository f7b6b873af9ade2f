"""move_app_first_in_list: layout-preserving move (or insert) to the front of an app list."""

from __future__ import annotations

import textwrap

import pytest

from tenantfix.codemod import run_codemod

ARGS = {"list_name": "SHARED_APPS", "app": "django_tenants"}


def transform(before, **args):
    result = run_codemod("move_app_first_in_list", textwrap.dedent(before), {**ARGS, **args})
    assert result.error is None, result.error
    return result


@pytest.mark.parametrize(
    "before",
    [
        pytest.param("SHARED_APPS = ['django_tenants', 'a']\n", id="already-first"),
        pytest.param("SHARED_APPS = ('django_tenants',)\n", id="only-entry"),
        pytest.param(
            "OTHER = ['a', 'django_tenants']\nSHARED_APPS = ['django_tenants']\n", id="other-list"
        ),
    ],
)
def test_noop(before):
    result = transform(before, insert_if_missing="yes")
    assert (result.changed, result.skipped) == (False, None)


@pytest.mark.parametrize(
    ("before", "after", "args"),
    [
        pytest.param(
            """\
            SHARED_APPS = [
                # Django
                'django.contrib.admin',
                'django.contrib.auth',
                # Third party
                'django_tenants',  # mandatory
                'rest_framework',
            ]
            """,
            """\
            SHARED_APPS = [
                'django_tenants',  # mandatory
                # Django
                'django.contrib.admin',
                'django.contrib.auth',
                # Third party
                'rest_framework',
            ]
            """,
            {},
            id="section-headers-stay",
        ),
        pytest.param(
            """\
            SHARED_APPS = [
                'django.contrib.admin',
                # the tenant machinery
                'django_tenants',
            ]
            """,
            """\
            SHARED_APPS = [
                # the tenant machinery
                'django_tenants',
                'django.contrib.admin',
            ]
            """,
            {},
            id="own-comment-moves",
        ),
        pytest.param(
            """SHARED_APPS = ('a', "django_tenants")\n""",
            """SHARED_APPS = ("django_tenants", 'a')\n""",
            {},
            id="single-line-tuple-keeps-quotes",
        ),
        pytest.param(
            """\
            SHARED_APPS = (
                "a",
                "b"
            )
            """,
            """\
            SHARED_APPS = (
                "django_tenants",
                "a",
                "b"
            )
            """,
            {"insert_if_missing": "yes"},
            id="insert-no-trailing-comma",
        ),
        pytest.param(
            "SHARED_APPS = ()\n",
            "SHARED_APPS = ('django_tenants',)\n",
            {"insert_if_missing": "yes"},
            id="insert-empty-tuple",
        ),
        pytest.param(
            "SHARED_APPS = ['a', 'b'] + EXTRA\n",
            "SHARED_APPS = ['django_tenants', 'a', 'b'] + EXTRA\n",
            {"insert_if_missing": "yes"},
            id="insert-leading-literal",
        ),
        pytest.param(
            """\
            TENANT_TYPES = {
                "public": {
                    "APPS": [
                        "django.contrib.admin",
                        "django_tenants",
                    ],
                },
            }
            """,
            """\
            TENANT_TYPES = {
                "public": {
                    "APPS": [
                        "django_tenants",
                        "django.contrib.admin",
                    ],
                },
            }
            """,
            {"list_name": "TENANT_TYPES", "key_path": "public/APPS"},
            id="multi-type",
        ),
    ],
)
def test_fixes_and_is_idempotent(before, after, args):
    result = transform(before, **args)
    assert result.code == textwrap.dedent(after)
    assert not transform(result.code, **args).changed


@pytest.mark.parametrize(
    ("before", "reason"),
    [
        pytest.param(
            "SHARED_APPS = ['a', 'b']\nSHARED_APPS += ['django_tenants']\n",
            "outside its literal",
            id="added-by-augassign",
        ),
        pytest.param(
            "SHARED_APPS = BASE + ['django_tenants']\n",
            "does not start with a list",
            id="leading-name",
        ),
        pytest.param("SHARED_APPS = ['a']\n", "is not in the literal", id="missing-without-insert"),
        pytest.param("INSTALLED_APPS = ['a']\n", "no module-level assignment", id="no-list"),
    ],
)
def test_skips(before, reason):
    result = transform(before)
    assert result.skipped is not None and reason in result.skipped
