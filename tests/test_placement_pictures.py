"""Item 7 of issue 12: check's text output and the PR body show where a TF001-TF004 finding's
apps live (public / tenant / each tenant type) before and after the fix, and the PR body draws
the relation that crosses schemas as a Mermaid diagram. Real fixture projects, real analysis."""

from __future__ import annotations

import json
from pathlib import Path

from support_git import FIXTURES, copy_project
from typer.testing import CliRunner

from tenantfix.cli import app
from tenantfix.pipeline import Options, analyse
from tenantfix.pr_body import render

WRITEUP = FIXTURES / "writeup_project"


def _check(*args: str) -> str:
    return CliRunner().invoke(app, ["check", "--color", "never", *args]).stdout


def test_tf001_text_shows_the_crossing_relation_and_the_table() -> None:
    out = _check("--select", "TF001", str(WRITEUP))
    assert (
        "  crosses schemas: admin.LogEntry.user (public and tenant) -> users.User (tenant only)\n"
        "  where the apps live (before -> after the fix):\n"
        "    app    public     tenant\n"
        "    users  no -> yes  yes -> no\n"
        "    admin  yes        yes\n"
    ) in out


def test_keep_in_tenant_apps_is_not_drawn_as_a_move_in_tf003() -> None:
    # TF003 adds contenttypes to SHARED_APPS without taking it out of TENANT_APPS
    out = _check(str(FIXTURES / "tf003_shared_app_dependency_not_shared__contenttypes" / "before"))
    assert "crosses schemas: auth.0001_initial (public only) -> contenttypes (tenant only)" in out
    assert "    contenttypes  no -> yes  yes\n    auth          yes        no\n" in out


def test_tf004_unsafe_fix_is_pictured_too() -> None:
    out = _check(str(FIXTURES / "tf004_shared_model_references_tenant_model__shared_fk" / "before"))
    assert (
        "crosses schemas: core.Organization.main_customer (public only) -> crm.Customer "
        "(tenant only)" in out
    )
    assert "    crm   no -> yes  yes\n    core  yes        no\n" in out


def test_one_column_per_tenant_type(tmp_path: Path) -> None:
    project = copy_project(FIXTURES / "sim_multi_type", tmp_path / "multi")
    settings = project / "proj" / "settings.py"
    text = settings.read_text()
    # contenttypes out of the public type: auth (public) depends on it -> TF003
    public_start = text.index('"public": {')
    at = text.index('            "django.contrib.contenttypes",\n', public_start)
    settings.write_text(
        text[:at] + text[at + len('            "django.contrib.contenttypes",\n') :]
    )
    out = _check("--select", "TF003", str(project))
    assert "    app           public     tenant:school  tenant:library\n" in out
    assert "    contenttypes  no -> yes  yes            yes\n" in out
    assert "    auth          yes        yes            yes\n" in out


def test_pr_body_has_the_table_and_a_mermaid_diagram() -> None:
    analysis = analyse(WRITEUP, Options(select=("TF001",)))
    body = render(
        title="Fix",
        fixed=analysis.diagnostics,
        changes={},
        originals={},
        base="main",
        base_sha="0" * 40,
        fingerprint="abc",
    )
    assert "### Where the apps live, before and after this fix" in body
    assert "**TF001**: `admin.LogEntry.user (public and tenant) → users.User (tenant only)`" in body
    assert (
        "| App | public | tenant |\n"
        "|---|---|---|\n"
        "| `users` | ✗ → ✓ (fix) | ✓ → ✗ (fix) |\n"
        "| `admin` | ✓ | ✓ |\n"
    ) in body
    assert (
        "```mermaid\n"
        "flowchart LR\n"
        '    src["admin.LogEntry.user<br/>public and tenant"] -- "ForeignKey" --> '
        'dst["users.User<br/>tenant only → after the fix: public only"]\n'
        "```\n"
    ) in body


def test_json_carries_the_placement() -> None:
    doc = json.loads(_check("--select", "TF001", "-f", "json", str(WRITEUP)))
    finding = doc["findings"][0]
    assert finding["placement"][0] == {
        "app": "users",
        "columns": ["public", "tenant"],
        "before": [False, True],
        "after": [True, False],
    }
    assert finding["crossing"]["source"] == "admin.LogEntry.user"


def test_pr_body_names_repair_db_only_when_a_fixed_finding_fails_a_migration() -> None:
    """A TF009-only pull request (majid-cj/django_tenant_react) carried the runbook for
    databases that ran a failing migration, although no migration fails there."""

    def body(select: str, project: Path) -> str:
        analysis = analyse(project, Options(select=(select,)))
        assert analysis.diagnostics
        return render(
            title="Fix",
            fixed=analysis.diagnostics,
            changes={},
            originals={},
            base="main",
            base_sha="0" * 40,
            fingerprint="abc",
        )

    assert "tenantfix repair-db" in body("TF001", WRITEUP)
    tf009 = FIXTURES / "tf009_django_tenants_not_first__not_first" / "before"
    assert "repair-db" not in body("TF009", tf009)
