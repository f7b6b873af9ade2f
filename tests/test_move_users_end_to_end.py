"""Issue 16's "Done when", on a real PostgreSQL: the write-up project as its own "Solution 1"
leaves it (the user app in both lists), migrated and filled in two tenants, becomes a
global-users project by the README runbook's commands, in the runbook's order, and every row of
every schema is accounted for.

RUNBOOK is what the README's "Moving users from per-tenant to global" section shows; a test
below checks that the README shows exactly these commands.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from support_dbstate import manage
from support_git import FIXTURES, copy_project, git, init_repo
from typer.testing import CliRunner

from tenantfix.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"
SETTINGS = "accreditation_portal/settings.py"
BRANCH = "tenantfix/shared-user-app"
BACKUP = "__tenantfix_backup"
RECORDS = {"tenantfix_user_map", "tenantfix_user_move_log"}

# The runbook, command by command ($DATABASE_URL: the database's URL).
RUNBOOK = (
    "tenantfix check",
    "tenantfix apply --unsafe-fixes",
    "git switch tenantfix/shared-user-app",
    'tenantfix move-users --database-url "$DATABASE_URL"',
    'tenantfix move-users --database-url "$DATABASE_URL" --on-conflict suffix-schema',
    'tenantfix move-users --database-url "$DATABASE_URL" --on-conflict suffix-schema --verify',
    'tenantfix move-users --database-url "$DATABASE_URL" --on-conflict suffix-schema --execute',
    "python manage.py migrate_schemas",
    "tenantfix check",
)

# The write-up's Solution 1, as it prints it: users added to SHARED_APPS, kept in TENANT_APPS.
SOLUTION_1 = (
    ("    'tenants',\n]", "    'tenants',\n    'users',  # Add your users app to SHARED_APPS\n]"),
    (
        "    'users',\n    'accreditation',",
        "    'users',  # Keep users in both if needed\n    'accreditation',",
    ),
)

# Two tenants; per tenant users with known passwords; alice is one person in both tenants (same
# e-mail), bob two people (another e-mail each); rows in every tenant app that references the
# user, admin LogEntry rows, a group membership; root is public's own superuser.
POPULATE = r"""
import datetime
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django_tenants.utils import schema_context
from accreditation.models import Assessment, Standard
from audit.models import AuditEntry
from documents.models import Document
from notifications.models import Notification
from tenants.models import Domain, Tenant
from users.models import User

root = User.objects.create_superuser("root", "root@portal.test", "pw-public-root")
LogEntry.objects.log_action(root.pk, ContentType.objects.get_for_model(User).pk, root.pk,
                            "root", ADDITION, "public")
PEOPLE = {
    "acme": [("alice", "alice@example.com"), ("bob", "bob@acme.test"), ("ann", "ann@acme.test")],
    "globex": [("alice", "Alice@Example.com"), ("bob", "bob@globex.test"),
               ("gus", "gus@globex.test")],
}
for schema, people in PEOPLE.items():
    tenant = Tenant(schema_name=schema, name=schema.title())
    tenant.save()
    Domain.objects.create(domain=schema + ".localhost", tenant=tenant, is_primary=True)
    with schema_context(schema):
        users = [
            User.objects.create_user(name, email, "pw-%s-%s" % (schema, name), tenant=tenant,
                                     role="org_admin" if i == 0 else "dept_user",
                                     is_staff=(i == 0))
            for i, (name, email) in enumerate(people)
        ]
        reviewers = Group.objects.create(name="reviewers")
        users[0].groups.add(reviewers)
        standard = Standard.objects.create(code="S-" + schema, title="Standard of " + schema)
        user_type = ContentType.objects.get_for_model(User)
        for i, user in enumerate(users):
            Document.objects.create(title="doc %d" % i, file="documents/%d.pdf" % i,
                                    uploaded_by=user)
            Notification.objects.create(recipient=user, message="hello %s" % user.username)
            AuditEntry.objects.create(actor=user if i % 2 == 0 else None, action="login")
            LogEntry.objects.log_action(users[0].pk, user_type.pk, user.pk, user.username,
                                        ADDITION, "created")
        Assessment.objects.create(standard=standard, assessor=users[1],
                                  started_on=datetime.date(2026, 1, 1))
        Assessment.objects.create(standard=standard, assessor=None,
                                  started_on=datetime.date(2026, 2, 1))
print("populated")
"""

# Every moved user logs in with their own password; alice of globex is alice of acme now.
LOGINS = (
    ("root", "pw-public-root"),
    ("alice", "pw-acme-alice"),
    ("bob", "pw-acme-bob"),
    ("ann", "pw-acme-ann"),
    ("bob.globex", "pw-globex-bob"),
    ("gus", "pw-globex-gus"),
)
CHECK_PASSWORDS = r"""
from users.models import User
for username, password in LOGINS:
    user = User.objects.get(username=username)
    print("LOGIN", username, "ok" if user.check_password(password) else "BAD")
"""
TENANT_READS = r"""
from django_tenants.utils import schema_context
from documents.models import Document
for schema in ("acme", "globex"):
    with schema_context(schema):
        print("DOCS", schema, sorted(d.uploaded_by.username for d in Document.objects.all()))
"""


def ok(result) -> str:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def schemas_and_tables(db) -> dict[tuple[str, str], list[dict]]:
    """Every row of every table of every non-system schema."""
    out: dict[tuple[str, str], list[dict]] = {}
    with psycopg.connect(db.url, row_factory=dict_row) as conn:
        names = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
        ).fetchall()
        for row in names:
            query = sql.SQL("SELECT * FROM {}.{}").format(
                sql.Identifier(row["schemaname"]), sql.Identifier(row["tablename"])
            )
            out[(row["schemaname"], row["tablename"])] = conn.execute(query).fetchall()
    return out


def user_fk_columns(db, schema: str) -> list[tuple[str, str, str]]:
    """(table, column, referenced table) of every single-column FK from ``schema`` to a user
    table, read from pg_constraint."""
    with psycopg.connect(db.url) as conn:
        rows = conn.execute(
            "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text "
            "FROM pg_constraint c JOIN pg_attribute a "
            "  ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "JOIN pg_class r ON r.oid = c.confrelid "
            "WHERE c.contype = 'f' AND n.nspname = %s AND r.relname = 'users_user'",
            (schema,),
        ).fetchall()
    return [(table.rpartition(".")[2], column, target) for table, column, target in rows]


def canonical(rows: list[dict]) -> Counter[str]:
    return Counter(repr(sorted(r.items())) for r in rows)


def commands(text: str) -> list[str]:
    """The runbook's shell lines from the README section (the ```sh block after 'Runbook')."""
    section = text.split("## Moving users from per-tenant to global", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the README's move-users section has no ```sh runbook block"
    lines = [line.split("  #", 1)[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_the_readme_runbook_is_the_tested_one():
    assert commands(README.read_text()) == list(RUNBOOK)


def run_step(step: str, repo: Path, db) -> tuple[int, str]:
    """One runbook line, as a user types it in the project's directory."""
    argv = shlex.split(step.replace('"$DATABASE_URL"', shlex.quote(db.url)))
    if argv[0] == "tenantfix":
        result = CliRunner().invoke(app, argv[1:])
        return result.exit_code, result.output
    if argv[0] == "git":
        return 0, git(repo, *argv[1:])
    assert argv[:2] == ["python", "manage.py"], step
    done = manage(repo, db, *argv[2:])
    return done.returncode, done.stdout + done.stderr


def test_solution_1_project_becomes_global_users_by_the_runbook(pg_server, tmp_path, monkeypatch):
    project = copy_project(FIXTURES / "writeup_project", tmp_path / "portal")
    settings = project / SETTINGS
    text = settings.read_text()
    for old, new in SOLUTION_1:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    settings.write_text(text)
    db = pg_server.create_database("e2e_solution_1")
    # the write-up's Solution 2 step first: makemigrations for the app that had none (audit)
    ok(manage(project, db, "makemigrations", "audit"))
    repo = init_repo(project)
    ok(manage(repo, db, "migrate_schemas", "--shared"))
    ok(manage(repo, db, "shell", "-c", POPULATE))
    ok(manage(repo, db, "migrate_schemas"))
    before = schemas_and_tables(db)
    tenant_fks = {s: user_fk_columns(db, s) for s in ("acme", "globex")}
    # the Solution 1 database: each tenant has its own users and its rows reference them
    for schema in ("acme", "globex"):
        assert len(before[(schema, "users_user")]) == 3
        assert {(t, c) for t, c, _ in tenant_fks[schema]} >= {
            ("documents_document", "uploaded_by_id"),
            ("notifications_notification", "recipient_id"),
            ("audit_auditentry", "actor_id"),
            ("accreditation_assessment", "assessor_id"),
            ("django_admin_log", "user_id"),
            ("users_user_groups", "user_id"),
            ("users_user_user_permissions", "user_id"),
        }
        assert all(target == f"{schema}.users_user" for _, _, target in tenant_fks[schema])
    assert [r["username"] for r in before[("public", "users_user")]] == ["root"]

    monkeypatch.chdir(repo)
    steps = iter(RUNBOOK)

    def next_step() -> tuple[int, str]:
        return run_step(next(steps), repo, db)

    code, out = next_step()  # check: TF011, a warning (exit 0)
    assert code == 0, out
    assert "TF011 warning: the user app 'users' (users.User) is in both" in out
    assert "tenantfix apply --unsafe-fixes" in out
    code, out = next_step()  # apply --unsafe-fixes: the settings commit on a branch
    assert code == 0, out
    assert f"Committed the fix on branch '{BRANCH}'" in out and "tenantfix move-users" in out
    diff = git(repo, "diff", f"main...{BRANCH}")
    assert "-    'users',  # Keep users in both if needed" in diff
    assert diff.count("\n-    ") == 1 and diff.count("\n+    ") == 0, diff  # no migration
    assert "tenantfix move-users" in git(repo, "log", "-1", "--format=%B", BRANCH)
    code, out = next_step()  # git switch
    assert git(repo, "branch", "--show-current").strip() == BRANCH
    code, out = next_step()  # the plan: bob of globex is another person
    assert code == 3, out
    assert "CLASH globex: user 'bob'" in out and out.count("CLASH") == 1
    assert schemas_and_tables(db) == before
    code, out = next_step()  # the plan with suffix-schema
    assert code == 1, out
    assert "insert 5 user(s) into public.users_user in 2 schema(s)" in out
    assert "map 1 user(s) onto the public user with the same email" in out
    assert "'bob' -> 'bob.globex'" in out
    assert "rewrite documents_document.uploaded_by_id (6 value(s) in 2 schema(s))" in out
    assert schemas_and_tables(db) == before
    code, out = next_step()  # --verify: the whole move and its proofs on a clone
    assert code == 1, out  # like the plan: nothing was run on the real database
    assert "Proven: every schema moved" in out and "nothing was changed in" in out
    assert schemas_and_tables(db) == before
    code, out = next_step()  # --execute
    assert code == 0, out
    assert "Moved: every user of 2 schema(s) is in public.users_user" in out
    code, out = next_step()  # migrate_schemas applies nothing
    assert code == 0, out
    assert "Applying" not in out and out.count("No migrations to apply") == 3, out
    code, out = next_step()  # check: no TF001, no TF011
    assert code == 0, out
    assert "TF011" not in out and "TF001" not in out
    assert next(steps, None) is None  # every runbook command ran

    after = schemas_and_tables(db)
    with psycopg.connect(db.url) as conn:
        mapping = {
            (schema, int(old)): int(new)
            for schema, old, new in conn.execute(
                "SELECT schema, old_id, new_id FROM public.tenantfix_user_map"
            ).fetchall()
        }
        created = conn.execute(
            "SELECT count(*) FROM public.tenantfix_user_map WHERE created"
        ).fetchone()[0]
    assert len(mapping) == 6 and created == 5

    # every row of every schema accounted for
    for (schema, table), rows in before.items():
        if schema == "public" and table == "users_user":
            kept = canonical(after[(schema, table)])
            assert canonical(rows) - kept == Counter()  # public's own users untouched
            assert len(after[(schema, table)]) == len(rows) + created
            continue
        if schema == "public" or table == "django_migrations":
            if table == "django_migrations":
                assert canonical(rows) - canonical(after[(schema, table)]) == Counter()
            else:
                assert canonical(after[(schema, table)]) == canonical(rows), (schema, table)
            continue
        if table.startswith("users_user"):  # the tenant's user tables: renamed, never dropped
            assert (schema, table) not in after
            assert canonical(after[(schema, table + BACKUP)]) == canonical(rows), table
            continue
        fks = {c for t, c, _ in tenant_fks[schema] if t == table}
        expected = [
            {k: (mapping[(schema, v)] if k in fks and v is not None else v) for k, v in r.items()}
            for r in rows
        ]
        assert canonical(after[(schema, table)]) == canonical(expected), (schema, table)
    added = set(after) - set(before)
    assert added == {("public", t) for t in RECORDS} | {
        (s, t + BACKUP)
        for s in ("acme", "globex")
        for t in ("users_user", "users_user_groups", "users_user_user_permissions")
    }
    # every user FK of every tenant table resolves, to public.users_user
    public_ids = {r["id"] for r in after[("public", "users_user")]}
    for schema in ("acme", "globex"):
        for table, column, target in user_fk_columns(db, schema):
            assert target == "users_user", (schema, table, target)  # public's (search_path)
            values = {r[column] for r in after[(schema, table)]} - {None}
            assert values <= public_ids, (schema, table, column)
    # the moved users log in with their own passwords, in the project's Django
    logins = ok(manage(repo, db, "shell", "-c", f"LOGINS = {LOGINS!r}\n" + CHECK_PASSWORDS))
    assert logins.count(" ok") == len(LOGINS) and "BAD" not in logins, logins
    # and the tenants' code reads them through the rewritten foreign keys
    docs = ok(manage(repo, db, "shell", "-c", TENANT_READS))
    assert "DOCS acme ['alice', 'ann', 'bob']" in docs
    assert "DOCS globex ['alice', 'bob.globex', 'gus']" in docs
