"""Git plumbing that never touches the user's checkout.

Commits are built with a temporary index file (``GIT_INDEX_FILE``) and ``commit-tree``, so
HEAD, the index and the working tree stay byte-for-byte as they were. Work that needs files on
disk (Django's makemigrations) happens in a temporary detached worktree that is removed (and
pruned) afterwards, also when it fails or the user presses Ctrl-C.

No git hook ever runs: hooks are the repository's code (a post-checkout hook of git-lfs, a
reference-transaction hook, ...), and ``worktree add``, ``update-ref``, ``read-tree`` and
``push`` all trigger some. Every git process tenantfix starts, through GitPython here or as a
subprocess in :mod:`tenantfix.bot`, gets :data:`NO_HOOKS`.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tenantfix.errors import ExitCode, TenantfixError

if TYPE_CHECKING:
    import git

BOT_NAME = "tenantfix[bot]"
BOT_EMAIL = "tenantfix[bot]@users.noreply.github.com"
_ZERO = "0" * 40


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


def check_branch_name(repo: git.Repo, branch: str) -> None:
    import git

    try:
        repo.git.check_ref_format("--branch", branch)
    except git.GitCommandError:
        raise TenantfixError(f"{branch!r} is not a valid branch name", ExitCode.USAGE) from None


def _file_mode(repo: git.Repo, base: str, path: str) -> str:
    out: str = repo.git.ls_tree(base, "--", path)
    return out.split(" ", 1)[0] if out else "100644"


def commit_changes(
    repo_root: Path,
    *,
    base: str,
    branch: str,
    changes: Mapping[str, bytes | None],
    message: str,
    author: Identity | None = None,
    committer: Identity | None = None,
    force: bool = False,
) -> str:
    """Commit ``changes`` (repo-relative path -> bytes, None deletes) on top of ``base``.

    Creates ``refs/heads/<branch>`` pointing at the new commit; an existing branch is refused
    unless ``force`` (never the branch that is checked out). Returns the commit sha.
    """
    repo = repo_at(repo_root)
    check_branch_name(repo, branch)
    base_sha: str = repo.rev_parse(base).hexsha
    exists = branch_exists(repo, branch)
    if exists and not force:
        raise TenantfixError(
            f"branch {branch!r} already exists. Delete it (`git branch -D {branch}`), choose "
            "another name with --branch, or pass --force-branch to replace it.",
            ExitCode.REFUSED,
        )
    if exists and not repo.head.is_detached and repo.active_branch.name == branch:
        raise TenantfixError(
            f"branch {branch!r} is checked out; switch to another branch first", ExitCode.REFUSED
        )
    author = author or BOT
    committer = committer or BOT
    tree = build_tree(repo_root, base_sha, changes)
    with tempfile.TemporaryDirectory(prefix="tenantfix-commit-") as tmp:
        message_file = Path(tmp) / "message"
        message_file.write_text(message, encoding="utf-8")
        commit_env = {
            **os.environ,
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_COMMITTER_NAME": committer.name,
            "GIT_COMMITTER_EMAIL": committer.email,
        }
        sha: str = repo.git.commit_tree(
            tree, "-p", base_sha, "-F", str(message_file), env=commit_env
        )
    old = repo.rev_parse(f"refs/heads/{branch}").hexsha if exists else _ZERO
    # The old value makes update-ref atomic: a branch created meanwhile is not clobbered.
    repo.git.update_ref(f"refs/heads/{branch}", sha, old, "-m", "tenantfix: fix branch")
    return sha


def build_tree(repo_root: Path, base: str, changes: Mapping[str, bytes | None]) -> str:
    """The tree id of ``base`` with ``changes`` applied (objects written, no ref moved)."""
    import git
    from gitdb import IStream

    repo = repo_at(repo_root)
    base_sha: str = repo.rev_parse(base).hexsha
    with tempfile.TemporaryDirectory(prefix="tenantfix-index-") as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        repo.git.read_tree(base_sha, env=env)
        for path, data in sorted(changes.items()):
            if data is None:
                repo.git.update_index("--force-remove", "--", path, env=env)
                continue
            blob = repo.odb.store(
                IStream(git.Blob.type, len(data), io.BytesIO(data))
            ).hexsha.decode()
            mode = _file_mode(repo, base_sha, path)
            repo.git.update_index("--add", "--cacheinfo", f"{mode},{blob},{path}", env=env)
        tree: str = repo.git.write_tree(env=env)
    return tree


def holds_exactly(
    repo_root: Path, base: str, rev: str, changes: Mapping[str, bytes | None]
) -> bool:
    """Whether ``rev`` differs from ``base`` by exactly ``changes`` (same paths, same bytes).

    Reads only: the blob ids are computed here rather than written into the object store, so
    a rerun that finds the branch up to date (or stale) leaves ``.git`` as it was.
    """
    out: str = repo_at(repo_root).git.diff_tree("-r", "--no-renames", "-z", base, rev)
    fields = out.split("\0")
    differs: dict[str, str | None] = {}
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        if not meta.startswith(":"):
            continue
        _, _, _, new, status = meta[1:].split(" ")
        differs[path] = None if status == "D" else new
    if set(differs) != set(changes):
        return False
    for path, data in changes.items():
        blob = differs[path]
        if data is None or blob is None:
            if (data is None) != (blob is None):  # deleted on one side only
                return False
        elif blob != _blob_id(data, len(blob)) and not _same_but_generated_header(
            repo_root, blob, data
        ):
            return False
    return True


_GENERATED_HEADER = re.compile(rb"\A# Generated by Django [\w.]+ on [\d-]+ [\d:]+\n")


def _same_but_generated_header(repo_root: Path, blob: str, data: bytes) -> bool:
    """A migration makemigrations wrote again differs only in its "Generated by Django ...
    on <date time>" line: that is the same fix (a weekly rerun must say "up to date")."""
    if not _GENERATED_HEADER.match(data):
        return False
    stored = repo_at(repo_root).git.cat_file(
        "blob", blob, stdout_as_string=False, strip_newline_in_stdout=False
    )
    assert isinstance(stored, bytes)
    return _GENERATED_HEADER.sub(b"", stored, count=1) == _GENERATED_HEADER.sub(b"", data, count=1)


def _blob_id(data: bytes, length: int) -> str:
    """git's object id of a blob (SHA-1, or SHA-256 in a repository that uses it)."""
    import hashlib

    algorithm = hashlib.sha256 if length == 64 else hashlib.sha1
    return algorithm(b"blob %d\0" % len(data) + data).hexdigest()


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
                f"could not check out {ref!r} into a temporary worktree: {exc.stderr.strip()}",
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
