"""No Python traceback from a subprocess running project code reaches the user.

makemigrations (apply), the probe (check --probe) and verify's manage.py commands fail on a
project whose models raise at import: the user gets the exception line and the project line it
points at; -v/--verbose shows the full output. Real git repositories, real processes, a full
snapshot before and after.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support_git import FIXTURES, copy_project, init_repo
from support_snapshot import assert_clean_failure, full_snapshot, tenantfix

BROKEN = 'RETENTION_DAYS = int("ninety")  # a typo in the project, not in Django\n'
EXCEPTION = "ValueError: invalid literal for int() with base 10: 'ninety'"


@pytest.fixture
def broken_repo(tmp_path: Path) -> Path:
    project = copy_project(FIXTURES / "writeup_project", tmp_path / "portal")
    models = project / "audit" / "models.py"
    models.write_text(models.read_text() + "\n" + BROKEN)
    return init_repo(project)


def _where(repo: Path) -> str:
    lines = (repo / "audit" / "models.py").read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line.startswith("RETENTION_DAYS"))
    return f"at audit/models.py:{number}: {BROKEN.split('  #')[0]}"


@pytest.mark.parametrize("mode", [[], ["--dry-run"], ["--no-commit"]])
def test_apply_names_the_exception_and_the_project_line(
    mode: list[str], broken_repo: Path, tmp_path: Path
) -> None:
    tmp = tmp_path / "tmp"
    before = full_snapshot(broken_repo, tmp)
    ran = tenantfix("apply", *mode, str(broken_repo), cwd=broken_repo, tmpdir=tmp)
    assert_clean_failure(ran, 3)
    assert "tenantfix: error: Django's makemigrations audit failed in " in ran.stderr
    assert EXCEPTION in ran.stderr
    assert _where(broken_repo) in ran.stderr
    assert "(its full output is shown with -v/--verbose)" in ran.stderr
    assert full_snapshot(broken_repo, tmp) == before


def test_apply_verbose_shows_the_full_traceback(broken_repo: Path, tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    before = full_snapshot(broken_repo, tmp)
    ran = tenantfix("apply", "-v", str(broken_repo), cwd=broken_repo, tmpdir=tmp)
    assert ran.code == 3, ran.output
    assert "Traceback (most recent call last)" in ran.stderr
    assert 'audit/models.py", line' in ran.stderr
    assert full_snapshot(broken_repo, tmp) == before


def test_check_probe_says_why_it_fell_back(broken_repo: Path, tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    before = full_snapshot(broken_repo, tmp)
    ran = tenantfix("check", "--probe", str(broken_repo), cwd=broken_repo, tmpdir=tmp)
    assert ran.code == 1, ran.output  # the static findings still come
    assert "Traceback" not in ran.output and 'File "' not in ran.output
    assert "--probe: Django could not load the project, so the static reading was used" in (
        ran.stderr
    )
    assert EXCEPTION in ran.stderr and _where(broken_repo) in ran.stderr
    assert full_snapshot(broken_repo, tmp) == before


def test_verify_reports_the_project_line(broken_repo: Path, tmp_path: Path, pg_server) -> None:
    tmp = tmp_path / "tmp"
    before = full_snapshot(broken_repo, tmp)
    ran = tenantfix(
        "verify", str(broken_repo), "--database-url", pg_server.url, cwd=broken_repo, tmpdir=tmp
    )
    assert_clean_failure(ran, 4)
    assert f"error:     {EXCEPTION}" in ran.stdout
    assert "at:        audit/models.py:" in ran.stdout
    assert "(the full output is shown with -v/--verbose)" in ran.stdout
    assert full_snapshot(broken_repo, tmp) == before
    verbose = tenantfix(
        "verify",
        "-v",
        str(broken_repo),
        "--database-url",
        pg_server.url,
        cwd=broken_repo,
        tmpdir=tmp,
    )
    assert verbose.code == 4
    assert "Traceback (most recent call last)" in verbose.stdout


def test_a_package_missing_from_the_interpreter_points_at_python(tmp_path: Path) -> None:
    project = copy_project(FIXTURES / "writeup_project", tmp_path / "portal")
    models = project / "audit" / "models.py"
    models.write_text(
        "import tenantfix_not_installed_anywhere  # noqa: F401\n" + models.read_text()
    )
    repo = init_repo(project)
    tmp = tmp_path / "tmp"
    before = full_snapshot(repo, tmp)
    ran = tenantfix("apply", "--dry-run", str(repo), cwd=repo, tmpdir=tmp)
    assert_clean_failure(ran, 3)
    assert "ModuleNotFoundError: No module named 'tenantfix_not_installed_anywhere'" in ran.stderr
    assert "at audit/models.py:1: import tenantfix_not_installed_anywhere" in ran.stderr
    assert "pass --python with the project's interpreter" in ran.stderr
    assert full_snapshot(repo, tmp) == before
