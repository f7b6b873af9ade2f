"""Virtualenvs with tenantfix's core dependencies only, isolated from the test environment.

Built once per input (the dependency lists, the Python, this checkout) under the temp dir and
reused (``$TMPDIR/tenantfix-<slug>-<hash>``, marked complete only when pip succeeded, built under
a file lock). Their ``sys.path`` must not reach the test venv's site-packages: no ``.pth`` file
points there and ``include-system-site-packages`` is false, which :func:`assert_isolated` checks.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import venv
from collections.abc import Sequence
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def core_dependencies() -> list[str]:
    return list(PYPROJECT["project"]["dependencies"])


def extra(name: str) -> list[str]:
    return list(PYPROJECT["project"]["optional-dependencies"][name])


def bin_path(env: Path, name: str) -> Path:
    return env / ("Scripts" if os.name == "nt" else "bin") / name


def clean_env(**extra_vars: str) -> dict[str, str]:
    """os.environ without what would point a child at the test venv."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
    env["NO_COLOR"] = "1"
    env.update(extra_vars)
    return env


def cached_venv(
    slug: str, requirements: Sequence[str], *, editable: bool, key_parts: Sequence[str] = ()
) -> Path:
    """A venv with ``requirements`` (and tenantfix from this checkout when ``editable``)."""
    key = hashlib.sha256(
        json.dumps([list(requirements), sys.version, str(REPO), editable, *key_parts]).encode()
    ).hexdigest()[:12]
    root = Path(tempfile.gettempdir())
    target = root / f"tenantfix-{slug}-{key}"
    done = target / ".complete"
    with open(root / f"tenantfix-{slug}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            # built in place: scripts and pyvenv.cfg hold the venv's absolute path
            shutil.rmtree(target, ignore_errors=True)
            venv.EnvBuilder(with_pip=True, symlinks=os.name != "nt").create(target)
            pip = [str(bin_path(target, "python")), "-m", "pip", "install", "--quiet"]
            pip += ["--disable-pip-version-check"]
            env = clean_env()
            subprocess.run([*pip, *requirements], check=True, timeout=900, env=env)
            if editable:
                subprocess.run(
                    [*pip, "--no-deps", "-e", str(REPO)], check=True, timeout=900, env=env
                )
            done.write_text("")
    assert_isolated(target)
    return target


def assert_isolated(target: Path) -> None:
    probe = subprocess.run(
        [str(bin_path(target, "python")), "-c", "import sys; print(sys.path)"],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(),
    )
    ours = sysconfig.get_paths()["purelib"]
    assert ours not in probe.stdout, f"{target} sees the test venv's packages: {probe.stdout}"


def importable(target: Path, module: str) -> bool:
    proc = subprocess.run(
        [str(bin_path(target, "python")), "-c", f"import {module}"],
        capture_output=True,
        env=clean_env(),
    )
    return proc.returncode == 0
