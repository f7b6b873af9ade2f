"""Fixtures for the bot tests: the fake forge server and git repositories with remotes."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeforge import FakeForge

REPO = "acme/portal"


@pytest.fixture
def forge_token() -> str:
    # a recognisable, unguessable value so "never appears in output" assertions mean something
    return f"tok_{secrets.token_hex(16)}"


@pytest.fixture
def fake_forge(tmp_path: Path, forge_token: str) -> Iterator[FakeForge]:
    git_root = tmp_path / "served"
    git_root.mkdir()
    forge = FakeForge(forge_token, git_root=git_root).start()
    forge.github.add_repo(REPO)
    forge.gitlab.add_project(REPO)
    try:
        yield forge
    finally:
        forge.stop()


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    import os

    full_env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
        **(env or {}),
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=full_env, check=True, capture_output=True, text=True
    ).stdout.strip()


def init_repo(path: Path, files: dict[str, str], *, branch: str = "main") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--initial-branch", branch)
    for name, text in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "initial")
    return path


def make_bare_remote(
    bare: Path, work: Path, *, name: str = "origin", url: str | None = None
) -> Path:
    """A bare repository holding ``work``'s main branch, added to ``work`` as a remote."""
    bare.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["git", "init", "--quiet", "--bare", "--initial-branch", "main", str(bare)], check=True
    )
    git(work, "remote", "add", name, url or str(bare))
    git(work, "push", "--quiet", str(bare), "main:main")
    return bare
