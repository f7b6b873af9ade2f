"""Reruns of `tenantfix apply` on real git repositories: weekly CI must see no-ops, not refusals.

Each step snapshots the checkout (HEAD, refs, index, every file) before and after the rerun.
"""

from __future__ import annotations

from support_git import git, snapshot
from typer.testing import CliRunner

from tenantfix.bot import TRAILER, fingerprint_from_message
from tenantfix.cli import app
from tenantfix.vcs import BOT_EMAIL

BRANCH = "tenantfix/shared-user-app"


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def rerun_changes_nothing(repo, *args: str):
    before = snapshot(repo)
    result = run("apply", str(repo), *args)
    assert snapshot(repo) == before, result.output
    return result


def test_apply_writes_the_fingerprint_trailer_the_bot_reads(writeup_repo):
    assert run("apply", str(writeup_repo)).exit_code == 0
    message = git(writeup_repo, "log", "-1", "--format=%B", BRANCH)
    assert f"\n{TRAILER}: " in message and fingerprint_from_message(message)
    assert git(writeup_repo, "log", "-1", "--format=%ce", BRANCH).strip() == BOT_EMAIL


def test_rerun_on_main_checkout_of_the_branch_and_after_merging(writeup_repo):
    first = run("apply", str(writeup_repo))
    assert first.exit_code == 0, first.output
    tip = git(writeup_repo, "rev-parse", BRANCH).strip()

    # on main right away: the branch holds exactly this fix
    again = rerun_changes_nothing(writeup_repo)
    assert again.exit_code == 0, again.output
    assert f"up to date: branch {BRANCH} already holds this fix ({tip[:12]})" in again.output
    assert "already exists" not in again.output

    # on the fix branch itself: nothing to fix, whatever branches exist
    git(writeup_repo, "switch", "-q", BRANCH)
    on_branch = rerun_changes_nothing(writeup_repo)
    assert on_branch.exit_code == 0, on_branch.output
    assert "Nothing to fix" in on_branch.output

    # after merging the branch into main
    git(writeup_repo, "switch", "-q", "main")
    git(writeup_repo, "merge", "-q", "--no-ff", "-m", "Merge the tenantfix branch", BRANCH)
    merged = rerun_changes_nothing(writeup_repo)
    assert merged.exit_code == 0, merged.output
    assert "Nothing to fix" in merged.output
    assert git(writeup_repo, "rev-parse", BRANCH).strip() == tip


def test_base_moved_refuses_naming_the_stale_branch_then_force_branch_rebuilds_it(writeup_repo):
    assert run("apply", str(writeup_repo)).exit_code == 0
    old_tip = git(writeup_repo, "rev-parse", BRANCH).strip()
    (writeup_repo / "NOTES.md").write_text("upstream work\n")
    git(writeup_repo, "add", "NOTES.md")
    git(writeup_repo, "commit", "-qm", "upstream work")
    head = git(writeup_repo, "rev-parse", "HEAD").strip()

    refused = rerun_changes_nothing(writeup_repo)
    assert refused.exit_code == 3, refused.output
    out = " ".join(refused.output.split())
    assert f"branch '{BRANCH}' already exists: it is tenantfix's own branch" in out
    assert "only tenantfix commits" in out and "--force-branch" in out
    assert old_tip[:12] in out

    before = snapshot(writeup_repo)
    forced = run("apply", "--force-branch", str(writeup_repo))
    assert forced.exit_code == 0, forced.output
    after = snapshot(writeup_repo)
    assert {k: v for k, v in after.items() if k != "refs"} == {
        k: v for k, v in before.items() if k != "refs"
    }
    assert f"rebuilt; it was at {old_tip[:12]}" in forced.output
    new_tip = git(writeup_repo, "rev-parse", BRANCH).strip()
    assert new_tip != old_tip
    assert git(writeup_repo, "rev-parse", f"{BRANCH}^").strip() == head
    assert git(writeup_repo, "show", f"{BRANCH}:NOTES.md") == "upstream work\n"

    # and the rebuilt branch is up to date on the next run
    again = rerun_changes_nothing(writeup_repo)
    assert again.exit_code == 0 and "up to date" in again.output, again.output


def test_a_branch_with_someone_elses_commits_is_refused_as_not_tenantfix(writeup_repo):
    assert run("apply", str(writeup_repo)).exit_code == 0
    git(writeup_repo, "switch", "-q", BRANCH)
    (writeup_repo / "review.txt").write_text("a reviewer's tweak\n")
    git(writeup_repo, "add", "review.txt")
    git(writeup_repo, "commit", "-qm", "review tweak")
    human = git(writeup_repo, "rev-parse", "HEAD").strip()
    git(writeup_repo, "switch", "-q", "main")

    refused = rerun_changes_nothing(writeup_repo)
    assert refused.exit_code == 3, refused.output
    out = " ".join(refused.output.split())
    assert "has commits not made by tenantfix" in out and human[:12] in out
    assert "tenantfix's own branch" not in out


def test_a_different_fix_for_the_same_findings_is_not_up_to_date(writeup_repo):
    """Same findings and base (same fingerprint), another fix: the tree tells them apart."""
    assert run("apply", "--keep-in-tenant-apps", str(writeup_repo)).exit_code == 0
    refused = rerun_changes_nothing(writeup_repo)
    assert refused.exit_code == 3, refused.output
    assert "tenantfix's own branch" in " ".join(refused.output.split())


def test_up_to_date_exits_like_check_when_only_warnings_remain(tmp_path):
    """A fix branch that is up to date, with a warning no fix can make (TF011): exit 0.

    The layout of a real project (auth in both lists, the tenant app TENANT-only by mistake).
    """
    from support_git import FIXTURES, copy_project, init_repo

    case = FIXTURES / "tf002_tenant_model_app_not_shared__tenant_app_tenant_only" / "before"
    project = copy_project(case, tmp_path / "proj")
    settings = project / "proj" / "settings.py"
    settings.write_text(
        settings.read_text().replace(
            'TENANT_APPS = [\n    "customers",\n',
            'TENANT_APPS = [\n    "customers",\n    "django.contrib.auth",\n',
        )
    )
    repo = init_repo(project)
    first = run("apply", str(repo))
    assert first.exit_code == 0, first.output
    assert "TF011" in first.output and "TF002" in first.output
    again = rerun_changes_nothing(repo)
    assert "up to date" in again.output and "TF011" in again.output
    assert again.exit_code == 0, again.output
    strict = rerun_changes_nothing(repo, "--fail-level", "warning")
    assert "up to date" in strict.output and strict.exit_code == 1, strict.output


def test_reruns_write_no_object_into_the_repository(writeup_repo):
    """Up to date and stale verdicts are read-only: not even a loose object is added to .git."""

    def objects():
        return sorted(p for p in (writeup_repo / ".git" / "objects").rglob("*") if p.is_file())

    assert run("apply", str(writeup_repo)).exit_code == 0
    known = objects()
    assert "up to date" in run("apply", str(writeup_repo)).output
    assert objects() == known
    (writeup_repo / "NOTES.md").write_text("upstream work\n")
    git(writeup_repo, "add", "NOTES.md")
    git(writeup_repo, "commit", "-qm", "upstream work")
    known = objects()
    assert run("apply", str(writeup_repo)).exit_code == 3
    assert objects() == known
