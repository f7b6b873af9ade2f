"""Opening a repository so that no git hook runs, reading its state, and git's errors scrubbed."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tenantfix.errors import ExitCode, TenantfixError

if TYPE_CHECKING:
    import git

BOT_NAME = "tenantfix[bot]"
BOT_EMAIL = "tenantfix[bot]@users.noreply.github.com"


@dataclass(frozen=True, slots=True)
class Identity:
    """A commit author or committer."""

    name: str
    email: str


BOT = Identity(BOT_NAME, BOT_EMAIL)

# `core.hooksPath` pointing at a path that is not a directory: git finds no hook there (it
# looks for `<hooksPath>/<name>`), and nothing has to be created or cleaned up. Given as `-c`,
# it also beats a hooksPath from the user's or the system's configuration.
NO_HOOKS: tuple[str, str] = ("-c", f"core.hooksPath={os.devnull}")


def repo_at(path: Path, *, search_parent_directories: bool = False) -> git.Repo:
    """A GitPython repository whose every git command runs with :data:`NO_HOOKS`."""
    import git

    repo = git.Repo(path, search_parent_directories=search_parent_directories)
    repo.git.set_persistent_git_options(c=NO_HOOKS[1])
    return repo


def open_repo(path: Path) -> git.Repo:
    """The repository containing ``path``; a clear error when there is none."""
    import git

    try:
        return repo_at(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise TenantfixError(
            f"{path} is not inside a git repository. tenantfix commits its fix on a new branch; "
            "run `git init` and commit first, or pass --no-commit to write the changes into "
            "the working tree.",
            ExitCode.REFUSED,
        ) from None


def repo_root(repo: git.Repo) -> Path:
    if repo.working_tree_dir is None:
        raise TenantfixError(f"{repo.git_dir} is a bare repository", ExitCode.REFUSED)
    return Path(repo.working_tree_dir)


def has_commits(repo: git.Repo) -> bool:
    try:
        repo.head.commit  # noqa: B018  (raises on an unborn branch)
    except ValueError:
        return False
    return True


def dirty_paths(repo: git.Repo) -> list[str]:
    """Tracked files with staged or unstaged changes (untracked files are not counted)."""
    # No optional locks: a plain `git status` may rewrite .git/index to refresh stat data.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    out: str = repo.git.status("--porcelain", "--untracked-files=no", env=env)
    return [line[3:] for line in out.splitlines() if line.strip()]


def branch_exists(repo: git.Repo, branch: str) -> bool:
    return f"refs/heads/{branch}" in {ref.path for ref in repo.references}


def ref_sha(repo: git.Repo, ref: str) -> str | None:
    """The object id ``ref`` names, or None when there is no such ref."""
    out: str = repo.git.rev_parse("--verify", "--quiet", ref, with_exceptions=False)
    return out.strip() or None


def check_branch_name(repo: git.Repo, branch: str) -> None:
    import git

    try:
        repo.git.check_ref_format("--branch", branch)
    except git.GitCommandError:
        raise TenantfixError(f"{branch!r} is not a valid branch name", ExitCode.USAGE) from None


# GitPython stores a failed command's output as "\n  stderr: '<text>'" (for its own __str__)
_DECORATED = re.compile(r"\A\s*(?:stderr|stdout): '(?P<text>.*)'\s*\Z", re.S)


def error_text(exc: git.GitCommandError, secrets: Sequence[str | None] = ()) -> str:
    """What git said when ``exc`` happened (stderr, else stdout), without any secret.

    Never GitPython's ``str(exc)``: that adds the command line, which is ours to word.
    """
    return scrubbed(_undecorated(exc.stderr), _undecorated(exc.stdout), exc.status, secrets)


def describe_failure(exc: git.GitCommandError) -> str:
    """``git <command> failed: <what git said>``, for a failure nothing else explains."""
    words = [str(w) for w in exc.command[1:]]
    while len(words) >= 2 and words[0] == "-c":  # our NO_HOOKS and other -c options
        words = words[2:]
    command = f"git {words[0]}" if words else "git"
    return f"{command} failed: {error_text(exc)}"


def scrubbed(stderr: str, stdout: str, status: object, secrets: Sequence[str | None] = ()) -> str:
    from tenantfix.forge import scrub

    text = stderr.strip() or stdout.strip() or f"git exited with status {status}"
    return scrub(text, secrets)


def _undecorated(text: str | bytes | None) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not text:
        return ""
    found = _DECORATED.match(text)
    return found["text"] if found else text
