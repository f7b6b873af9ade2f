"""derive_installed_apps: INSTALLED_APPS = list(SHARED_APPS) + [... TENANT_APPS not shared]."""

from __future__ import annotations

import textwrap

import pytest

from tenantfix.codemod import run_codemod

DERIVED = (
    "INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]"
)


def transform(before, **args):
    result = run_codemod("derive_installed_apps", textwrap.dedent(before), args)
    assert result.error is None, result.error
    return result


@pytest.mark.parametrize(
    "before",
    [
        pytest.param(f"SHARED_APPS = ['a']\nTENANT_APPS = ['b']\n{DERIVED}\n", id="canonical"),
        pytest.param(
            "from .apps import SHARED_APPS, TENANT_APPS\n"
            "INSTALLED_APPS = list(SHARED_APPS) + [a for a in TENANT_APPS if a not in SHARED_APPS]\n",
            id="other-variable-name",
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
            SHARED_APPS = ['django_tenants', 'a']
            TENANT_APPS = ['b']

            # apps
            INSTALLED_APPS = list(set(SHARED_APPS + TENANT_APPS))  # all of them
            INSTALLED_APPS += ['debug_toolbar']
            """,
            f"""\
            SHARED_APPS = ['django_tenants', 'a']
            TENANT_APPS = ['b']

            # apps
            {DERIVED}  # all of them
            INSTALLED_APPS += ['debug_toolbar']
            """,
            id="replace-set-union-keep-comments-and-additions",
        ),
        pytest.param(
            "SHARED_APPS = ['a']\nTENANT_APPS = ['b']\nDEBUG = True\n",
            f"SHARED_APPS = ['a']\nTENANT_APPS = ['b']\n\n{DERIVED}\nDEBUG = True\n",
            id="create-after-the-lists",
        ),
        pytest.param(
            "from .base import *\nINSTALLED_APPS = ['a', 'b']\n",
            f"from .base import *\n{DERIVED}\n",
            id="lists-from-star-import",
        ),
    ],
)
def test_fixes_and_is_idempotent(before, after):
    result = transform(before)
    assert result.code == textwrap.dedent(after)
    assert not transform(result.code).changed


@pytest.mark.parametrize(
    ("before", "args", "reason"),
    [
        pytest.param(
            "INSTALLED_APPS = ['a']\nSHARED_APPS = ['a']\nTENANT_APPS = ['b']\n",
            {},
            "assigned before",
            id="lists-defined-later",
        ),
        pytest.param(
            "SHARED_APPS = ['a']\nINSTALLED_APPS = ['a']\n",
            {},
            "TENANT_APPS is not defined",
            id="tenant-list-missing",
        ),
        pytest.param(
            "TENANT_TYPES = {'public': {'APPS': []}}\n", {}, "multi-type", id="multi-type"
        ),
        pytest.param(
            "SHARED_APPS = ['a']\nTENANT_APPS = ['b']\n",
            {"create": "no"},
            "no INSTALLED_APPS",
            id="create-no",
        ),
    ],
)
def test_skips(before, args, reason):
    result = transform(before, **args)
    assert result.skipped is not None and reason in result.skipped
