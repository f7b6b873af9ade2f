"""repair-db on real databases that already ran the write-up's failing migrate_schemas."""

from __future__ import annotations

import psycopg
from support_dbstate import dump, manage, tables
from support_git import git
from typer.testing import CliRunner

from tenantfix.cli import app
from tenantfix.discover import discover
from tenantfix.graph.build import build_graph
from tenantfix.repair import PUBLIC, MigrationIndex, analyse_schema
from tenantfix.settings import resolve_settings

BRANCH = "tenantfix/shared-user-app"

# With the broken settings the tenant app is shared and `users` is tenant-only, so a tenant
# schema migrates fine (its own users_user): the portal ran like this for a while.
CREATE_TENANT_WITH_DATA = """
from django_tenants.utils import schema_context
from tenants.models import Domain, Tenant
from users.models import User
from documents.models import Document
from notifications.models import Notification
tenant = Tenant(schema_name="acme", name="Acme Accreditation")
tenant.save()  # auto_create_schema: migrate_schemas for acme
Domain.objects.create(domain="acme.localhost", tenant=tenant, is_primary=True)
with schema_context("acme"):
    alice = User.objects.create_user("alice", "alice@acme.test", "pw", role="auditor", tenant=tenant)
    bob = User.objects.create_user("bob", "bob@acme.test", "pw", phone="555-0100")
    Document.objects.create(title="Self-assessment 2024", file="documents/sa.pdf", uploaded_by=alice)
    Document.objects.create(title="Evidence pack", file="documents/ev.zip", uploaded_by=bob)
    Notification.objects.create(recipient=alice, message="Review due")
    Notification.objects.create(recipient=bob, message="Upload evidence", read=True)
print("ok")
"""


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def failed_database(repo, db, *, with_tenant: bool = True) -> None:
    """The user's history on the broken settings: the failing shared migrate, then tenants."""
    failed = manage(repo, db, "migrate_schemas", "--shared")
    assert failed.returncode != 0 and 'relation "users_user" does not exist' in failed.stderr
    if with_tenant:
        assert manage(repo, db, "migrate_schemas", "--shared", "tenants").returncode == 0
        created = manage(repo, db, "shell", "-c", CREATE_TENANT_WITH_DATA)
        assert created.returncode == 0, created.stderr


def switch_to_fix(repo) -> None:
    applied = invoke("apply", str(repo))
    assert applied.exit_code == 0, applied.output
    git(repo, "switch", "-q", BRANCH)


def records(db, schema: str) -> set[tuple[str, str]]:
    with psycopg.connect(db.url) as conn:
        return set(conn.execute(f'SELECT app, name FROM "{schema}".django_migrations').fetchall())


def test_repair_plan_then_execute_keeps_every_row(writeup_repo, pg_database):
    db = pg_database
    failed_database(writeup_repo, db)
    switch_to_fix(writeup_repo)
    # the settings fix alone is not enough: the phantom record brings the same error back
    again = manage(writeup_repo, db, "migrate_schemas", "--shared")
    assert again.returncode != 0 and 'relation "users_user" does not exist' in again.stderr
    before = dump(db)
    records_before = {schema: records(db, schema) for schema in ("public", "acme")}
    assert ("users", "0001_initial") in records_before["public"]
    assert "users_user" not in tables(db, "public")

    plan = invoke("repair-db", str(writeup_repo), "--database-url", db.url)
    assert plan.exit_code == 1, plan.output
    out = plan.stdout
    assert "TF012 public: users.0001_initial recorded as applied" in out
    assert "(users_user)" in out
    assert "1. python manage.py migrate_schemas --schema=public users zero --fake" in out
    assert "2. python manage.py migrate_schemas --shared" in out
    assert "Safe: --fake runs no migration code" in out
    # the tenant's own users_user is reported, not touched
    assert "NOTE acme: holds its own copy of the user model's tables: users_user (2 rows)" in out
    assert "--schema=acme" not in out
    assert dump(db) == before  # printing the plan changed nothing

    executed = invoke("repair-db", str(writeup_repo), "--database-url", db.url, "--execute")
    assert executed.exit_code == 0, executed.output
    assert "Repaired: no phantom migration records remain." in executed.stdout
    assert "users_user" in tables(db, "public")

    shared = manage(writeup_repo, db, "migrate_schemas", "--shared")
    assert shared.returncode == 0, shared.stderr
    everything = manage(writeup_repo, db, "migrate_schemas")
    assert everything.returncode == 0, everything.stderr

    after = dump(db)
    for key, rows in before.items():
        assert key in after, f"table {key} disappeared"
        if key[1] == "django_migrations":
            continue  # bookkeeping, compared by (app, name) below: fake-unapplied, then re-recorded
        missing = rows - after[key]
        assert not missing, f"rows of {key} lost: {missing}"
    data = [
        ("public", "tenants_tenant"),
        ("public", "tenants_domain"),
        ("acme", "users_user"),
        ("acme", "documents_document"),
        ("acme", "notifications_notification"),
    ]
    for key in data:
        assert after[key] == before[key] and sum(before[key].values()) > 0, key
    assert sum(before[("acme", "documents_document")].values()) == 2
    # every migration record is back (the phantom ones re-recorded by a real run)
    for schema, recorded in records_before.items():
        assert recorded <= records(db, schema)
    assert ("admin", "0001_initial") in records(db, "public")


def test_partial_tables_are_refused_and_nothing_changes(writeup_repo, pg_database):
    db = pg_database
    failed_database(writeup_repo, db, with_tenant=False)
    with psycopg.connect(db.url) as conn:
        # auth's tables half there: someone renamed auth_group by hand
        conn.execute("ALTER TABLE public.auth_group RENAME TO auth_group_old")
    switch_to_fix(writeup_repo)
    before = dump(db)

    result = invoke("repair-db", str(writeup_repo), "--database-url", db.url, "--execute")
    assert result.exit_code == 3, result.output
    assert "REFUSED public: app 'auth': its tables partly exist in public" in result.stdout
    assert "present: auth_permission; missing: auth_group" in result.stdout
    assert "Nothing will be run" in result.stdout
    assert dump(db) == before


def test_dependents_that_really_ran_are_refused(writeup_repo):
    """A phantom users app whose `zero --fake` would unrecord admin, which did run in public."""
    git(writeup_repo, "switch", "-q", "-c", "manual-fix")
    settings = writeup_repo / "accreditation_portal" / "settings.py"
    settings.write_text(
        settings.read_text().replace("    'tenants',\n]", "    'tenants',\n    'users',\n]", 1)
    )
    location = discover(writeup_repo)
    graph = build_graph(location.root, resolve_settings(location))
    index = MigrationIndex(graph)
    recorded = {
        ("users", "0001_initial"),
        ("admin", "0001_initial"),
        ("accreditation", "0001_initial"),
    }
    phantoms, refusals = analyse_schema(index, PUBLIC, recorded, {"django_admin_log"})
    assert phantoms == []
    assert [r.app_label for r in refusals] == ["users"]
    assert "would also unrecord admin.0001_initial" in refusals[0].reason
    # accreditation is tenant-only: unrecording it in public is bookkeeping, not refused
    assert "accreditation" not in refusals[0].reason

    phantoms, refusals = analyse_schema(
        index, PUBLIC, recorded - {("admin", "0001_initial")}, set()
    )
    assert refusals == []
    assert [(p.app_label, p.records, p.dependents) for p in phantoms] == [
        ("users", ("users.0001_initial",), ("accreditation.0001_initial",))
    ]


def test_not_a_django_tenants_database_and_bad_connections(writeup_repo, pg_server, pg_database):
    empty = invoke("repair-db", str(writeup_repo), "--database-url", pg_database.url)
    assert empty.exit_code == 3
    assert "is not a Django database: public has no django_migrations table" in empty.stderr

    with psycopg.connect(pg_database.url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE django_migrations (id serial, app text, name text, applied timestamptz)"
        )
    blank = invoke("repair-db", str(writeup_repo), "--database-url", pg_database.url)
    assert blank.exit_code == 3
    assert "its django_migrations table is empty" in blank.stderr
    assert "Expected in public.django_migrations: records of this project's migrations" in (
        blank.stderr
    )
    assert "users.0001_initial" in blank.stderr

    # another project's database: Django's own apps and apps this project does not have
    with psycopg.connect(pg_database.url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES "
            "('auth', '0001_initial', now()), ('blog', '0001_initial', now())"
        )
    plain = invoke("repair-db", str(writeup_repo), "--database-url", pg_database.url)
    assert plain.exit_code == 3
    assert (
        "is not a django-tenants database for this project: public has no tenants_tenant table "
        "(TENANT_MODEL tenants.Tenant), and it records migrations of apps this project does "
        "not have: blog." in plain.stderr
    )

    ghost = f"postgresql://ghost:pa55-word@{pg_server.host}:{pg_server.port}/{pg_database.name}"
    denied = invoke("repair-db", str(writeup_repo), "--database-url", ghost)
    assert denied.exit_code == 3
    assert "cannot connect to postgresql://ghost:***@" in denied.stderr
    assert "pa55-word" not in denied.output

    missing = invoke("repair-db", str(writeup_repo))
    assert missing.exit_code == 2 and "--database-url is required" in missing.stderr
