"""A temporary detached checkout of a commit, for work that needs files on disk.

Django's makemigrations reads the project from disk, so it runs in a worktree under a temp
dir that is removed (and pruned from ``.git/worktrees``) afterwards, also when the work fails
or the user presses Ctrl-C.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tenantfix.errors import ExitCode, TenantfixError
from tenantfix.vcs.repository import error_text, repo_at

if TYPE_CHECKING:
    import git


@contextlib.contextmanager
def temporary_worktree(repo_root: Path, ref: str) -> Iterator[Path]:
    """A detached checkout of ``ref`` in a temp dir, removed (and pruned) afterwards.

    Also when ``worktree add`` fails or is interrupted half-way: the directory and the
    ``.git/worktrees`` entry go in every case.
    """
    import git

    repo = repo_at(repo_root)
    sha = repo.rev_parse(ref).hexsha
    parent: Path | None = None
    try:
        parent = Path(tempfile.mkdtemp(prefix="tenantfix-worktree-"))
        path = parent / "tree"
        try:
            repo.git.worktree("add", "--detach", "--quiet", str(path), sha)
        except git.GitCommandError as exc:
            raise TenantfixError(
                f"could not check out {ref!r} into a temporary worktree: {error_text(exc)}",
                ExitCode.REFUSED,
            ) from None
        yield path
    finally:
        if parent is not None:
            _remove_worktree(repo, parent / "tree", parent)


def _remove_worktree(repo: git.Repo, path: Path, parent: Path) -> None:
    import git

    from tenantfix import interrupt

    # A second Ctrl-C while cleaning up must not leave half of it behind.
    with interrupt.deferred():
        with contextlib.suppress(git.GitCommandError):
            repo.git.worktree("remove", "--force", str(path))
        shutil.rmtree(parent, ignore_errors=True)
        with contextlib.suppress(git.GitCommandError):
            repo.git.worktree("prune")
