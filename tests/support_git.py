"""Real git repositories in temp dirs, made from fixture projects."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Dev Eloper",
    "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_NAME": "Dev Eloper",
    "GIT_COMMITTER_EMAIL": "dev@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.parent)}
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    ).stdout


def copy_project(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def init_repo(path: Path) -> Path:
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Dev Eloper")
    git(path, "config", "user.email", "dev@example.com")
    (path / ".gitignore").write_text("__pycache__/\n*.pyc\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def snapshot(repo: Path) -> dict[str, str]:
    """Everything a user could notice: HEAD, branch, refs, the index bytes, every file's bytes."""
    state = {
        "HEAD": (repo / ".git" / "HEAD").read_text(),
        "refs": git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
        "index": hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest(),
    }
    for path in sorted(repo.rglob("*")):
        if ".git" in path.relative_to(repo).parts or not path.is_file():
            continue
        state[path.relative_to(repo).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


@pytest.fixture
def writeup_repo(tmp_path: Path) -> Path:
    """The write-up project, committed on main in a fresh repository."""
    return init_repo(copy_project(FIXTURES / "writeup_project", tmp_path / "portal"))
