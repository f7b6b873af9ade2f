"""verify and apply --verify on a real PostgreSQL (the session server, or a throwaway one)."""

from __future__ import annotations

import time

from support_dbstate import databases
from support_git import FIXTURES, copy_project, git, init_repo, snapshot
from typer.testing import CliRunner

from tenantfix.cli import app

BRANCH = "tenantfix/shared-user-app"

BROKEN_MIGRATION = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]
    operations = [migrations.RunSQL("UPDATE tenants_tenant SET no_such_column = 1")]
"""


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_verify_reports_the_writeup_failure_on_a_throwaway_server(tmp_path):
    project = copy_project(FIXTURES / "writeup_project", tmp_path / "portal")
    started = time.monotonic()
    result = invoke("verify", str(project))
    elapsed = time.monotonic() - started
    assert result.exit_code == 4, result.output
    out = result.stdout
    assert "FAILED  migrate_schemas --shared" in out
    assert "migration: admin.0001_initial" in out
    assert (
        'error:     django.db.utils.ProgrammingError: relation "users_user" does not exist' in out
    )
    assert "skipped create 2 tenants with domains" in out and "skipped migrate_schemas" in out
    assert "a throwaway PostgreSQL 1" in out
    assert not list(project.rglob("__pycache__"))
    print(f"verify (broken, throwaway server): {elapsed:.2f} s")


def test_apply_verify_commits_and_verify_ref_passes(writeup_repo, pg_server):
    dbs_before = databases(pg_server)
    applied = invoke("apply", "--verify", "--database-url", pg_server.url, str(writeup_repo))
    assert applied.exit_code == 0, applied.output
    assert "ok      migrate_schemas --shared" in applied.stderr
    assert "Verification passed." in applied.stderr
    assert BRANCH in git(writeup_repo, "branch", "--list", BRANCH)

    before = snapshot(writeup_repo)
    started = time.monotonic()
    verified = invoke("verify", str(writeup_repo), "--ref", BRANCH, "--database-url", pg_server.url)
    elapsed = time.monotonic() - started
    assert verified.exit_code == 0, verified.output
    lines = verified.stdout.splitlines()
    assert any(line.startswith("ok      migrate_schemas --shared", 2) for line in lines)
    assert any(line.startswith("ok      create 2 tenants with domains", 2) for line in lines)
    assert any(line.startswith("ok      migrate_schemas (", 2) for line in lines)
    assert f"({BRANCH})" in lines[0] and "scratch database tenantfix_verify_" in lines[0]
    # the user's checkout and the server are as they were: scratch databases are dropped
    assert snapshot(writeup_repo) == before
    assert databases(pg_server) == dbs_before
    assert "tenantfix-worktree" not in git(writeup_repo, "worktree", "list")
    print(f"verify --ref (fixed, session server): {elapsed:.2f} s")


def test_apply_verify_commits_nothing_when_the_fixed_tree_still_fails(tmp_path, pg_server):
    project = copy_project(FIXTURES / "writeup_project", tmp_path / "portal")
    # a shared-app migration no settings fix can repair
    (project / "tenants" / "migrations" / "0002_broken.py").write_text(BROKEN_MIGRATION)
    repo = init_repo(project)
    before = snapshot(repo)
    result = invoke("apply", "--verify", "--database-url", pg_server.url, str(repo))
    assert result.exit_code == 4, result.output
    assert "nothing was written or committed" in result.stderr
    assert "migration: tenants.0002_broken" in result.stderr
    assert 'column "no_such_column" of relation "tenants_tenant" does not exist' in result.stderr
    assert snapshot(repo) == before
    assert git(repo, "branch", "--list", BRANCH) == ""


def test_unreachable_server_and_unknown_role_are_clear_errors(tmp_path, pg_server):
    project = copy_project(FIXTURES / "writeup_project", tmp_path / "portal")
    closed = f"postgresql://app:hunter2-secret@127.0.0.1:{free_port()}/postgres"
    result = invoke("verify", str(project), "--database-url", closed)
    assert result.exit_code == 3
    assert "no PostgreSQL server answers there" in result.stderr
    assert "hunter2-secret" not in result.output
    assert "postgresql://app:***@127.0.0.1" in result.stderr

    ghost = f"postgresql://ghost:hunter2-secret@{pg_server.host}:{pg_server.port}/postgres"
    result = invoke("verify", str(project), "--database-url", ghost)
    assert result.exit_code == 3
    assert "the server has no role 'ghost'" in result.stderr
    assert "hunter2-secret" not in result.output


def test_usage_errors(tmp_path, writeup_repo):
    assert invoke("verify", str(writeup_repo), "--database-url", "mysql://x@y/z").exit_code == 2
    bad_ref = invoke("verify", str(writeup_repo), "--ref", "no-such-branch")
    assert bad_ref.exit_code == 2
    assert "'no-such-branch' is not a commit" in bad_ref.stderr


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


REQUIRED_FIELDS_MIGRATION = """from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial"), migrations.swappable_dependency(settings.AUTH_USER_MODEL)]
    operations = [
        migrations.AddField("tenant", "contact_email", models.EmailField(max_length=254, default="a@b.c"), preserve_default=False),
        migrations.AddField("tenant", "owner", models.ForeignKey(on_delete=models.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL)),
    ]
"""


def test_required_tenant_fields_that_cannot_be_filled_are_named(tmp_path, pg_server):
    project = copy_project(FIXTURES / "writeup_project", tmp_path / "portal")
    assert invoke("apply", "--no-commit", str(project)).exit_code == 0
    models_py = project / "tenants" / "models.py"
    models_py.write_text(
        models_py.read_text()
        .replace(
            "from django.db import models",
            "from django.conf import settings\nfrom django.db import models",
        )
        .replace(
            "    created_on = models.DateField(auto_now_add=True)\n",
            "    created_on = models.DateField(auto_now_add=True)\n"
            "    contact_email = models.EmailField()\n"
            "    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name='+')\n",
        )
    )
    (project / "tenants" / "migrations" / "0002_required.py").write_text(REQUIRED_FIELDS_MIGRATION)
    result = invoke("verify", str(project), "--database-url", pg_server.url)
    assert result.exit_code == 4, result.output
    assert "ok      migrate_schemas --shared" in result.stdout
    assert "FAILED  create 2 tenants with domains" in result.stdout
    # the e-mail got a sample value; the owner cannot be invented
    assert (
        "required fields without a default that tenantfix cannot fill: tenants.Tenant: owner (ForeignKey)."
        in result.stdout
    )


def test_apply_push_verify_runs_the_bot_hook(writeup_repo, tmp_path, pg_server):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(writeup_repo, "remote", "add", "origin", str(remote))
    git(writeup_repo, "push", "-q", "origin", "main")
    result = invoke(
        "apply",
        "--push",
        "--base",
        "main",
        "--verify",
        "--database-url",
        pg_server.url,
        str(writeup_repo),
    )
    assert result.exit_code == 0, result.output
    assert "Verification passed." in result.stderr
    assert BRANCH in git(remote, "branch", "--list", BRANCH)
