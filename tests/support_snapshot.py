"""Run the real CLI process on a real git repository and snapshot everything a user could notice.

``full_snapshot`` adds to :func:`support_git.snapshot` (HEAD, refs, index, working tree) the
repository's ``.git/config``, ``.git/worktrees`` and the temp dir the process was given, so a
test can assert that bad input left zero bytes changed and nothing behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from support_git import snapshot


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def tenantfix(*args: str, cwd: Path, tmpdir: Path, timeout: float = 300) -> Ran:
    """``python -m tenantfix ARGS`` as a separate process, with ``TMPDIR`` = ``tmpdir``."""
    tmpdir.mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmpdir), "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "tenantfix", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def full_snapshot(repo: Path, tmpdir: Path) -> dict[str, str]:
    state = snapshot(repo)
    state[".git/config"] = (repo / ".git" / "config").read_text()
    worktrees = repo / ".git" / "worktrees"
    state[".git/worktrees"] = (
        " ".join(sorted(p.name for p in worktrees.iterdir())) if worktrees.is_dir() else ""
    )
    tmpdir.mkdir(exist_ok=True)
    state["TMPDIR"] = " ".join(sorted(p.relative_to(tmpdir).as_posix() for p in tmpdir.rglob("*")))
    return state


def assert_clean_failure(ran: Ran, code: int) -> None:
    """The documented exit code, a ``tenantfix: error:`` line and no Python traceback."""
    assert ran.code == code, ran.output
    assert "Traceback (most recent call last)" not in ran.output, ran.output
    assert 'File "' not in ran.output, ran.output
