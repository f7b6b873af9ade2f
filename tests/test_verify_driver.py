"""verify learns what migrate_schemas did from drivers/migrate_driver.py's events, not its output.

Real PostgreSQL (the session server), the write-up project fixed by a real `tenantfix apply`
(makemigrations in the project's interpreter), real processes: the events for public and each
tenant schema, a failing tenant migration named by migration, schema and project line, a
project that prints migrate-like lines from its settings and its migrations, and
django-tenants' multiprocessing executor (forked workers append to the same side channel).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from support_git import FIXTURES, copy_project
from support_snapshot import assert_clean_failure, tenantfix
from typer.testing import CliRunner

from tenantfix.cli import app
from tenantfix.db.params import DatabaseParams
from tenantfix.djangorun import DjangoRunner
from tenantfix.verify import _CREATE_TENANTS, TENANT_SPECS, scratch_database

SETTINGS = "accreditation_portal.settings"

# a tenant-only app's data migration that fails in a tenant schema, printing migrate-like
# lines first (the old stdout parsing took the last "Applying" line for the failed migration)
FAILING_MIGRATION = """from django.db import migrations


def backfill(apps, schema_editor):
    print("  Applying decoy.0001_initial...")
    print("[standard:public] Applying decoy.0002_more...", flush=True)
    if schema_editor.connection.schema_name == "{schema}":
        raise RuntimeError("checklist backfill failed in " + schema_editor.connection.schema_name)


class Migration(migrations.Migration):
    dependencies = [("checklists", "0001_initial")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
"""

SETTINGS_DECOY = """
# a project that talks on import (a banner, a debug print): lines that look like migrate's
print("[standard:tenant_evil] Applying payments.0001_initial...")
print("  Applying payments.0002_refunds... OK")
"""


@pytest.fixture(scope="module")
def fixed_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The write-up project after `tenantfix apply --no-commit` (TF001, TF005 fixed)."""
    project = copy_project(
        FIXTURES / "writeup_project", tmp_path_factory.mktemp("fixed") / "portal"
    )
    result = CliRunner().invoke(app, ["apply", "--no-commit", str(project)])
    assert result.exit_code == 0, result.output
    return project


def _copy(tree: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "portal"
    shutil.copytree(tree, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_events_for_public_and_each_tenant_schema(fixed_tree, tmp_path, pg_server):
    project = _copy(fixed_tree, tmp_path)
    seen: list[str] = []
    with (
        scratch_database(pg_server.url) as (db, _),
        DjangoRunner(project, SETTINGS, db, all_aliases=True) as runner,
    ):
        shared = runner.migrate(
            "migrate_schemas", "--shared", "--noinput", on_event=lambda e: seen.append(e.kind)
        )
        assert shared.ok, shared.stderr
        created = runner.drive_script(_CREATE_TENANTS, json.dumps(TENANT_SPECS))
        assert created.ok and created.result is not None
        assert created.result["created"] == ["tenantfix_one", "tenantfix_two"]
        everything = runner.migrate("migrate_schemas", "--noinput")
        assert everything.ok, everything.stderr

    # live: the callback saw the events while the process ran, in order
    assert seen[0] == "schema_start" and seen[-1] == "exit"
    assert seen.count("apply_start") == seen.count("apply_success") > 40

    def per_schema(run, kind):
        out: dict[str, list[str]] = {}
        for event in run.events:
            if event.kind == kind:
                out.setdefault(event.schema, []).append(event.migration)
        return out

    public = per_schema(shared, "apply_success")
    assert list(public) == ["public"]
    assert "admin.0001_initial" in public["public"] and "users.0001_initial" in public["public"]
    assert shared.applied == tuple(public["public"])
    plans = {e.schema: e.count for e in shared.events if e.kind == "plan"}
    assert plans == {"public": len(public["public"])}
    assert all(
        e.elapsed is not None and e.elapsed >= 0 for e in shared.events if e.kind == "apply_success"
    )

    # public is already migrated; each tenant schema runs the whole plan (django-tenants
    # records every app's migrations in every schema, skipped operations included)
    tenants = per_schema(everything, "apply_success")
    assert list(tenants) == ["tenantfix_one", "tenantfix_two"]
    assert tenants["tenantfix_one"] == tenants["tenantfix_two"] == public["public"]
    plans = {e.schema: e.count for e in everything.events if e.kind == "plan"}
    assert plans == {
        "public": 0,
        "tenantfix_one": len(public["public"]),
        "tenantfix_two": len(public["public"]),
    }
    done = [e.schema for e in everything.events if e.kind == "schema_done"]
    assert done == ["public", "tenantfix_one", "tenantfix_two"]
    assert everything.failure is None


def test_failing_tenant_migration_named_from_structured_data(fixed_tree, tmp_path, pg_server):
    project = _copy(fixed_tree, tmp_path)
    migration = project / "checklists" / "migrations" / "0002_backfill.py"
    migration.write_text(FAILING_MIGRATION.replace("{schema}", "tenantfix_one"))
    raised = _line_of(migration, "raise RuntimeError")
    ran = tenantfix(
        "verify", ".", "--database-url", pg_server.url, cwd=project, tmpdir=tmp_path / "t"
    )
    assert_clean_failure(ran, 4)
    out = ran.stdout
    assert "ok      migrate_schemas --shared" in out  # a tenant-only app: skipped in public
    assert "FAILED  migrate_schemas (" in out
    assert "schema:    tenantfix_one\n" in out
    assert "migration: checklists.0002_backfill\n" in out
    assert "error:     RuntimeError: checklist backfill failed in tenantfix_one\n" in out
    assert f"at:        checklists/migrations/0002_backfill.py:{raised}: raise RuntimeError(" in out
    assert "decoy" not in out
    # the per-schema progress came from the same events
    assert re.search(r"public: (\d+)/\1 migrations done", ran.stderr), ran.stderr
    assert "tenantfix_one: 0/" in ran.stderr
    verbose = tenantfix(
        "verify", "-v", ".", "--database-url", pg_server.url, cwd=project, tmpdir=tmp_path / "t"
    )
    assert verbose.code == 4
    assert "Traceback (most recent call last)" in verbose.stdout  # the log, on request
    quiet = tenantfix(
        "verify", "-q", ".", "--database-url", pg_server.url, cwd=project, tmpdir=tmp_path / "t"
    )
    assert quiet.code == 4
    assert "migrations" not in quiet.stderr and "tenantfix: [" not in quiet.stderr, quiet.stderr
    assert "schema:    tenantfix_one\n" in quiet.stdout  # the report itself stays


def test_migrate_like_prints_from_settings_do_not_fool_verify(fixed_tree, tmp_path, pg_server):
    project = _copy(fixed_tree, tmp_path)
    settings = project / "accreditation_portal" / "settings.py"
    settings.write_text(settings.read_text() + SETTINGS_DECOY)

    passed = tenantfix(
        "verify", ".", "--database-url", pg_server.url, cwd=project, tmpdir=tmp_path / "t"
    )
    assert passed.code == 0, passed.output
    assert "Verification passed." in passed.stdout
    counts = {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"(\w+): (\d+)/\2 migrations done", passed.stderr)
    }
    assert set(counts) == {"public", "tenantfix_one", "tenantfix_two"}, passed.stderr
    assert len(set(counts.values())) == 1  # every schema ran the same plan
    assert "payments" not in passed.output and "tenant_evil" not in passed.output

    # a failure before any migration ran: nothing to name but the exception and its line
    models = project / "audit" / "models.py"
    models.write_text(models.read_text() + '\nRETENTION_DAYS = int("ninety")\n')
    failed = tenantfix(
        "verify", ".", "--database-url", pg_server.url, cwd=project, tmpdir=tmp_path / "t"
    )
    assert_clean_failure(failed, 4)
    assert "FAILED  migrate_schemas --shared" in failed.stdout
    assert "migration:" not in failed.stdout and "schema:" not in failed.stdout, failed.stdout
    assert "payments" not in failed.stdout and "tenant_evil" not in failed.stdout
    assert (
        "error:     ValueError: invalid literal for int() with base 10: 'ninety'" in failed.stdout
    )
    line = _line_of(models, "RETENTION_DAYS")
    assert f'at:        audit/models.py:{line}: RETENTION_DAYS = int("ninety")' in failed.stdout


def test_system_check_errors_are_named(fixed_tree, tmp_path, pg_server):
    project = _copy(fixed_tree, tmp_path)
    models = project / "audit" / "models.py"
    models.write_text(
        models.read_text()
        + '\n\nclass Broken(models.Model):\n    other = models.ForeignKey("Nope", on_delete=models.CASCADE)\n'
    )
    ran = tenantfix(
        "verify", ".", "--database-url", pg_server.url, cwd=project, tmpdir=tmp_path / "t"
    )
    assert_clean_failure(ran, 4)
    # the errors Django printed under "System check identified some issues", not that line.
    # Django reports this field twice (fields.E300, and E307 for the lazy reference), in the
    # order its check registry runs them: E307 comes first on Django 5.2.19 here
    assert (
        "error:     django.core.management.base.SystemCheckError: audit.Broken.other: (fields.E3"
        in ran.stdout
    ), ran.stdout
    assert "audit.Broken.other: (fields.E300) Field defines a relation with model 'Nope'" in (
        ran.stdout
    ), ran.stdout


@pytest.mark.parametrize("executor", ["multiprocessing", "subprocess"])
def test_parallel_executors_workers_report_their_schema(
    executor, fixed_tree, tmp_path, pg_server, monkeypatch
):
    """django-tenants' multiprocessing executor forks workers for the tenant schemas, its
    subprocess executor starts manage.py per tenant: their events reach the same side channel,
    and a worker's failure names its schema and line."""
    import importlib.util

    package = importlib.util.find_spec("django_tenants")
    assert package is not None and package.submodule_search_locations
    executors = Path(package.submodule_search_locations[0]) / "migration_executors"
    if executor == "subprocess" and not (executors / "subproc.py").exists():
        pytest.skip("this django-tenants has no subprocess executor")  # older releases
    monkeypatch.setenv("EXECUTOR", executor)  # read by django-tenants' get_executor
    project = _copy(fixed_tree, tmp_path)
    migration = project / "checklists" / "migrations" / "0002_backfill.py"
    migration.write_text(FAILING_MIGRATION.replace("{schema}", "tenantfix_two"))
    with (
        scratch_database(pg_server.url) as (db, _),
        DjangoRunner(project, SETTINGS, db, all_aliases=True) as runner,
    ):
        assert runner.migrate("migrate_schemas", "--shared", "--noinput").ok
        assert runner.drive_script(_CREATE_TENANTS, json.dumps(TENANT_SPECS)).ok
        run = runner.migrate("migrate_schemas", "--noinput")
    assert not run.ok
    parent = next(e.pid for e in run.events if e.kind == "schema_start")  # public, in-process
    workers = {e.pid for e in run.events if e.schema in ("tenantfix_one", "tenantfix_two")}
    assert workers and parent not in workers, run.events
    finished = [e.schema for e in run.events if e.kind == "schema_done"]
    assert "tenantfix_one" in finished and "tenantfix_two" not in finished
    failure = run.failure
    assert failure is not None
    assert failure.schema == "tenantfix_two"
    assert failure.migration == "checklists.0002_backfill"
    assert failure.exception == "RuntimeError: checklist backfill failed in tenantfix_two"
    line = _line_of(migration, "raise RuntimeError")
    assert failure.where is not None
    assert failure.where.startswith(f"checklists/migrations/0002_backfill.py:{line}: raise")


def test_a_driver_that_cannot_report_is_a_plain_failure(tmp_path, pg_server):
    """A process killed before it reports (here: the driver cannot even start Python code of
    the project) is a failure with its exit status, never a parsed traceback."""
    project = copy_project(FIXTURES / "writeup_project", tmp_path / "portal")
    db = DatabaseParams.from_url(pg_server.url)
    with DjangoRunner(project, SETTINGS, db, python="/bin/false") as runner:
        run = runner.migrate("migrate_schemas", "--shared", "--noinput")
    assert not run.ok and run.events == ()
    assert run.failure is not None
    assert run.failure.exception == (
        "the process exited with status 1 without reporting an exception"
    )


def test_an_app_that_is_not_installed_points_at_no_frozen_frame(fixed_tree, tmp_path, pg_server):
    """Seen on MrMika96/banking_api (drf_spectacular only in its dev requirements): the import
    fails inside importlib's frozen bootstrap, which is no file of the project."""
    project = _copy(fixed_tree, tmp_path)
    settings = project / "accreditation_portal" / "settings.py"
    settings.write_text(
        settings.read_text().replace(
            "    'core',\n", "    'core',\n    'tenantfix_absent_app',\n", 1
        )
    )
    ran = tenantfix(
        "verify", ".", "--database-url", pg_server.url, cwd=project, tmpdir=tmp_path / "t"
    )
    assert_clean_failure(ran, 4)
    assert "error:     ModuleNotFoundError: No module named 'tenantfix_absent_app'\n" in ran.stdout
    assert "<frozen" not in ran.stdout and "at:" not in ran.stdout, ran.stdout


def test_repair_batches_read_the_events_not_the_output(fixed_tree, tmp_path, pg_server):
    """repair-db's batches (batchrun) run in the same driver: per command what was applied and
    where a command failed come from events, not from the migrate-like lines a migration
    prints."""
    from tenantfix.batchrun import run_batch

    project = _copy(fixed_tree, tmp_path)
    migration = project / "checklists" / "migrations" / "0002_backfill.py"
    migration.write_text(FAILING_MIGRATION.replace("{schema}", "tenantfix_two"))
    commands = [
        ("migrate_schemas", "--shared"),
        ("migrate_schemas", "--schema=tenantfix_one"),
        ("migrate_schemas", "--schema=tenantfix_two"),
    ]
    started: list[int] = []
    with (
        scratch_database(pg_server.url) as (db, _),
        DjangoRunner(project, SETTINGS, db, all_aliases=True) as runner,
    ):
        assert runner.drive_script("import sys").ok  # settings and Django load
        first = run_batch(runner, commands[:1])
        assert [r.ok for r in first] == [True]
        assert runner.drive_script(_CREATE_TENANTS, json.dumps(TENANT_SPECS)).ok
        results = run_batch(runner, commands[1:], before_each=started.append)
    assert started == [0, 1]
    assert "checklists.0002_backfill" in first[0].applied and first[0].schema == "public"
    one, two = results
    assert one.ok and one.schema == "tenantfix_one"
    assert one.applied == first[0].applied  # every migration, the printing one included
    assert not any("decoy" in m for m in one.applied)
    assert not two.ok
    assert two.command == "python manage.py migrate_schemas --schema=tenantfix_two"
    assert two.failed_migration == "checklists.0002_backfill"
    assert two.schema == "tenantfix_two"
    assert two.error == "RuntimeError: checklist backfill failed in tenantfix_two"
    line = _line_of(migration, "raise RuntimeError")
    assert two.where is not None
    assert two.where.startswith(f"checklists/migrations/0002_backfill.py:{line}: raise")


def test_plain_progress_shows_a_detail_only_after_a_quiet_spell(capsys):
    """In a CI log each migration is not a line: a detail is printed only when nothing was for
    DETAIL_EVERY seconds; with -q nothing at all."""
    import time

    from tenantfix.cli._progress import StepProgress
    from tenantfix.migrate_events import Event
    from tenantfix.verify import SchemaProgress

    with StepProgress() as progress:
        progress.DETAIL_EVERY = 0.3
        schemas = SchemaProgress(progress, progress.detail)
        schemas(Event("plan", schema="tenantfix_one", count=3))
        schemas(Event("apply_start", schema="tenantfix_one", migration="a.0001_initial"))
        schemas(Event("apply_success", schema="tenantfix_one", migration="a.0001_initial"))
        time.sleep(0.35)
        schemas(Event("apply_start", schema="tenantfix_one", migration="a.0002_more"))
        schemas(Event("apply_success", schema="tenantfix_one", migration="a.0002_more"))
        schemas(Event("schema_done", schema="tenantfix_one", elapsed=0.4))
    lines = [line.split("] ", 1)[1] for line in capsys.readouterr().err.splitlines()]
    assert lines == [
        "tenantfix_one: 0/3 migrations",
        "tenantfix_one: 1/3 migrations, applying a.0002_more",
        "tenantfix_one: 2/3 migrations done in 0.4 s",
    ]
    with StepProgress(quiet=True) as quiet:
        SchemaProgress(quiet, quiet.detail)(Event("plan", schema="public", count=1))
        quiet.detail("anything")
    assert capsys.readouterr().err == ""
