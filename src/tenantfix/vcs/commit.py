"""Commits made without touching the user's checkout.

A commit is built with a temporary index file (``GIT_INDEX_FILE``) and ``commit-tree``, so
HEAD, the index and the working tree stay byte-for-byte as they were; only the fix branch's
ref moves, atomically (``update-ref`` with the old value).
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from tenantfix.errors import ExitCode, TenantfixError
from tenantfix.vcs.repository import (
    BOT,
    Identity,
    branch_exists,
    check_branch_name,
    error_text,
    repo_at,
)

if TYPE_CHECKING:
    import git

_ZERO = "0" * 40


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
    import git

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
    try:
        repo.git.update_ref(f"refs/heads/{branch}", sha, old, "-m", "tenantfix: fix branch")
    except git.GitCommandError as exc:
        # e.g. a branch named 'tenantfix' blocks 'tenantfix/...' (refs are files and dirs)
        raise TenantfixError(
            f"cannot write branch {branch!r}: {error_text(exc)}. Choose another name with "
            "--branch; nothing was changed.",
            ExitCode.REFUSED,
        ) from None
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
