"""tenantfix on projects whose interpreter runs Django 2.2, 3.2, 4.2, 5.2 (the suite's own) and 6.0.

Per Django version a real virtualenv is the *project's* interpreter (``--python``): `check`, the
probe, `apply --dry-run`, then the diff is applied and Django's real
``makemigrations --check`` must find nothing left to do (and, before the fix, must not). The
oldest and the newest Django also run ``verify`` on the session's PostgreSQL. The built wheel is
installed on Python 3.10 and 3.13 for a smoke run.

The virtualenvs are built once and cached under the temp dir (see ``support_venvs``); under
CI=true a venv that cannot be made fails these tests instead of skipping them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomllib
from support_git import FIXTURES, copy_project, git, init_repo, snapshot
from support_venvs import (
    ProjectVenv,
    build_wheel,
    find_python,
    prebuild,
    project_venv,
    wheel_venv,
)

import tenantfix

pytestmark = pytest.mark.djversions

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "accreditation_portal.settings"

# Third-party apps of the write-up project; pip picks the releases that declare support for the
# pinned Django.
WRITEUP_APPS = ("django-crispy-forms", "crispy-bootstrap5", "django-htmx", "django-celery-beat")


@dataclass(frozen=True)
class Target:
    django: str
    python: str
    fixture: str
    requirements: tuple[str, ...]
    verify: bool = False

    def __str__(self) -> str:
        return f"django{self.django}-py{self.python}"


TARGETS = (
    # A Django 2.2 project's migrations depend on auth.0011 and use AutoField: the write-up
    # project's (made by Django 5.2) cannot load there, so its Django 2.2 twin is used, with
    # the same two problems (TF001, TF005) and migrations made by Django 2.2.
    Target(
        "2.2",
        "3.8",
        "writeup_project_django22",
        ("Django==2.2.*", "django-tenants==3.5.0", "psycopg2-binary==2.9.*"),
        verify=True,
    ),
    Target(
        "3.2",
        "3.10",
        "writeup_project",
        ("Django==3.2.*", "django-tenants==3.6.1", "psycopg2-binary==2.9.*", *WRITEUP_APPS),
    ),
    Target(
        "4.2",
        "3.11",
        "writeup_project",
        ("Django==4.2.*", "django-tenants==3.7.0", "psycopg[binary]==3.2.*", *WRITEUP_APPS),
    ),
    # the suite's own interpreter (Django 5.2 and the write-up's apps, from pyproject's test extra)
    Target("5.2", "suite", "writeup_project", ()),
    Target(
        "6.0",
        "3.12",
        "writeup_project",
        ("Django==6.0.*", "django-tenants==4.0.1", "psycopg[binary]==3.3.*", *WRITEUP_APPS),
        verify=True,
    ),
)


SMOKE_PYTHONS = ("3.10", "3.13")  # the oldest and the newest Python tenantfix supports


def tenantfix_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, in the interpreter that runs the suite (Python 3.10+)."""
    return subprocess.run(
        [sys.executable, "-m", "tenantfix", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def manage(
    venv: ProjectVenv, project: Path, db: object, *args: str
) -> subprocess.CompletedProcess[str]:
    """``manage.py`` in the project's interpreter, its DATABASES pointed at ``db`` through the
    environment variables its settings read."""
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "DB_NAME": db.name,  # type: ignore[attr-defined]
        "DB_USER": db.user,  # type: ignore[attr-defined]
        "DB_PASSWORD": db.password,  # type: ignore[attr-defined]
        "DB_HOST": db.host,  # type: ignore[attr-defined]
        "DB_PORT": str(db.port),  # type: ignore[attr-defined]
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [str(venv.python), "manage.py", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module", autouse=True)
def _prebuilt_venvs() -> None:
    """A cold CI run builds every venv of this module at once, not one after another."""
    projects = [(t.python, t.requirements) for t in (*TARGETS, TENANT_SCHEMAS) if t.requirements]
    prebuild(projects, SMOKE_PYTHONS)


def interpreter(target: Target) -> ProjectVenv:
    if target.python == "suite":
        import django

        return ProjectVenv(path=Path(sys.prefix), django_version=django.get_version())
    return project_venv(target.python, target.requirements)


@pytest.fixture(params=TARGETS, ids=str, scope="module")
def target_venv(request: pytest.FixtureRequest) -> tuple[Target, ProjectVenv]:
    target: Target = request.param
    return target, interpreter(target)


# verify (three migrate runs) on the oldest and the newest Django only: CI time
@pytest.fixture(params=[t for t in TARGETS if t.verify], ids=str, scope="module")
def verify_target_venv(request: pytest.FixtureRequest) -> tuple[Target, ProjectVenv]:
    target: Target = request.param
    return target, interpreter(target)


def test_check_apply_and_real_makemigrations_check(target_venv, tmp_path, pg_database):
    target, venv = target_venv
    assert venv.django_version.startswith(target.django + "."), venv.django_version
    project = init_repo(copy_project(FIXTURES / target.fixture, tmp_path / "portal"))
    python = str(venv.python)

    # Before the fix Django itself sees the missing migrations: the final assertion can fail.
    # Named explicitly: makemigrations skips an app without a migrations package otherwise.
    apps = sorted(p.parent.name for p in project.glob("*/models.py"))
    before = manage(venv, project, pg_database, "makemigrations", "--check", "--dry-run", *apps)
    assert before.returncode == 1, before.stdout + before.stderr
    assert "audit" in before.stdout

    found = tenantfix_cli("check", ".", "--python", python, "--format", "json", cwd=project)
    assert found.returncode == 1, found.stderr
    report = json.loads(found.stdout)
    codes = [f["code"] for f in report["findings"]]
    assert "TF001" in codes and "TF005" in codes, codes

    probed = tenantfix_cli(
        "check", ".", "--probe", "--python", python, "--format", "json", cwd=project
    )
    probed_report = json.loads(probed.stdout)
    assert probed_report["graph"] == "probe", probed.stderr  # Django's own registry was read
    assert [f["code"] for f in probed_report["findings"]] == codes

    untouched = snapshot(project)
    dry = tenantfix_cli("apply", ".", "--dry-run", "--python", python, cwd=project)
    assert dry.returncode == 1, dry.stderr
    assert "Traceback" not in dry.stderr
    assert snapshot(project) == untouched
    assert "+++ b/audit/migrations/0001_initial.py" in dry.stdout
    # made by the project's Django, not by the Django tenantfix runs on
    assert f"+# Generated by Django {venv.django_version} on " in dry.stdout
    assert "+    'users',\n" in dry.stdout

    (tmp_path / "fix.diff").write_text(dry.stdout)
    git(project, "apply", str(tmp_path / "fix.diff"))
    after = manage(venv, project, pg_database, "makemigrations", "--check", "--dry-run", *apps)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "No changes detected" in after.stdout

    rechecked = tenantfix_cli("check", ".", "--python", python, "--format", "json", cwd=project)
    remaining = [f["code"] for f in json.loads(rechecked.stdout)["findings"]]
    assert "TF001" not in remaining and "TF005" not in remaining, remaining


def test_verify_runs_the_fixed_project_on_postgresql(verify_target_venv, tmp_path, pg_server):
    """verify's driver (drivers/migrate_driver.py) hooks this Django's migrate progress callback
    and this django-tenants' schema loop: the failure before the fix and the per-schema progress
    after it come from its events."""
    target, venv = verify_target_venv
    project = init_repo(copy_project(FIXTURES / target.fixture, tmp_path / "portal"))
    python = str(venv.python)
    broken = tenantfix_cli(
        "verify", ".", "--python", python, "--database-url", pg_server.url, cwd=project
    )
    assert broken.returncode == 4, broken.stdout + broken.stderr
    assert "schema:    public\n" in broken.stdout
    assert "migration: admin.0001_initial\n" in broken.stdout
    assert 'ProgrammingError: relation "users_user" does not exist\n' in broken.stdout
    assert "Traceback" not in broken.stdout + broken.stderr

    dry = tenantfix_cli("apply", ".", "--dry-run", "--python", python, cwd=project)
    (tmp_path / "fix.diff").write_text(dry.stdout)
    git(project, "apply", str(tmp_path / "fix.diff"))
    result = tenantfix_cli(
        "verify", ".", "--python", python, "--database-url", pg_server.url, cwd=project
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verification passed." in result.stdout
    done = dict(re.findall(r"(\w+): (\d+)/\2 migrations done", result.stderr))
    assert set(done) == {"public", "tenantfix_one", "tenantfix_two"}, result.stderr
    assert len(set(done.values())) == 1 and int(done["public"]) > 10, done


def test_verify_names_an_unfillable_tenant_field_on_django22(tmp_path, pg_server):
    """Django 2.2 has no models.JSONField: the tenant script must still reach its own message."""
    target = TARGETS[0]
    venv = project_venv(target.python, target.requirements)
    project = init_repo(copy_project(FIXTURES / target.fixture, tmp_path / "portal"))
    dry = tenantfix_cli("apply", ".", "--dry-run", "--python", str(venv.python), cwd=project)
    (tmp_path / "fix.diff").write_text(dry.stdout)
    git(project, "apply", str(tmp_path / "fix.diff"))  # migrate_schemas --shared passes now
    models = project / "tenants" / "models.py"
    models.write_text(
        models.read_text().replace(
            "    auto_create_schema = True",
            '    logo = models.FileField(upload_to="logos/")\n\n    auto_create_schema = True',
        )
    )
    result = tenantfix_cli(
        "verify", ".", "--python", str(venv.python), "--database-url", pg_server.url, cwd=project
    )
    assert result.returncode == 4, result.stdout + result.stderr
    assert "tenantfix cannot fill: tenants.Tenant: logo (FileField)" in result.stdout, result.stdout
    assert "JSONField" not in result.stdout


# django-tenants' predecessor, still found in Django 2.x projects: `tenant_schemas`, and the
# tenant's own domain_url instead of a domain model.
TENANT_SCHEMAS = Target(
    "2.2",
    "3.8",
    "tenant_schemas_project_django22",
    ("Django==2.2.*", "django-tenant-schemas==1.10.0", "psycopg2-binary==2.9.*"),
)


def test_django_tenant_schemas_project_on_django22(tmp_path, pg_server, pg_database):
    target = TENANT_SCHEMAS
    venv = project_venv(target.python, target.requirements)
    python = str(venv.python)
    project = init_repo(copy_project(FIXTURES / target.fixture, tmp_path / "library"))

    found = tenantfix_cli("check", ".", "--python", python, "--format", "json", cwd=project)
    assert [f["code"] for f in json.loads(found.stdout)["findings"]] == ["TF005"], found.stdout
    # the collector (tenantfix/django/collect.py) runs on Python 3.8 + Django 2.2 + tenant_schemas
    probed = tenantfix_cli(
        "check", ".", "--probe", "--python", python, "--format", "json", cwd=project
    )
    probed_report = json.loads(probed.stdout)
    assert probed_report["graph"] == "probe", probed.stderr
    assert [f["code"] for f in probed_report["findings"]] == ["TF005"], probed.stdout

    dry = tenantfix_cli("apply", ".", "--dry-run", "--python", python, cwd=project)
    assert dry.returncode == 1, dry.stderr
    assert "+++ b/notes/migrations/0001_initial.py" in dry.stdout
    assert f"+# Generated by Django {venv.django_version} on " in dry.stdout
    (tmp_path / "fix.diff").write_text(dry.stdout)
    git(project, "apply", str(tmp_path / "fix.diff"))
    after = manage(
        venv, project, pg_database, "makemigrations", "--check", "--dry-run", "customers", "notes"
    )
    assert after.returncode == 0, after.stdout + after.stderr

    # the tenants are made through tenant_schemas' own model, their domain in domain_url
    result = tenantfix_cli(
        "verify", ".", "--python", python, "--database-url", pg_server.url, cwd=project
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok      create 2 tenants with domains" in result.stdout
    assert "Verification passed." in result.stdout
    # tenant_schemas' own schema loop sets connection.schema_name as django-tenants' does
    done = dict(re.findall(r"(\w+): (\d+)/\2 migrations done", result.stderr))
    assert set(done) == {"public", "tenantfix_one", "tenantfix_two"}, result.stderr


@pytest.mark.parametrize("python", SMOKE_PYTHONS)
def test_built_wheel_runs_on_supported_python(python, tmp_path):
    wheel = build_wheel()
    smoke = wheel_venv(python, wheel)
    version = subprocess.run(
        [str(smoke / "bin" / "tenantfix"), "--version"], capture_output=True, text=True
    )
    assert version.returncode == 0, version.stderr
    assert tenantfix.__version__ in version.stdout
    project = copy_project(FIXTURES / "writeup_project", tmp_path / "portal")
    # the project's interpreter: the suite's own, which has Django 5.2 and the write-up's apps
    found = subprocess.run(
        [str(smoke / "bin" / "tenantfix"), "check", str(project), "--python", sys.executable],
        capture_output=True,
        text=True,
    )
    assert found.returncode == 1, found.stdout + found.stderr
    assert "TF001" in found.stdout and "TF005" in found.stdout, found.stdout


def test_supported_pythons_are_declared():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["requires-python"] == ">=3.10"
    declared = sorted(
        c.rsplit(" :: ", 1)[1]
        for c in meta["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    )
    assert declared == ["3.10", "3.11", "3.12", "3.13"]


def test_code_run_in_the_project_interpreter_is_python36_syntax():
    """Drivers and inline scripts run on the project's Python (3.6+ for Django 2.2)."""
    from tenantfix import djangorun, verify
    from tenantfix.graph import probe

    sources = {
        path.name: path.read_text()
        for path in (ROOT / "src" / "tenantfix" / "drivers").glob("*.py")
    }
    sources |= {
        "probe.COLLECTOR": probe.COLLECTOR.read_text(),
        "verify._CREATE_TENANTS": verify._CREATE_TENANTS,
        "djangorun._OVERRIDE": djangorun._OVERRIDE.format(settings="x.settings"),
        "djangorun._SITECUSTOMIZE": djangorun._SITECUSTOMIZE,
    }
    oldest = find_python("3.6")
    code = (
        "import ast, json, sys\n"
        "for name, text in json.load(sys.stdin).items():\n"
        "    compile(text, name, 'exec', dont_inherit=True)\n"
    )
    result = subprocess.run(
        [str(oldest), "-c", code], input=json.dumps(sources), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
