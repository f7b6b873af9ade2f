"""Fixture projects with ``tenantfix.django`` installed, and ``manage.py`` run on them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support_git import FIXTURES, copy_project, git, init_repo

from tenantfix.discover import discover

APP = "tenantfix.django"


def fixture_source(name: str) -> Path:
    """``before/`` of a rule fixture, or the project directory itself."""
    base = FIXTURES / name
    return base / "before" if (base / "before").is_dir() else base


def copy_fixture(name: str, dest: Path) -> Path:
    return copy_project(fixture_source(name), dest / name)


def settings_file(root: Path) -> Path:
    return discover(root).settings_path


def install_in_shared_apps(root: Path) -> None:
    """The documented line, first form: right after django_tenants in SHARED_APPS."""
    path = settings_file(root)
    text = path.read_text()
    for quote in ("'", '"'):
        entry = f"{quote}django_tenants{quote},\n"
        if entry in text:
            indent = text[: text.index(entry)].rpartition("\n")[2]
            path.write_text(text.replace(entry, f"{entry}{indent}{quote}{APP}{quote},\n", 1))
            return
    raise AssertionError(f"no django_tenants entry in {path}")


def install_in_installed_apps(root: Path) -> None:
    """The documented line, second form: INSTALLED_APPS only (in neither tenant list)."""
    path = settings_file(root)
    path.write_text(
        path.read_text() + f'\nINSTALLED_APPS = [*INSTALLED_APPS, "{APP}"]  # tenantfix checks\n'
    )


def manage(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=root,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="session")
def fixed_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixed write-up project (made once per session; copy it before changing it)."""
    return fixed_writeup(tmp_path_factory.mktemp("fixed"))


def fixed_writeup(dest: Path) -> Path:
    """The write-up project after ``tenantfix apply`` (its fix branch checked out)."""
    from typer.testing import CliRunner

    from tenantfix.cli import app

    repo = init_repo(copy_project(FIXTURES / "writeup_project", dest / "portal"))
    applied = CliRunner().invoke(app, ["apply", str(repo)])
    assert applied.exit_code == 0, applied.output
    git(repo, "switch", "-q", "tenantfix/shared-user-app")
    return repo
