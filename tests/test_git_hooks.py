"""No git hook of the user's repository ever runs, in the checkout or in our temporary worktrees.

Each hook below would leave a marker file (and fail): a git-lfs post-checkout hook without
git-lfs installed is the real case that made `apply` fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support_forge import init_repo, make_bare_remote
from support_git import git, snapshot
from test_bot import BRANCH as BOT_BRANCH
from test_bot import compute, project_files
from typer.testing import CliRunner

from tenantfix import vcs
from tenantfix.bot import PublishTarget, publish
from tenantfix.cli import app
from tenantfix.errors import TenantfixError

BRANCH = "tenantfix/shared-user-app"
HOOKS = (
    "post-checkout",
    "reference-transaction",
    "post-index-change",
    "pre-commit",
    "post-commit",
    "pre-push",
    "pre-auto-gc",
)


def install_hooks(repo: Path, markers: Path) -> None:
    markers.mkdir(exist_ok=True)
    hooks = repo / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    for name in HOOKS:
        hook = hooks / name
        hook.write_text(f'#!/bin/sh\necho "$@" >> "{markers}/{name}"\nexit 1\n')
        hook.chmod(0o755)


def ran_hooks(markers: Path) -> list[str]:
    return sorted(p.name for p in markers.iterdir())


def test_the_hooks_do_run_for_plain_git(writeup_repo, tmp_path):
    """The hooks are real: plain `git worktree add` runs them and fails."""
    import subprocess

    markers = tmp_path / "markers"
    install_hooks(writeup_repo, markers)
    with pytest.raises(subprocess.CalledProcessError):
        git(writeup_repo, "worktree", "add", "--detach", str(tmp_path / "wt"), "HEAD")
    assert ran_hooks(markers) != []


def test_apply_with_allow_dirty_runs_no_hook_and_leaves_no_worktree(writeup_repo, tmp_path):
    markers = tmp_path / "markers"
    install_hooks(writeup_repo, markers)
    settings = writeup_repo / "accreditation_portal" / "settings.py"
    settings.write_text(settings.read_text() + "\n# local tweak\n")
    before = snapshot(writeup_repo)
    result = CliRunner().invoke(
        app, ["apply", "--allow-dirty", str(writeup_repo)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert ran_hooks(markers) == []
    after = snapshot(writeup_repo)
    assert {k: v for k, v in after.items() if k != "refs"} == {
        k: v for k, v in before.items() if k != "refs"
    }
    assert git(writeup_repo, "rev-parse", "--verify", BRANCH)
    assert not (writeup_repo / ".git" / "worktrees").exists() or not list(
        (writeup_repo / ".git" / "worktrees").iterdir()
    )


def test_bot_publish_runs_no_hook(tmp_path):
    work = init_repo(tmp_path / "work", project_files())
    make_bare_remote(tmp_path / "remote.git", work)
    markers = tmp_path / "markers"
    install_hooks(work, markers)
    result = publish(work, PublishTarget(branch=BOT_BRANCH), compute=compute)
    assert result.pushed
    assert ran_hooks(markers) == []


def test_a_worktree_whose_work_fails_is_removed_and_pruned(writeup_repo, tmp_path):
    markers = tmp_path / "markers"
    install_hooks(writeup_repo, markers)
    seen: list[Path] = []
    with pytest.raises(TenantfixError), vcs.temporary_worktree(writeup_repo, "HEAD") as tree:
        seen.append(tree)
        assert (tree / "manage.py").is_file()
        raise TenantfixError("boom")
    assert not seen[0].exists() and not seen[0].parent.exists()
    assert git(writeup_repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert ran_hooks(markers) == []


def test_a_worktree_that_cannot_be_added_is_refused_and_nothing_is_left(
    writeup_repo, tmp_path, monkeypatch
):
    """`git worktree add` fails (its admin directory cannot be made): no temp dir stays."""
    import tempfile

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    (writeup_repo / ".git" / "worktrees").write_text("not a directory\n")
    with (
        pytest.raises(TenantfixError, match="temporary worktree"),
        vcs.temporary_worktree(writeup_repo, "HEAD"),
    ):
        raise AssertionError("the worktree was added")  # pragma: no cover
    assert list(temp.iterdir()) == []
