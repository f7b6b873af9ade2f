"""verify and repair-db run the project's own manage.py, as `python manage.py ...` does.

Real PostgreSQL, real Django, the write-up project fixed by a real `tenantfix apply`, with the
manage.py of tests/fixtures/manage_py_preamble__<variant>/overlay (plus the lines of its
settings_tail.py appended to the settings): a .env loaded by python-dotenv, a manage.py that
assigns DJANGO_SETTINGS_MODULE (the user's configured database must never be reached), an
apps/ folder put on sys.path, and django-configurations (refused, exit 2).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest
from support_dbstate import manage
from support_git import FIXTURES, copy_project, git, init_repo
from support_snapshot import assert_clean_failure, tenantfix
from typer.testing import CliRunner

from tenantfix.cli import app
from tenantfix.db.params import DatabaseParams
from tenantfix.djangorun import DjangoRunner

SETTINGS = "accreditation_portal.settings"
PASSED = "Verification passed."


@pytest.fixture(scope="module")
def fixed_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The write-up project after `tenantfix apply --no-commit` (TF001, TF005 fixed)."""
    project = copy_project(
        FIXTURES / "writeup_project", tmp_path_factory.mktemp("fixed") / "portal"
    )
    result = CliRunner().invoke(app, ["apply", "--no-commit", str(project)])
    assert result.exit_code == 0, result.output
    return project


def with_preamble(tree: Path, variant: str, dest: Path) -> Path:
    """``tree`` copied to ``dest`` with the variant's manage.py (and .env) and settings tail."""
    shutil.copytree(tree, dest, ignore=shutil.ignore_patterns("__pycache__"))
    source = FIXTURES / f"manage_py_preamble__{variant}"
    # overlay/ (not the fixture's top level: it is not a whole project on its own)
    for path in (source / "overlay").iterdir():
        shutil.copy2(path, dest / path.name)
    tail = source / "settings_tail.py"
    if tail.is_file():
        settings = dest / "accreditation_portal" / "settings.py"
        settings.write_text(settings.read_text() + tail.read_text())
    return dest


def verify(project: Path, tmp_path: Path, url: str, *extra: str):
    return tenantfix(
        "verify", ".", "--database-url", url, *extra, cwd=project, tmpdir=tmp_path / "t"
    )


def test_a_dotenv_loaded_by_manage_py_reaches_the_settings(fixed_tree, tmp_path, pg_server):
    project = with_preamble(fixed_tree, "dotenv", tmp_path / "portal")
    # as the user runs it: manage.py loads .env, so its own migrate_schemas works
    db = pg_server.create_database("dotenv_users_own")
    try:
        own = manage(project, db, "migrate_schemas", "--shared")
        assert own.returncode == 0, own.stderr
    finally:
        pg_server.drop_database(db.name)

    ran = verify(project, tmp_path, pg_server.url)
    assert ran.code == 0, ran.output
    assert PASSED in ran.stdout
    assert "ok      migrate_schemas --shared" in ran.stdout
    assert "ok      create 2 tenants with domains" in ran.stdout
    assert "no manage.py" not in ran.stdout
    assert not list(project.rglob("__pycache__"))

    # without manage.py's load_dotenv the settings cannot load: the preamble is what made it pass
    (project / ".env").unlink()
    failed = verify(project, tmp_path, pg_server.url)
    assert_clean_failure(failed, 4)
    assert "error:     KeyError: 'PORTAL_SECRET_KEY'" in failed.stdout
    assert "at:        accreditation_portal/settings.py:" in failed.stdout


def test_a_failure_in_manage_py_itself_points_at_its_line(fixed_tree, tmp_path, pg_server):
    project = with_preamble(fixed_tree, "dotenv", tmp_path / "portal")
    manage_py = project / "manage.py"
    manage_py.write_text(
        manage_py.read_text().replace("load_dotenv()", 'load_dotenv()\n    int("x")', 1)
    )
    failed = verify(project, tmp_path, pg_server.url)
    assert_clean_failure(failed, 4)
    assert "ValueError: invalid literal for int() with base 10: 'x'" in failed.stdout
    assert 'at:        manage.py:11: int("x")' in failed.stdout


SWALLOWING_MANAGE_PY = """import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accreditation_portal.settings")
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except Exception as exc:  # a project that logs failures its own way
        print("manage.py failed:", exc)
        {ending}
"""


@pytest.mark.parametrize("ending", ["sys.exit(1)", "pass"])
def test_a_failure_manage_py_catches_is_still_named(ending, fixed_tree, tmp_path, pg_server):
    """manage.py catching the exception (and exiting 1, or even returning) does not hide it."""
    project = with_preamble(fixed_tree, "dotenv", tmp_path / "portal")
    (project / ".env").unlink()
    (project / "manage.py").write_text(SWALLOWING_MANAGE_PY.format(ending=ending))
    failed = verify(project, tmp_path, pg_server.url)
    assert_clean_failure(failed, 4)
    assert "error:     KeyError: 'PORTAL_SECRET_KEY'" in failed.stdout
    assert "at:        accreditation_portal/settings.py:" in failed.stdout


@pytest.mark.parametrize("executor", ["standard", "subprocess"])
def test_manage_py_assigning_the_settings_module_still_runs_on_the_scratch_database(
    executor, fixed_tree, tmp_path, pg_server, monkeypatch
):
    """``os.environ["DJANGO_SETTINGS_MODULE"] = ...`` (not setdefault) in manage.py: the
    override stays, in the driver and in the processes django-tenants' subprocess executor
    starts (manage.py again per tenant). The user's database is a port nothing listens on: a
    single connection attempt there would fail the run."""
    import importlib.util

    package = importlib.util.find_spec("django_tenants")
    assert package is not None and package.submodule_search_locations
    executors = Path(package.submodule_search_locations[0]) / "migration_executors"
    if executor == "subprocess" and not (executors / "subproc.py").exists():
        pytest.skip("this django-tenants has no subprocess executor")
    monkeypatch.setenv("EXECUTOR", executor)
    project = with_preamble(fixed_tree, "settings_assigned", tmp_path / "portal")
    # the user's own way: manage.py goes to their database (nothing there)
    user = DatabaseParams.from_url(pg_server.url)
    own = manage(project, user, "migrate_schemas", "--shared")
    assert own.returncode != 0 and "127.0.0.1" in own.stderr and "9" in own.stderr, own.stderr

    ran = verify(project, tmp_path, pg_server.url, "-v")
    assert ran.code == 0, ran.output
    assert PASSED in ran.stdout
    assert "tenantfix_two: " in ran.stderr and " migrations done" in ran.stderr
    assert "the_users_real_db" not in ran.output


def test_an_apps_folder_put_on_sys_path_by_manage_py(fixed_tree, tmp_path, pg_server):
    project = with_preamble(fixed_tree, "apps_path", tmp_path / "portal")
    (project / "apps").mkdir()
    shutil.move(project / "notifications", project / "apps" / "notifications")
    ran = verify(project, tmp_path, pg_server.url)
    assert ran.code == 0, ran.output
    assert PASSED in ran.stdout


def test_django_configurations_is_refused_before_anything_runs(fixed_tree, tmp_path, pg_server):
    project = with_preamble(fixed_tree, "configurations", tmp_path / "portal")
    ran = verify(project, tmp_path, pg_server.url)
    assert_clean_failure(ran, 2)
    assert "django-configurations" in ran.stderr
    assert "error: manage.py:10: the project runs on django-configurations" in ran.stderr
    assert "creating scratch database" not in ran.stderr  # refused before the database


def test_without_manage_py_django_starts_directly(fixed_tree, tmp_path, pg_server):
    """The fallback: a runner at a directory without manage.py starts Django itself."""
    project = with_preamble(fixed_tree, "dotenv", tmp_path / "portal")
    (project / "manage.py").unlink()
    db = pg_server.create_database("no_manage_py")
    try:
        with DjangoRunner(project, SETTINGS, db, all_aliases=True) as runner:
            assert runner.manage_py is None
            run = runner.migrate("migrate_schemas", "--shared", "--noinput")
    finally:
        pg_server.drop_database(db.name)
    assert not run.ok
    assert run.failure is not None
    assert run.failure.exception == "KeyError: 'PORTAL_SECRET_KEY'"


def test_repair_db_runs_through_manage_py(tmp_path, pg_database):
    """repair-db on the write-up's failed database, the project loading its SECRET_KEY from
    .env in manage.py: its commands run (before, every one failed on the missing key)."""
    project = copy_project(FIXTURES / "writeup_project", tmp_path / "portal")
    with_preamble(project, "dotenv", tmp_path / "dotenv_portal")
    repo = init_repo(tmp_path / "dotenv_portal")
    db = pg_database
    failed = manage(repo, db, "migrate_schemas", "--shared")
    assert failed.returncode != 0 and 'relation "users_user" does not exist' in failed.stderr
    with psycopg.connect(db.url) as conn:
        conn.execute("INSERT INTO auth_group (name) VALUES ('auditors')")
    applied = CliRunner().invoke(app, ["apply", str(repo)])
    assert applied.exit_code == 0, applied.output
    git(repo, "switch", "-q", "tenantfix/shared-user-app")

    executed = CliRunner().invoke(
        app, ["repair-db", str(repo), "--database-url", db.url, "--execute"]
    )
    assert executed.exit_code == 0, executed.output
    after = manage(repo, db, "migrate_schemas", "--shared")
    assert after.returncode == 0, after.stderr
    with psycopg.connect(db.url) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM auth_group").fetchall()]
    assert names == ["auditors"]
