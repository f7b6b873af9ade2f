"""A missing or unusable --python is a usage error (exit 2) naming the path, before any work.

Each case runs the real CLI process on a real git repository and compares a full snapshot
(HEAD, refs, index, working tree, .git/config, .git/worktrees, the temp dir) before and after.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support_git import FIXTURES, copy_project, init_repo
from support_snapshot import assert_clean_failure, full_snapshot, tenantfix

BAD_DB = "postgresql://nobody:secret@127.0.0.1:1/nowhere"


@pytest.fixture(scope="module")
def no_django_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real virtualenv without Django (what `python -m venv` gives before pip install)."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    return str(venv / "bin" / "python")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(copy_project(FIXTURES / "writeup_project", tmp_path / "portal"))


def _bad(kind: str, tmp_path: Path, no_django: str) -> tuple[str, str]:
    """(the --python value, what the message must say about it)."""
    if kind == "missing":
        return str(tmp_path / "no" / "such" / "python"), "no such file"
    if kind == "not_executable":
        path = tmp_path / "python"
        path.write_text("#!/bin/sh\n")
        path.chmod(0o644)
        return str(path), "not executable (-rw-r--r--)"
    if kind == "directory":
        return str(Path(no_django).parent.parent), f"did you mean --python {no_django}?"
    if kind == "not_python":
        path = tmp_path / "python"
        path.write_text("#!/bin/sh\necho 'this is a shell script'\n")
        path.chmod(0o755)
        return str(path), "not a Python 3 interpreter (it printed: this is a shell script)"
    assert kind == "no_django"
    return no_django, "cannot import Django (ModuleNotFoundError: No module named 'django')"


COMMANDS = {
    "check --probe": ["check", "--probe"],  # plain check: test_check_never_falls_back...
    "apply": ["apply"],
    "apply --dry-run": ["apply", "--dry-run"],
    "verify": ["verify"],
    "verify --database-url": ["verify", "--database-url", BAD_DB],
    "repair-db": ["repair-db", "--database-url", BAD_DB],
}


ALL_KINDS = ["missing", "not_executable", "directory", "not_python", "no_django"]
# every command with the two common mistakes; every kind with apply and verify (shared checks)
CASES = sorted(
    {(c, k) for c in COMMANDS for k in ("missing", "no_django")}
    | {(c, k) for c in ("apply", "verify") for k in ALL_KINDS}
)


@pytest.mark.parametrize(("command", "kind"), CASES)
def test_unusable_python_is_a_usage_error_before_any_work(
    command: str, kind: str, repo: Path, tmp_path: Path, no_django_python: str
) -> None:
    python, says = _bad(kind, tmp_path, no_django_python)
    tmp = tmp_path / "tmp"
    before = full_snapshot(repo, tmp)
    ran = tenantfix(*COMMANDS[command], str(repo), "--python", python, cwd=repo, tmpdir=tmp)
    assert_clean_failure(ran, 2)
    assert f"tenantfix: error: --python {python}: " in ran.stderr
    assert says in ran.stderr
    # nothing ran: no PostgreSQL, no worktree, no database connection attempted
    assert "PostgreSQL" not in ran.output and "connect" not in ran.output
    assert full_snapshot(repo, tmp) == before


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_check_never_falls_back_to_its_own_interpreter(
    kind: str, repo: Path, tmp_path: Path, no_django_python: str
) -> None:
    python, says = _bad(kind, tmp_path, no_django_python)
    tmp = tmp_path / "tmp"
    before = full_snapshot(repo, tmp)
    ran = tenantfix("check", str(repo), "--python", python, cwd=repo, tmpdir=tmp)
    assert_clean_failure(ran, 2)
    assert f"tenantfix: error: --python {python}: " in ran.stderr
    assert says in ran.stderr
    assert ran.stdout == ""  # no findings computed with some other environment
    assert full_snapshot(repo, tmp) == before


def test_relative_python_is_resolved_against_the_current_directory(
    repo: Path, tmp_path: Path, no_django_python: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    tmp = tmp_path / "tmp"
    # a relative path to a good interpreter works although makemigrations runs in the project
    good = os.path.relpath(sys.executable, elsewhere)
    before = full_snapshot(repo, tmp)
    ran = tenantfix("apply", "--dry-run", str(repo), "--python", good, cwd=elsewhere, tmpdir=tmp)
    assert ran.code == 1, ran.output
    assert "+++ b/audit/migrations/0001_initial.py" in ran.stdout
    assert full_snapshot(repo, tmp) == before
    # a relative path to a bad one is named as the absolute path it was resolved to
    bad = os.path.relpath(no_django_python, elsewhere)
    ran = tenantfix("apply", str(repo), "--python", bad, cwd=elsewhere, tmpdir=tmp)
    assert_clean_failure(ran, 2)
    assert f"--python {no_django_python}: Python " in ran.stderr
    assert full_snapshot(repo, tmp) == before


def test_python_from_pyproject_is_named_with_its_file(repo: Path, tmp_path: Path) -> None:
    (repo / "pyproject.toml").write_text('[tool.tenantfix]\npython = "venv/bin/python"\n')
    subprocess.run(["git", "add", "pyproject.toml"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "config"], cwd=repo, check=True)
    tmp = tmp_path / "tmp"
    before = full_snapshot(repo, tmp)
    ran = tenantfix("apply", str(repo), cwd=tmp_path, tmpdir=tmp)
    assert_clean_failure(ran, 2)
    expected = (
        f"`python` in {repo / 'pyproject.toml'} {repo / 'venv' / 'bin' / 'python'}: no such file"
    )
    assert expected in ran.stderr
    assert full_snapshot(repo, tmp) == before


def test_locating_apps_never_falls_back_to_tenantfix_s_own_sys_path(tmp_path: Path) -> None:
    from tenantfix.errors import ExitCode, TenantfixError
    from tenantfix.graph.locate import interpreter_sys_path

    script = tmp_path / "python"
    script.write_text("#!/bin/sh\necho 'Traceback: boom' >&2\nexit 1\n")
    script.chmod(0o755)
    for python in (str(tmp_path / "missing"), str(script)):
        with pytest.raises(TenantfixError) as caught:
            interpreter_sys_path(python)
        assert caught.value.exit_code == ExitCode.USAGE
        assert caught.value.message.startswith(f"--python {python}: cannot read its sys.path (")
