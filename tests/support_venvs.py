"""Real virtualenvs for other Pythons and Django versions, cached under the temp dir.

A venv is keyed by the exact Python version and its requirements
(``$TMPDIR/tenantfix-ci-venvs/<first requirement>-py<version>-<hash>``), built once under a file
lock and marked ready only when pip succeeded, so reruns reuse it and a broken build is redone.
Pythons come from pyenv (``$(pyenv root)/versions/X.Y.*``) or ``pythonX.Y`` on PATH.

What cannot be had (no such Python, pip failed) skips the test on a developer machine and fails
it under CI=true: CI must never pass by skipping.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV_ROOT = Path(
    os.environ.get("TENANTFIX_CI_VENVS") or Path(tempfile.gettempdir()) / "tenantfix-ci-venvs"
)
READY = ".tenantfix-ready"
WHEEL_DEPS = "tenantfix-deps"  # the venvs the built wheel is installed into


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(message: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"required under CI=true: {message}")
    pytest.skip(message)


def _pyenv_root() -> Path | None:
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    exe = shutil.which("pyenv")
    if exe:
        out = subprocess.run([exe, "root"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    default = Path.home() / ".pyenv"
    return default if default.is_dir() else None


@cache
def find_python(version: str) -> Path:
    """The newest installed CPython ``version`` (``"3.8"``): pyenv's, else ``python3.8``."""
    root = _pyenv_root()
    if root is not None and (root / "versions").is_dir():
        found = [
            p
            for p in (root / "versions").iterdir()
            if re.fullmatch(re.escape(version) + r"\.\d+", p.name) and (p / "bin/python").exists()
        ]
        if found:
            newest = max(found, key=lambda p: tuple(int(x) for x in p.name.split(".")))
            return newest / "bin" / "python"
    on_path = shutil.which(f"python{version}")
    if on_path:
        return Path(on_path)
    unavailable(f"no Python {version} (looked in $(pyenv root)/versions and on PATH)")


def _exact_version(python: Path) -> str:
    out = subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


@contextmanager
def _locked(name: str) -> Iterator[None]:
    VENV_ROOT.mkdir(parents=True, exist_ok=True)
    with open(VENV_ROOT / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _pip(venv: Path, *args: str) -> None:
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0:
        unavailable(
            f"pip {' '.join(args)} failed in {venv}:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}"
        )


def _venv(python_version: str, requirements: Sequence[str], slug: str) -> Path:
    """A ready venv of ``python_version`` with ``requirements`` installed (cached)."""
    python = find_python(python_version)
    exact = _exact_version(python)
    key = hashlib.sha256("\n".join([exact, *requirements]).encode()).hexdigest()[:10]
    name = f"{re.sub(r'[^A-Za-z0-9.]+', '-', slug).strip('-.')}-py{exact}-{key}"
    path = VENV_ROOT / name
    with _locked(name):
        if (path / READY).exists():
            return path
        shutil.rmtree(path, ignore_errors=True)
        made = subprocess.run(
            [str(python), "-m", "venv", str(path)], capture_output=True, text=True
        )
        if made.returncode != 0:
            unavailable(f"{python} -m venv {path} failed: {made.stderr[-2000:]}")
        _pip(path, "install", "--quiet", *requirements)
        freeze = subprocess.run(
            [str(path / "bin" / "python"), "-m", "pip", "freeze"], capture_output=True, text=True
        )
        (path / READY).write_text(freeze.stdout)
    return path


def prebuild(
    projects: Sequence[tuple[str, Sequence[str]]], smoke_pythons: Sequence[str] = ()
) -> None:
    """Build the missing venvs side by side (pip mostly waits on the network and the disk).

    Errors are left for the tests: each asks for its venv again and fails or skips there with
    pip's message (a venv whose build failed is not marked ready, so it is rebuilt then).
    """
    from concurrent.futures import ThreadPoolExecutor

    jobs = [(python, list(reqs), reqs[0]) for python, reqs in projects]
    jobs += [(python, dependencies(), WHEEL_DEPS) for python in smoke_pythons]

    def build(job: tuple[str, list[str], str]) -> None:
        with contextlib.suppress(BaseException):  # pytest's skip/fail outcomes included
            _venv(*job)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(build, jobs))


@dataclass(frozen=True)
class ProjectVenv:
    """A project's interpreter: a venv with Django (and the project's apps) installed."""

    path: Path
    django_version: str

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"


def project_venv(python_version: str, requirements: Sequence[str]) -> ProjectVenv:
    path = _venv(python_version, requirements, requirements[0])
    out = subprocess.run(
        [str(path / "bin" / "python"), "-c", "import django; print(django.get_version())"],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        unavailable(f"Django does not import in {path}: {out.stderr[-2000:]}")
    return ProjectVenv(path=path, django_version=out.stdout.strip())


@cache
def build_wheel() -> Path:
    """tenantfix's wheel, built from this checkout with the suite's hatchling (no network)."""
    out = Path(tempfile.mkdtemp(prefix="tenantfix-wheel-"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "-w",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    wheels = sorted(out.glob("tenantfix-*.whl"))
    if proc.returncode != 0 or not wheels:
        pytest.fail(f"building the wheel failed:\n{proc.stdout}{proc.stderr}")
    return wheels[0]


def dependencies() -> list[str]:
    import tomllib

    return list(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])


def wheel_venv(python_version: str, wheel: Path) -> Path:
    """A venv of ``python_version`` with tenantfix's dependencies (cached) and this ``wheel``."""
    path = _venv(python_version, dependencies(), WHEEL_DEPS)
    # the wheel itself is reinstalled every time: it is this checkout's code
    _pip(path, "install", "--quiet", "--no-deps", "--force-reinstall", str(wheel))
    _pip(path, "check")  # its dependencies are all there, at versions it accepts
    return path
