"""The README's install block, run as written in a fresh clone.

Each line of the ``console`` block under "## Install" runs in its own shell, in order, with
``pipx``, ``uvx`` and ``python`` taken from PATH exactly as a reader's shell would: pipx and uv
from this test environment, ``python`` from a new virtualenv that stands for "the active
virtualenv". The clone line clones a repository made from this checkout's files (committed and
not) instead of the hosted address, which is the only substitution. After each install the
installed ``tenantfix`` must find TF001 on the write-up project, and the core-only install must
not have pulled in an extra.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from support_core_venv import clean_env
from support_git import git
from support_venvs import unavailable

ROOT = Path(__file__).resolve().parents[1]
WRITEUP_REL = "tests/fixtures/writeup_project"


def _install_block() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Install\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```console\n(.*?)```", section, re.S)
    assert block, "README's Install section has no console block"
    lines = []
    for raw in block.group(1).splitlines():
        command = raw.split("  #", 1)[0].strip()
        if command:
            lines.append(command)
    return lines


def _source_repo(tmp_path: Path) -> Path:
    """A git repository holding this checkout's files as they are now (a clone of it is what a
    reader's clone of the hosted repository would hold)."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    src = tmp_path / "hosted" / "tenantfix"
    for rel in files:
        path = ROOT / rel
        if path.is_file():
            dest = src / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
    git(src, "init", "--quiet", "--initial-branch", "main")
    git(src, "add", "--all")
    git(src, "commit", "--quiet", "-m", "tenantfix as hosted")
    return src


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        unavailable(f"{name} is not installed (it is in tenantfix's [test] extra)")
    return found


def _run(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def _finds_tf001(exe: Path | str, clone: Path, env: dict[str, str]) -> None:
    result = subprocess.run(
        [str(exe), "check", "--format", "json", WRITEUP_REL],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert '"TF001"' in result.stdout


def test_the_readme_install_block_works_as_written_in_a_fresh_clone(tmp_path: Path) -> None:
    lines = _install_block()
    assert lines[0].startswith("git clone ") and lines[0].endswith("&& cd tenantfix")
    hosted = _source_repo(tmp_path)

    bin_dir = tmp_path / "bin"  # pipx, uvx and the reader's virtualenv come first on PATH
    bin_dir.mkdir()
    for name in ("pipx", "uvx", "uv"):
        (bin_dir / name).symlink_to(_tool(name))
    active = tmp_path / "active-venv"
    venv.EnvBuilder(with_pip=True, symlinks=True).create(active)
    env = clean_env(
        PATH=os.pathsep.join([str(bin_dir), str(active / "bin"), os.environ.get("PATH", "")]),
        VIRTUAL_ENV=str(active),
        HOME=str(tmp_path / "home"),
        PIPX_HOME=str(tmp_path / "pipx"),
        PIPX_BIN_DIR=str(tmp_path / "pipx-bin"),
        PIPX_MAN_DIR=str(tmp_path / "pipx-man"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        # the downloads are shared with the rest of the suite; what is installed is not
        PIP_CACHE_DIR=str(Path.home() / ".cache" / "pip"),
        UV_CACHE_DIR=str(Path.home() / ".cache" / "uv"),
        UV_PYTHON=sys.executable,
        UV_PYTHON_DOWNLOADS="never",
        PIPX_DEFAULT_PYTHON=sys.executable,
    )

    workdir = tmp_path / "reader"
    workdir.mkdir()
    clone_line = re.sub(r"git clone \S+", f"git clone --quiet {hosted}", lines[0])
    result = _run(clone_line, workdir, env)
    assert result.returncode == 0, result.stderr
    clone = workdir / "tenantfix"
    assert (clone / "pyproject.toml").is_file()

    pipx_tenantfix = tmp_path / "pipx-bin" / "tenantfix"
    for command in lines[1:]:
        result = _run(command, clone, env)
        if command.startswith("uvx "):
            # the line itself is a check of the write-up project: TF001 is an error, exit 1
            assert result.returncode == 1, f"{command}\n{result.stdout}\n{result.stderr}"
            assert "TF001" in result.stdout
            continue
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        if command.startswith("pipx install"):
            _finds_tf001(pipx_tenantfix, clone, env)
            pipx_python = tmp_path / "pipx" / "venvs" / "tenantfix" / "bin" / "python"
            has_psycopg = (
                subprocess.run(
                    [str(pipx_python), "-c", "import psycopg"], capture_output=True
                ).returncode
                == 0
            )
            assert has_psycopg == ("[all]" in command), command
        elif command.startswith("python -m pip install"):
            _finds_tf001(active / "bin" / "tenantfix", clone, env)
        else:
            pytest.fail(f"a README install line this test does not know how to judge: {command}")
