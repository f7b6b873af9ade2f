"""The simulation against reality: real ``migrate_schemas`` runs on PostgreSQL.

For each fixture project the predicted outcome of every schema (the migrations recorded in order,
the failing migration and the error text) must equal what Django printed.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tenantfix.discover import discover
from tenantfix.graph.build import build_graph
from tenantfix.graph.model import ProjectGraph
from tenantfix.settings import resolve_settings
from tenantfix.simulate import SHARED_STEP, TENANT_STEP, migration_plan, predict

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PYTHON = sys.executable
_db_names = itertools.count()


def _copy(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _graph(root: Path) -> ProjectGraph:
    return build_graph(root, resolve_settings(discover(root)))


# --- static predictions (no database) ---------------------------------------------------------

EXPECTED = {
    # fixture: {schema: (failing migration, error)}; None = success
    "writeup_project": {
        "public": ("admin.0001_initial", 'relation "users_user" does not exist'),
        "tenant": None,
    },
    "sim_tenant_app_not_shared": {
        "public": None,
        "tenant": (None, 'relation "customers_client" does not exist'),
    },
    "sim_shared_fk_to_tenant": {
        "public": ("core.0001_initial", 'relation "crm_customer" does not exist'),
        "tenant": None,
    },
    "sim_custom_db_table": {
        "public": ("admin.0001_initial", 'relation "usuarios" does not exist'),
        "tenant": None,
    },
    "sim_missing_migrations": {
        "public": ("admin.0001_initial", 'relation "accounts_user" does not exist'),
        "tenant": ("admin.0001_initial", 'relation "accounts_user" does not exist'),
    },
    "sim_empty_migrations": {
        "public": (None, "ValueError: Dependency on app with no migrations: accounts"),
    },
    "sim_contenttypes_not_shared": {
        "public": ("auth.0001_initial", 'relation "django_content_type" does not exist'),
        "tenant": None,
    },
    "sim_multi_type": {
        "public": None,
        "school": ("grades.0001_initial", 'relation "library_book" does not exist'),
        "library": None,
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_static_predictions(tmp_path, name):
    predictions = predict(_graph(_copy(tmp_path, name)))
    got = {p.schema: None if p.ok else (p.failed_migration, p.error) for p in predictions}
    assert got == EXPECTED[name]
    assert predictions[0].step == SHARED_STEP
    assert all(p.step == TENANT_STEP for p in predictions[1:])


def test_plan_puts_the_user_app_before_admin(tmp_path):
    plan = [
        f"{m.app_label}.{m.name}"
        for m in migration_plan(_graph(_copy(tmp_path, "writeup_project")))
    ]
    assert plan.index("users.0001_initial") < plan.index("admin.0001_initial")
    assert plan.index("tenants.0001_initial") < plan.index("users.0001_initial")
    assert len(plan) == len(set(plan))


def test_prediction_converts_to_plan_prediction(tmp_path):
    public = predict(_graph(_copy(tmp_path, "writeup_project")))[0]
    prediction = public.to_prediction()
    assert prediction is not None
    assert prediction.sentence() == (
        "`migrate_schemas --shared` will fail at `admin.0001_initial` with "
        '`relation "users_user" does not exist`'
    )
    assert "users.0001_initial" in public.recorded  # the phantom record of the skipped migration
    assert "users_user" not in public.tables


# --- real runs ----------------------------------------------------------------------------


@dataclass
class _Db:
    host: str
    port: int
    user: str
    password: str
    name: str


@pytest.fixture(scope="module")
def pg_maker(request) -> Iterator[object]:
    """Something with ``create_database(name)``: the shared ``pg_server`` or our own server."""
    try:
        server = request.getfixturevalue("pg_server")
    except pytest.FixtureLookupError:
        server = None
    if server is not None and hasattr(server, "create_database"):
        yield server
        return
    from tenantfix.errors import TenantfixError
    from tenantfix.pgserver import ThrowawayPostgres

    try:
        own = ThrowawayPostgres().start()
    except TenantfixError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI: {exc}")
        pytest.skip(f"no PostgreSQL: {exc}")
    try:
        yield own
    finally:
        own.stop()


def _database(pg_maker) -> _Db:
    params = pg_maker.create_database(f"sim_{os.getpid()}_{next(_db_names)}")
    return _Db(params.host, params.port, params.user, params.password, params.name)


def _manage(root: Path, db: _Db, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        DB_NAME=db.name,
        DB_USER=db.user,
        DB_PASSWORD=db.password,
        DB_HOST=db.host,
        DB_PORT=str(db.port),
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


_APPLYING = re.compile(r"Applying (\S+?)\.\.\.( OK)?")
_ERROR = re.compile(r"^([\w.]+(?:Error|Exception)): (.*)$")


@dataclass
class Observed:
    recorded: list[str]
    failed: str | None
    error: str | None


def _observe(proc: subprocess.CompletedProcess[str]) -> Observed:
    applied = _APPLYING.findall(proc.stdout)
    recorded = [name for name, ok in applied if ok]
    failed = applied[-1][0] if applied and not applied[-1][1] else None
    error = None
    if proc.returncode != 0:
        for line in reversed(proc.stderr.splitlines()):
            m = _ERROR.match(line.strip())
            if m:
                cls, message = m.groups()
                # Django's database errors are reported by their message; others with their class
                error = (
                    message
                    if cls.endswith("ProgrammingError")
                    else f"{cls.rpartition('.')[2]}: {message}"
                )
                break
        assert error is not None, proc.stderr[-2000:]
    return Observed(recorded, failed, error)


def _assert_matches(observed: Observed, prediction) -> None:
    assert (observed.failed, observed.error) == (prediction.failed_migration, prediction.error)
    if prediction.failed_migration is not None or prediction.ok:
        assert observed.recorded == list(prediction.recorded)


SHARED_CASES = sorted(EXPECTED)


@pytest.mark.postgres
@pytest.mark.parametrize("name", SHARED_CASES)
def test_shared_run_matches_prediction(tmp_path, pg_maker, name):
    root = _copy(tmp_path, name)
    public = predict(_graph(root))[0]
    db = _database(pg_maker)
    observed = _observe(_manage(root, db, "migrate_schemas", "--shared", "--noinput"))
    _assert_matches(observed, public)
    if name == "sim_tenant_app_not_shared":
        # the shared run passed; the tenant step fails querying the tenant model's table
        tenant = predict(_graph(root))[1]
        observed = _observe(_manage(root, db, "migrate_schemas", "--tenant", "--noinput"))
        _assert_matches(observed, tenant)


_CREATE_TENANTS = """
from django.db import connection
from customers.models import Client
for schema, kind in [("school1", "school"), ("library1", "library")]:
    tenant = Client(schema_name=schema, name=schema, type=kind)
    tenant.auto_create_schema = False
    tenant.save()
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "%s"' % schema)
"""


@pytest.mark.postgres
def test_multi_type_tenant_runs_match_predictions(tmp_path, pg_maker):
    root = _copy(tmp_path, "sim_multi_type")
    by_schema = {p.schema: p for p in predict(_graph(root))}
    db = _database(pg_maker)
    shared = _manage(root, db, "migrate_schemas", "--shared", "--noinput")
    _assert_matches(_observe(shared), by_schema["public"])
    created = _manage(root, db, "shell", "-c", _CREATE_TENANTS)
    assert created.returncode == 0, created.stderr[-2000:]
    for schema, tenant_type in (("school1", "school"), ("library1", "library")):
        proc = _manage(root, db, "migrate_schemas", "--tenant", f"--schema={schema}", "--noinput")
        _assert_matches(_observe(proc), by_schema[tenant_type])
