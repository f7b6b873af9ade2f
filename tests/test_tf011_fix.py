"""TF011's unsafe fix (the user app out of TENANT_APPS) on real settings files through the CLI:
offered only where one edit of the tenant list's own statements removes the entry, applied
only with --unsafe-fixes, and every output that carries it points at `tenantfix move-users`."""

from __future__ import annotations

from pathlib import Path

from fixture_trees import check_json, copy_before, tree
from support_git import git, init_repo
from typer.testing import CliRunner

from tenantfix.cli import app
from tenantfix.plan import Diagnostic, Fix, Location
from tenantfix.pr_body import render

CASE = "tf011_user_app_in_both_lists__unsafe_fix"
SETTINGS = "proj/settings.py"
TENANT_BLOCK = """TENANT_APPS = [
    # per-tenant data
    'shop',
    'users',  # every tenant gets its own users_user
    # more per-tenant apps go here
]"""


def project(tmp_path: Path, tenant_block: str | None = None, *, shared: str | None = None) -> Path:
    root = copy_before(CASE, tmp_path / "proj_root")
    settings = root / SETTINGS
    text = settings.read_text()
    assert TENANT_BLOCK in text
    if tenant_block is not None:
        text = text.replace(TENANT_BLOCK, tenant_block)
    if shared is not None:
        start = text.index("SHARED_APPS = [")
        end = text.index("]\n", start) + 2
        text = text[:start] + shared + text[end:]
    settings.write_text(text)
    return root


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def tf011(root: Path) -> list[dict]:
    _, findings = check_json(root)
    return [f for f in findings if f["code"] == "TF011"]


def test_without_the_opt_in_nothing_changes_and_check_names_the_flag(tmp_path):
    root = project(tmp_path)
    before = tree(root)
    (finding,) = tf011(root)
    assert finding["fixable"] and finding["fix_safety"] == "unsafe", finding
    assert "tenantfix move-users" in finding["fix_summary"]
    applied = invoke("apply", "--no-commit", str(root))
    assert applied.exit_code == 0, applied.output
    assert tree(root) == before


def test_a_list_both_lists_are_built_from_gets_no_fix(tmp_path):
    """`users` written in COMMON: editing COMMON would unshare it, editing TENANT_APPS does
    nothing; so no automatic fix, and --unsafe-fixes changes nothing."""
    root = project(
        tmp_path,
        "TENANT_APPS = COMMON + [\n    'shop',\n]",
        shared=(
            'COMMON = ["users"]\nSHARED_APPS = [\n    "django_tenants",\n'
            '    "customers",\n    "django.contrib.admin",\n    "django.contrib.auth",\n'
            '    "django.contrib.contenttypes",\n] + COMMON\n'
        ),
    )
    (finding,) = tf011(root)
    assert not finding["fixable"], finding
    assert "by hand: 'users' is written at proj/settings.py:8" in finding["fix_summary"]
    before = tree(root)
    applied = invoke("apply", "--no-commit", "--unsafe-fixes", str(root))
    assert applied.exit_code == 0, applied.output
    assert tree(root) == before


def test_a_starred_common_list_gets_no_fix(tmp_path):
    """`*COMMON_APPS` spread into both lists (seen on ExpoPythonist/saas_backoffice)."""
    root = project(
        tmp_path,
        "TENANT_APPS = [\n    *COMMON,\n    'shop',\n]",
        shared=(
            'COMMON = [\n    "users",  # on the public schema and the others too\n]\n'
            'SHARED_APPS = [\n    "django_tenants",\n    "customers",\n'
            '    "django.contrib.admin",\n    "django.contrib.auth",\n'
            '    "django.contrib.contenttypes",\n    *COMMON,\n]\n'
        ),
    )
    (finding,) = tf011(root)
    assert not finding["fixable"] and "by hand" in finding["fix_summary"], finding
    before = tree(root)
    assert invoke("apply", "--no-commit", "--unsafe-fixes", str(root)).exit_code == 0
    assert tree(root) == before


def test_an_extension_and_an_append_are_removed_as_statements(tmp_path):
    root = project(
        tmp_path,
        "TENANT_APPS = [\n    'shop',\n]\nTENANT_APPS += ['users']  # per-tenant users\n"
        "TENANT_APPS.append('users')",
    )
    assert len(tf011(root)) >= 1
    applied = invoke("apply", "--no-commit", "--unsafe-fixes", str(root))
    assert applied.exit_code == 0, applied.output
    text = (root / SETTINGS).read_text()
    assert "TENANT_APPS = [\n    'shop',\n]\n\nINSTALLED_APPS" in text
    assert tf011(root) == []


def test_each_configuration_literal_is_edited(tmp_path):
    """Two configurations (an env-dependent if/else), each with its own literal."""
    root = project(
        tmp_path,
        "if os.environ.get('EXTRA'):\n    TENANT_APPS = ['shop', 'users', 'extra']\n"
        "else:\n    TENANT_APPS = ['shop', 'users']",
    )
    assert tf011(root)
    applied = invoke("apply", "--no-commit", "--unsafe-fixes", str(root))
    assert applied.exit_code == 0, applied.output
    text = (root / SETTINGS).read_text()
    assert "TENANT_APPS = ['shop', 'extra']" in text and "TENANT_APPS = ['shop']" in text
    assert tf011(root) == []
    again = invoke("apply", "--no-commit", "--unsafe-fixes", str(root))
    assert again.exit_code == 0 and (root / SETTINGS).read_text() == text


def test_dry_run_shows_the_diff_and_the_move_users_step(tmp_path):
    root = project(tmp_path)
    result = invoke("apply", "--dry-run", "--unsafe-fixes", str(root))
    assert result.exit_code == 1, result.output
    assert "-    'users',  # every tenant gets its own users_user" in result.stdout
    assert "tenantfix move-users" in result.stderr


def test_the_commit_names_the_move_users_runbook(tmp_path):
    repo = init_repo(project(tmp_path))
    result = invoke("apply", "--unsafe-fixes", str(repo))
    assert result.exit_code == 0, result.output
    assert "move-users" in result.stderr
    message = git(repo, "log", "-1", "--format=%B", "tenantfix/shared-user-app")
    assert message.startswith("tenantfix: make the user app SHARED-only")
    assert "tenantfix move-users" in message and "before deploying" in message
    shown = git(repo, "show", "tenantfix/shared-user-app:" + SETTINGS)
    assert "'users'," not in shown.split("TENANT_APPS = [")[1].split("]")[0]


def test_the_pull_request_body_carries_the_move_users_runbook():
    finding = Diagnostic(
        code="TF011",
        message="the user app 'users' (users.User) is in both SHARED_APPS and TENANT_APPS",
        location=Location(SETTINGS, 20),
        severity="warning",
        why="tenant tables shadow public",
        fix_summary="remove it",
        fixes=(Fix("codemod", "remove_app_from_list", SETTINGS, safety="unsafe"),),
    )
    body = render(
        title="t",
        fixed=[finding],
        changes={SETTINGS: b"b"},
        originals={SETTINGS: b"a"},
        base="main",
        base_sha="0" * 40,
        fingerprint="f",
    )
    assert "### Before deploying: move the existing tenant users (TF011)" in body
    assert '`tenantfix move-users --database-url "$DATABASE_URL" --execute`' in body
    other = render(
        title="t",
        fixed=[],
        changes={},
        originals={},
        base="main",
        base_sha="0" * 40,
        fingerprint="f",
    )
    assert "move-users" not in other


def test_multi_type_projects_lose_the_app_from_each_tenant_type(tmp_path):
    root = copy_before(CASE, tmp_path / "multi")
    settings = root / SETTINGS
    text = settings.read_text()
    start = text.index("SHARED_APPS = [")
    end = text.index("INSTALLED_APPS = ")
    end = text.index("\n", end) + 1
    multi = (
        "HAS_MULTI_TYPE_TENANTS = True\n"
        "MULTI_TYPE_DATABASE_FIELD = 'type'\n"
        "TENANT_TYPES = {\n"
        "    'public': {\n"
        "        'APPS': ['django_tenants', 'customers', 'users', 'django.contrib.admin',\n"
        "                 'django.contrib.auth', 'django.contrib.contenttypes'],\n"
        "        'URLCONF': 'urls',\n"
        "    },\n"
        "    'shops': {\n"
        "        'APPS': ['shop', 'users'],  # per-shop users\n"
        "        'URLCONF': 'urls',\n"
        "    },\n"
        "}\n"
        "INSTALLED_APPS = []\n"
        "for schema in TENANT_TYPES:\n"
        "    INSTALLED_APPS += [a for a in TENANT_TYPES[schema]['APPS'] if a not in INSTALLED_APPS]\n"
    )
    settings.write_text(text[:start] + multi + text[end:])
    (finding,) = tf011(root)
    assert "TENANT_TYPES['shops']['APPS']" in finding["message"] and finding["fixable"]
    applied = invoke("apply", "--no-commit", "--unsafe-fixes", str(root))
    assert applied.exit_code == 0, applied.output
    assert "'APPS': ['shop'],  # per-shop users" in settings.read_text()
    assert tf011(root) == []
