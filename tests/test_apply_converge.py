"""Fixes converge: a finding that only appears once the first fix is made is fixed in the same run.

The fixture's user app is built on AbstractUser and TENANT-only, and so is auth. Sharing the
user app (TF001) makes auth a dependency of a shared app (TF003); fixing only TF001 fails at
`accounts.0001_initial` with `relation "auth_group" does not exist` (the real-project report).
"""

from __future__ import annotations

from support_git import FIXTURES, copy_project, git, init_repo, snapshot
from typer.testing import CliRunner

from tenantfix.cli import app
from tenantfix.pipeline import Options, compute_fixes, converge_fixes
from tenantfix.verify import verify_changes

BRANCH = "tenantfix/shared-user-app"
CASE = FIXTURES / "tf001_user_app_not_shared__auth_then_tf003" / "before"


def test_one_pass_leaves_the_new_finding_and_the_loop_fixes_it(tmp_path):
    project = copy_project(CASE, tmp_path / "proj")
    one = compute_fixes(project, Options())
    assert [d.code for d in one.fixed] == ["TF001"]
    assert [d.code for d in one.remaining_after] == ["TF003"]

    result = converge_fixes(project, Options())
    assert [[d.code for d in fixed] for fixed in result.rounds] == [["TF001"], ["TF003"]]
    assert [d.code for d in result.fixed] == ["TF001", "TF003"]
    assert result.remaining_after == ()
    assert sorted(result.changes) == ["proj/settings.py"]
    assert result.originals["proj/settings.py"] == (CASE / "proj" / "settings.py").read_bytes()
    settings = result.changes["proj/settings.py"]
    assert settings is not None
    shared = settings.decode().split("TENANT_APPS = [")[0]
    assert '"django.contrib.auth",' in shared and '"accounts",' in shared


def test_apply_fixes_both_in_one_commit_and_the_real_migrations_pass(tmp_path, pg_server):
    repo = init_repo(copy_project(CASE, tmp_path / "portal"))
    before = snapshot(repo)
    applied = CliRunner().invoke(
        app, ["apply", "--verify", "--database-url", pg_server.url, str(repo)]
    )
    assert applied.exit_code == 0, applied.output
    assert "Verification passed." in applied.stderr
    assert "new finding" not in applied.output
    assert "then, on the tree with those fixes (pass 2):" in applied.stderr
    assert {k: v for k, v in snapshot(repo).items() if k != "refs"} == {
        k: v for k, v in before.items() if k != "refs"
    }
    message = git(repo, "log", "-1", "--format=%B", BRANCH)
    first, _, second = message.partition("Then found on the tree with those fixes (pass 2):")
    assert "TF001" in first and "TF003" not in first
    assert "TF003" in second and "'auth'" in second

    # the branch passes on a fresh database; a rerun on main is up to date
    verified = CliRunner().invoke(
        app, ["verify", str(repo), "--ref", BRANCH, "--database-url", pg_server.url]
    )
    assert verified.exit_code == 0, verified.output
    again = CliRunner().invoke(app, ["apply", str(repo)])
    assert again.exit_code == 0 and "up to date" in again.output, again.output


def test_the_first_fix_alone_fails_at_the_user_apps_migration(tmp_path, pg_server):
    """Why the loop matters: TF001's fix alone does not migrate."""
    project = copy_project(CASE, tmp_path / "proj")
    one = compute_fixes(project, Options())
    report = verify_changes(
        project, one.changes, settings="proj.settings", database_url=pg_server.url
    )
    assert not report.passed
    text = "\n".join(report.lines())
    assert "accounts.0001_initial" in text and 'relation "auth_group" does not exist' in text


def test_the_passes_are_bounded_and_a_fix_left_undone_is_named(tmp_path, monkeypatch):
    import tenantfix.pipeline as pipeline

    monkeypatch.setattr(pipeline, "MAX_FIX_PASSES", 1)
    project = copy_project(CASE, tmp_path / "proj")
    result = converge_fixes(project, Options())
    assert [d.code for d in result.fixed] == ["TF001"]
    assert "the fixes did not converge after 1 passes; still fixable: TF003" in result.warnings
