"""The one git layer: GitPython, with no hook ever run and the user's checkout left alone.

Every git process tenantfix starts goes through :func:`repo_at` (GitPython's ``repo.git``),
which adds :data:`NO_HOOKS`; nothing else in the package runs git. Hooks are the repository's
code (a post-checkout hook of git-lfs, a reference-transaction hook, ...), and
``worktree add``, ``update-ref``, ``read-tree`` and ``push`` all trigger some.

- :mod:`~tenantfix.vcs.repository`: opening a repository, reading its state, scrubbed errors;
- :mod:`~tenantfix.vcs.commit`: commits built with a temporary index and ``commit-tree``, so
  HEAD, the index and the working tree stay byte-for-byte as they were;
- :mod:`~tenantfix.vcs.worktree`: a temporary detached checkout, removed (and pruned)
  afterwards, also on failure or Ctrl-C;
- :mod:`~tenantfix.vcs.remote`: ls-remote, fetch and push with the forge token in the
  environment of those git processes only, scrubbed errors, and a Ctrl-C that stops the child.
"""

from __future__ import annotations

from tenantfix.vcs.commit import build_tree, commit_changes, holds_exactly
from tenantfix.vcs.remote import Remote, RemoteError, auth_env, remote_url
from tenantfix.vcs.repository import (
    BOT,
    BOT_EMAIL,
    BOT_NAME,
    NO_HOOKS,
    Identity,
    branch_exists,
    check_branch_name,
    describe_failure,
    dirty_paths,
    error_text,
    has_commits,
    open_repo,
    ref_sha,
    repo_at,
    repo_root,
)
from tenantfix.vcs.worktree import temporary_worktree

__all__ = [
    "BOT",
    "BOT_EMAIL",
    "BOT_NAME",
    "NO_HOOKS",
    "Identity",
    "Remote",
    "RemoteError",
    "auth_env",
    "branch_exists",
    "build_tree",
    "check_branch_name",
    "commit_changes",
    "describe_failure",
    "dirty_paths",
    "error_text",
    "has_commits",
    "holds_exactly",
    "open_repo",
    "ref_sha",
    "remote_url",
    "repo_at",
    "repo_root",
    "temporary_worktree",
]
