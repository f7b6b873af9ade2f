"""On a real PostgreSQL: with ``tenantfix.django`` installed, ``migrate_schemas --shared`` on the
write-up project stops at the system checks, before anything is written to the database; the
fixed project migrates."""

from __future__ import annotations

import shutil

import psycopg
from support_django_app import copy_fixture, install_in_shared_apps, manage


def _db_env(db) -> dict[str, str]:
    return {
        "DB_NAME": db.name,
        "DB_USER": db.user,
        "DB_PASSWORD": db.password,
        "DB_HOST": db.host,
        "DB_PORT": str(db.port),
    }


def _public(db) -> tuple[set[str], list[tuple[str, str]] | None]:
    """Tables in public, and django_migrations' rows (None: the table does not exist)."""
    with psycopg.connect(db.url) as conn:
        tables = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        rows = None
        if "django_migrations" in tables:
            rows = conn.execute("SELECT app, name FROM public.django_migrations").fetchall()
    return tables, rows


def test_migrate_schemas_shared_stops_before_touching_the_database(tmp_path, pg_database):
    root = copy_fixture("writeup_project", tmp_path)
    # without the app this very command fails half-way (tests/test_end_to_end_postgres.py)
    install_in_shared_apps(root)
    proc = manage(root, "migrate_schemas", "--shared", env=_db_env(pg_database))
    assert proc.returncode == 1
    assert proc.stderr.startswith("SystemCheckError: System check identified some issues:")
    assert "(tenantfix.E001) user app 'users'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Applying" not in proc.stdout
    tables, rows = _public(pg_database)
    assert rows in (None, [])  # nothing recorded: no phantom migration for repair-db to undo
    assert tables == set()


def test_fixed_project_migrates_with_the_app_installed(fixed_project, tmp_path, pg_database):
    root = shutil.copytree(
        fixed_project, tmp_path / "portal", ignore=shutil.ignore_patterns(".git")
    )
    install_in_shared_apps(root)
    proc = manage(root, "migrate_schemas", "--shared", env=_db_env(pg_database))
    assert proc.returncode == 0, proc.stderr
    tables, rows = _public(pg_database)
    assert {"users_user", "django_admin_log", "tenants_tenant"} <= tables
    assert rows is not None and ("users", "0001_initial") in rows
    assert not any(app == "tenantfix" for app, _ in rows)  # the app has no migrations
