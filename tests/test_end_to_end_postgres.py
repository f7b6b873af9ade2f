"""The whole story on a real PostgreSQL: the write-up project fails exactly as reported,
`tenantfix apply` makes a branch, and on that branch the shared and tenant migrations succeed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
from support_git import git
from typer.testing import CliRunner

from tenantfix.cli import app

BRANCH = "tenantfix/shared-user-app"

CREATE_TENANT = """
from tenants.models import Domain, Tenant
tenant = Tenant(schema_name="acme", name="Acme")
tenant.save()
Domain.objects.create(domain="acme.localhost", tenant=tenant, is_primary=True)
print("tenant created")
"""


def manage(project: Path, db, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DB_NAME": db.name,
        "DB_USER": db.user,
        "DB_PASSWORD": db.password,
        "DB_HOST": db.host,
        "DB_PORT": str(db.port),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def tables(db, schema: str) -> set[str]:
    with psycopg.connect(db.url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchall()
    return {r[0] for r in rows}


def test_writeup_project_fails_then_the_fix_branch_migrates(writeup_repo, pg_server):
    broken_db = pg_server.create_database("e2e_broken")
    failed = manage(writeup_repo, broken_db, "migrate_schemas", "--shared")
    assert failed.returncode != 0
    assert "Applying admin.0001_initial..." in failed.stdout
    assert 'django.db.utils.ProgrammingError: relation "users_user" does not exist' in failed.stderr

    check = CliRunner().invoke(app, ["check", str(writeup_repo)])
    assert check.exit_code == 1
    assert "TF001" in check.output and "TF005" in check.output
    assert '`admin.0001_initial` with `relation "users_user" does not exist`' in check.output

    applied = CliRunner().invoke(app, ["apply", str(writeup_repo)])
    assert applied.exit_code == 0, applied.output
    git(writeup_repo, "switch", "-q", BRANCH)

    fresh_db = pg_server.create_database("e2e_fixed")
    shared = manage(writeup_repo, fresh_db, "migrate_schemas", "--shared")
    assert shared.returncode == 0, shared.stderr
    assert "users_user" in tables(fresh_db, "public")

    created = manage(writeup_repo, fresh_db, "shell", "-c", CREATE_TENANT)
    assert created.returncode == 0, created.stderr
    everything = manage(writeup_repo, fresh_db, "migrate_schemas")
    assert everything.returncode == 0, everything.stderr

    public, tenant = tables(fresh_db, "public"), tables(fresh_db, "acme")
    assert {"users_user", "tenants_tenant", "tenants_domain", "django_admin_log"} <= public
    assert {"audit_auditentry", "documents_document", "accreditation_assessment"} <= tenant
    # the user app moved out of TENANT_APPS: no tenant copy shadows public.users_user
    assert "users_user" not in tenant
