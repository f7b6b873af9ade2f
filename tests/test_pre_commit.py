"""The pre-commit hook, run with the real pre-commit as a user's commit runs it.

pre-commit builds the hook's environment itself (`pip install .` of this repository: tenantfix's
core dependencies from PyPI, no Django, no psycopg, no forge clients). `try-repo` builds it in a
temporary store on every call (about 25 s here), so it runs once; the other tests use a
`.pre-commit-config.yaml` naming the hook repository at a fixed commit, whose environment
pre-commit caches under ``$TMPDIR/tenantfix-pre-commit/home``. The hook repository is a copy of
what the build reads (pyproject.toml, README.md, src/, codemods/, .pre-commit-hooks.yaml)
committed with fixed dates, so its commit hash changes only when those files do.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from support_core_venv import clean_env
from support_git import git

ROOT = Path(__file__).resolve().parents[1]
WRITEUP = ROOT / "tests" / "fixtures" / "writeup_project"
BUILD_INPUTS = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "src", "codemods")
CACHE = Path(tempfile.gettempdir()) / "tenantfix-pre-commit"
FIXED_DATE = "2025-01-01T00:00:00+00:00"


def _files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "--", *BUILD_INPUTS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(ROOT / p for p in out if (ROOT / p).is_file())


@pytest.fixture(scope="module")
def hook_repo() -> tuple[Path, str]:
    digest = hashlib.sha256()
    files = _files()
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    repo = CACHE / f"repo-{digest.hexdigest()[:12]}"
    if not (repo / ".git").is_dir():
        tmp = Path(tempfile.mkdtemp(dir=CACHE.mkdir(parents=True, exist_ok=True) or CACHE))
        for path in files:
            dest = tmp / path.relative_to(ROOT)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
        git(tmp, "init", "--quiet", "--initial-branch", "main")
        git(tmp, "add", "--all")
        git(tmp, "commit", "--quiet", "-m", "tenantfix hook source")
        shutil.rmtree(repo, ignore_errors=True)
        os.replace(tmp, repo)
    tree = git(repo, "rev-parse", "HEAD^{tree}").strip()
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_AUTHOR_DATE": FIXED_DATE,
        "GIT_COMMITTER_DATE": FIXED_DATE,
    }
    # the same tree gives the same commit, so pre-commit's environment for it is reused
    commit = subprocess.run(
        ["git", "commit-tree", tree, "-m", "tenantfix hook source"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return repo, commit


def try_repo(
    hook_repo: tuple[Path, str], cwd: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    repo, commit = hook_repo
    pre_commit = Path(sys.executable).parent / "pre-commit"
    return subprocess.run(
        [str(pre_commit), "try-repo", str(repo), "tenantfix-check", "--ref", commit, *args],
        cwd=cwd,
        env=clean_env(PRE_COMMIT_HOME=str(CACHE / "home"), PRE_COMMIT_COLOR="never"),
        capture_output=True,
        text=True,
        timeout=900,
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


def run_configured(
    hook_repo: tuple[Path, str], cwd: Path, *args: str, hook_args: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`pre-commit run` with the hook configured as the README shows."""
    repo, commit = hook_repo
    hook: dict[str, object] = {"id": "tenantfix-check"}
    if hook_args:
        hook["args"] = hook_args
    config = {"repos": [{"repo": str(repo), "rev": commit, "hooks": [hook]}]}
    (cwd / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    pre_commit = Path(sys.executable).parent / "pre-commit"
    return subprocess.run(
        [str(pre_commit), "run", *args],
        cwd=cwd,
        env=clean_env(PRE_COMMIT_HOME=str(CACHE / "home"), PRE_COMMIT_COLOR="never"),
        capture_output=True,
        text=True,
        timeout=900,
    )


def hook_env_python(commit: str) -> Path:
    """The python of the environment pre-commit built for the hook at ``commit``."""
    import sqlite3

    with sqlite3.connect(CACHE / "home" / "db.db") as db:
        rows = db.execute("SELECT path FROM repos WHERE ref = ?", (commit,)).fetchall()
    found = [p for (path,) in rows for p in Path(path).glob("py_env-*/bin/python")]
    assert found, f"pre-commit built no environment for {commit}: {rows}"
    return found[0]


def test_try_repo_finds_tf001_in_the_hooks_own_environment(hook_repo, writeup_repo):
    proc = try_repo(hook_repo, writeup_repo, "--all-files")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "tenantfix check" in out and "Failed" in out
    assert "TF001" in out
    # read-only
    assert git(writeup_repo, "status", "--porcelain", "--untracked-files=all").strip() == ""


def test_hook_environment_holds_the_core_only(hook_repo, writeup_repo):
    proc = run_configured(hook_repo, writeup_repo, "--all-files")
    assert proc.returncode == 1 and "TF001" in proc.stdout, proc.stdout + proc.stderr
    python = hook_env_python(hook_repo[1])
    assert subprocess.run([str(python), "-c", "import tenantfix"]).returncode == 0
    for module in ("django", "psycopg", "github", "gitlab"):
        probe = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True)
        assert probe.returncode != 0, f"{module} is in the hook's environment"


def test_hook_runs_only_for_files_that_change_the_answer(hook_repo, writeup_repo):
    (writeup_repo / "README.md").write_text("docs\n")
    git(writeup_repo, "add", "README.md")
    proc = run_configured(hook_repo, writeup_repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no files to check" in proc.stdout and "Skipped" in proc.stdout
    git(writeup_repo, "commit", "--quiet", "-m", "docs")

    (writeup_repo / "pyproject.toml").write_text("[tool.tenantfix]\n")
    git(writeup_repo, "add", "pyproject.toml", ".pre-commit-config.yaml")
    proc = run_configured(hook_repo, writeup_repo)
    assert proc.returncode == 1 and "TF001" in proc.stdout, proc.stdout + proc.stderr


def test_precise_mode_reads_the_projects_interpreter(hook_repo, writeup_repo):
    """`args: [--python, .venv/bin/python]`: third-party apps are located there, not guessed."""
    plain = run_configured(hook_repo, writeup_repo, "--all-files", "--verbose")
    assert "could not locate" in plain.stdout + plain.stderr
    precise = run_configured(
        hook_repo, writeup_repo, "--all-files", "--verbose", hook_args=["--python", sys.executable]
    )
    out = precise.stdout + precise.stderr
    assert precise.returncode == 1 and "TF001" in out, out
    assert "could not locate" not in out


def test_hook_definition_matches_the_readme():
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["pass_filenames"] is False and hook["language"] == "python"
    assert "additional_dependencies" not in hook
    readme = (ROOT / "README.md").read_text()
    assert "args: [--python, .venv/bin/python]" in readme
