"""`tenantfix apply` on real git repositories: the branch, the untouched checkout, refusals."""

from __future__ import annotations

import subprocess

import pytest
from support_git import copy_project, git, snapshot
from typer.testing import CliRunner

from tenantfix.cli import app

BRANCH = "tenantfix/shared-user-app"


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_apply_commits_the_fix_on_a_new_branch_and_leaves_the_checkout_alone(writeup_repo):
    before = snapshot(writeup_repo)
    result = run("apply", str(writeup_repo))
    assert result.exit_code == 0, result.output
    assert snapshot(writeup_repo) == {**before, "refs": snapshot(writeup_repo)["refs"]}
    assert git(writeup_repo, "branch", "--show-current").strip() == "main"
    changed = git(writeup_repo, "diff", "--name-status", f"main...{BRANCH}").split("\n")
    assert sorted(filter(None, changed)) == [
        "A\taudit/migrations/0001_initial.py",
        "A\taudit/migrations/__init__.py",
        "M\taccreditation_portal/settings.py",
    ]
    diff = git(writeup_repo, "diff", f"main...{BRANCH}", "--", "accreditation_portal/settings.py")
    assert "     'tenants',\n+    'users',\n ]" in diff
    assert "     'django.contrib.staticfiles',\n-    'users',\n     'accreditation'," in diff
    body = [
        line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert body == ["+    'users',", "-    'users',"]  # only the lines that must change
    migration = git(writeup_repo, "show", f"{BRANCH}:audit/migrations/0001_initial.py")
    assert "migrations.CreateModel(" in migration and "name='AuditEntry'" in migration
    assert "settings.AUTH_USER_MODEL" in migration
    message = git(writeup_repo, "log", "-1", "--format=%B", BRANCH)
    assert message.startswith("tenantfix: move the user app into SHARED_APPS")
    assert "TF001" in message and "TF005" in message
    assert 'relation "users_user" does not exist' in message
    assert (
        git(writeup_repo, "log", "-1", "--format=%an|%cn", BRANCH).strip()
        == "Dev Eloper|tenantfix[bot]"
    )
    assert f"git diff HEAD...{BRANCH}" in result.output


def test_second_run_on_the_fixed_branch_changes_nothing(writeup_repo):
    assert run("apply", str(writeup_repo)).exit_code == 0
    git(writeup_repo, "switch", "-q", BRANCH)
    refs = git(writeup_repo, "for-each-ref")
    result = run("apply", str(writeup_repo), "--branch", "tenantfix/again")
    assert result.exit_code == 0, result.output
    assert "Nothing to fix" in result.output
    assert git(writeup_repo, "for-each-ref") == refs
    check = run("check", str(writeup_repo))
    assert check.exit_code == 0, check.output


def test_dry_run_prints_a_git_apply_diff_and_writes_nothing(writeup_repo):
    before = snapshot(writeup_repo)
    result = CliRunner().invoke(app, ["apply", "--dry-run", str(writeup_repo)])
    assert result.exit_code == 1
    assert snapshot(writeup_repo) == before
    diff = result.stdout
    assert (
        "diff --git a/accreditation_portal/settings.py b/accreditation_portal/settings.py" in diff
    )
    assert "new file mode 100644\n--- /dev/null\n+++ b/audit/migrations/0001_initial.py" in diff
    check = subprocess.run(
        ["git", "apply", "--check", "-"],
        cwd=writeup_repo,
        input=diff,
        text=True,
        capture_output=True,
    )
    assert check.returncode == 0, check.stderr
    subprocess.run(["git", "apply", "-"], cwd=writeup_repo, input=diff, text=True, check=True)
    assert run("check", str(writeup_repo)).exit_code == 0


def test_dirty_tree_is_refused_and_nothing_changes(writeup_repo):
    settings = writeup_repo / "accreditation_portal" / "settings.py"
    settings.write_text(settings.read_text() + "\n# local tweak\n")
    before = snapshot(writeup_repo)
    result = run("apply", str(writeup_repo))
    assert result.exit_code == 3
    assert (
        "uncommitted changes" in result.output
        and "accreditation_portal/settings.py" in result.output
    )
    assert snapshot(writeup_repo) == before


def test_allow_dirty_builds_the_branch_from_head(writeup_repo):
    settings = writeup_repo / "accreditation_portal" / "settings.py"
    settings.write_text(settings.read_text() + "\n# local tweak\n")
    before = snapshot(writeup_repo)
    result = run("apply", "--allow-dirty", str(writeup_repo))
    assert result.exit_code == 0, result.output
    assert {k: v for k, v in snapshot(writeup_repo).items() if k != "refs"} == {
        k: v for k, v in before.items() if k != "refs"
    }
    assert "# local tweak" not in git(
        writeup_repo, "show", f"{BRANCH}:accreditation_portal/settings.py"
    )
    assert git(writeup_repo, "worktree", "list").count("\n") == 1  # the temporary worktree is gone


def test_existing_branch_is_refused_unless_forced(writeup_repo):
    git(writeup_repo, "branch", BRANCH)
    before = snapshot(writeup_repo)
    result = run("apply", str(writeup_repo))
    assert result.exit_code == 3
    assert "already exists" in result.output and "--force-branch" in result.output
    assert snapshot(writeup_repo) == before
    assert run("apply", "--force-branch", str(writeup_repo)).exit_code == 0
    assert git(writeup_repo, "rev-parse", BRANCH) != git(writeup_repo, "rev-parse", "main")


def test_not_a_git_repository_needs_no_commit(tmp_path):
    from support_git import FIXTURES

    project = copy_project(FIXTURES / "writeup_project", tmp_path / "plain")
    before = snapshot_files(project)
    result = run("apply", str(project))
    assert result.exit_code == 3
    assert "not inside a git repository" in result.output and "--no-commit" in result.output
    assert snapshot_files(project) == before
    result = run("apply", "--no-commit", str(project))
    assert result.exit_code == 0, result.output
    assert (project / "audit" / "migrations" / "0001_initial.py").is_file()
    assert (
        "    'tenants',\n    'users',\n]"
        in (project / "accreditation_portal" / "settings.py").read_text()
    )
    # idempotent: a second run finds nothing and writes nothing
    after = snapshot_files(project)
    again = run("apply", "--no-commit", str(project))
    assert again.exit_code == 0 and "Nothing to fix" in again.output
    assert snapshot_files(project) == after


def test_keep_in_tenant_apps(writeup_repo):
    assert run("apply", "--keep-in-tenant-apps", str(writeup_repo)).exit_code == 0
    settings = git(writeup_repo, "show", f"{BRANCH}:accreditation_portal/settings.py")
    assert settings.count("'users',") == 2


@pytest.mark.parametrize("command", ["check", "apply"])
def test_unparseable_settings_are_named_and_nothing_changes(writeup_repo, command):
    settings = writeup_repo / "accreditation_portal" / "settings.py"
    settings.write_text(settings.read_text().replace("SHARED_APPS = [", "SHARED_APPS = [[", 1))
    git(writeup_repo, "commit", "-qam", "broken settings")
    before = snapshot(writeup_repo)
    result = run(command, str(writeup_repo))
    # the same condition, the same exit code in every command: a configuration error
    assert result.exit_code == 2
    assert "accreditation_portal/settings.py" in result.output and "does not parse" in result.output
    assert snapshot(writeup_repo) == before


def snapshot_files(root):
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_check_with_probe_says_which_graph_it_used_and_writes_no_bytecode(writeup_repo):
    before = snapshot(writeup_repo)
    result = run("check", "--probe", "--format", "json", str(writeup_repo))
    assert result.exit_code == 1
    import json

    data = json.loads(result.stdout)
    assert data["graph"] == "probe"
    assert sorted(f["code"] for f in data["findings"]) == ["TF001", "TF005"]
    assert snapshot(writeup_repo) == before  # no __pycache__ left behind
