"""move-users on a real PostgreSQL: the write-up's Solution 1 layout (the user app, with a custom
db_table, in both lists) with three tenants of five users each, tables with FKs to the user
(nullable and not, CASCADE and PROTECT, an O2O), user memberships of groups; then the settings
fix (accounts SHARED-only) and the move. Every row compared by content."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from support_dbstate import dump, manage, tables
from support_git import FIXTURES, copy_project, git, init_repo
from typer.testing import CliRunner

from tenantfix.cli import app
from tenantfix.moveusers.execute import execute_move
from tenantfix.moveusers.mapping import Match, OnConflict
from tenantfix.moveusers.plan import plan_move

SETTINGS = "hub/settings.py"
RECORD_TABLES = {"tenantfix_user_map", "tenantfix_user_move_log"}
_names = itertools.count(1)

POPULATE = r"""
from django.contrib.auth.models import Group
from django_tenants.utils import schema_context
from accounts.models import Person
from customers.models import Client, Domain
from desk.models import Profile, Ticket
Person.objects.create_superuser("root", "root@example.com", "root-pass")  # public's own user
USERS = {
    # alice: the same person in acme and globex (same e-mail); bob: two different people
    "acme": [("alice", "alice@example.com"), ("bob", "bob@acme.test"), ("ann", "ann@acme.test"),
             ("al", "al@acme.test"), ("amy", "amy@acme.test")],
    "globex": [("alice", "ALICE@example.com"), ("carol", "carol@globex.test"),
               ("gus", "gus@globex.test"), ("gil", "gil@globex.test"), ("gwen", "")],
    "initech": [("bob", "bob@initech.test"), ("ida", "ida@initech.test"),
                ("ike", "ike@initech.test"), ("ivy", "ivy@initech.test"),
                ("ian", "ian@initech.test")],
}
for schema, people in USERS.items():
    client = Client(schema_name=schema, name=schema.title())
    client.save()
    Domain.objects.create(domain=schema + ".localhost", tenant=client, is_primary=True)
    with schema_context(schema):
        staff = Group.objects.create(name="staff-" + schema)
        made = []
        for i, (username, email) in enumerate(people):
            user = Person.objects.create_user(
                username, email, "pw-%s-%s" % (schema, username), phone="555-%d" % i,
                is_staff=(i == 0),
            )
            made.append(user)
            Profile.objects.create(user=user, bio="bio of %s in %s" % (username, schema))
        made[0].groups.add(staff)
        made[1].groups.add(staff)
        for i, user in enumerate(made):
            Ticket.objects.create(title="t%d" % i, owner=user,
                                  assignee=made[(i + 1) % len(made)] if i % 2 else None)
print("ok")
"""

CHECK_PASSWORD = r"""
from accounts.models import Person
user = Person.objects.get(username=USERNAME)
print("PASSWORD-OK" if user.check_password(PASSWORD) else "PASSWORD-BAD", user.username)
"""


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def ok(result) -> None:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]


def users_shared_only(repo) -> None:
    """The settings fix: accounts leaves TENANT_APPS (what `tenantfix apply` writes)."""
    path = repo / SETTINGS
    text = path.read_text()
    fixed = text.replace(
        '    "django.contrib.auth",\n    "accounts",\n    "desk",',
        '    "django.contrib.auth",\n    "desk",',
    )
    assert fixed != text
    path.write_text(fixed)


@pytest.fixture(scope="module")
def hub_template(pg_server, tmp_path_factory):
    """One migrated, populated database per module; each test gets a TEMPLATE copy."""
    repo = init_repo(
        copy_project(FIXTURES / "move_users_project", tmp_path_factory.mktemp("hub") / "hub")
    )
    db = pg_server.create_database(f"hub_template_{os.getpid()}")
    ok(manage(repo, db, "migrate_schemas", "--shared"))
    ok(manage(repo, db, "shell", "-c", POPULATE))
    yield db
    pg_server.drop_database(db.name)


@pytest.fixture
def hub(pg_server, hub_template, tmp_path) -> Iterator[tuple[object, object]]:
    """(repo with the settings fix applied, a database copied from the template)."""
    repo = init_repo(copy_project(FIXTURES / "move_users_project", tmp_path / "hub"))
    users_shared_only(repo)
    name = f"hub_{os.getpid()}_{next(_names)}"
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(hub_template.name)
            )
        )
    db = hub_template.with_name(name)
    try:
        yield repo, db
    finally:
        pg_server.drop_database(name)


def rows(db, query: str, *args: object) -> list[tuple[object, ...]]:
    with psycopg.connect(db.url) as conn:
        return conn.execute(query, args).fetchall()


def data(db) -> dict:
    return {k: v for k, v in dump(db).items() if k[1] not in RECORD_TABLES}


def test_settings_not_fixed_is_refused_and_nothing_changes(hub):
    repo, db = hub
    (repo / SETTINGS).write_text(
        (repo / SETTINGS)
        .read_text()
        .replace(
            '    "django.contrib.auth",\n    "desk",',
            '    "django.contrib.auth",\n    "accounts",\n    "desk",',
        )
    )
    before = dump(db)
    result = invoke("move-users", str(repo), "--database-url", db.url, "--execute")
    assert result.exit_code == 3, result.output
    assert "the user app 'accounts' is still in TENANT_APPS" in result.output
    assert "Traceback" not in result.output
    assert dump(db) == before


def test_settings_module_without_app_lists_is_a_usage_error(hub):
    """manage.py's default can be a package whose real settings are chosen with --settings."""
    repo, db = hub
    result = invoke("move-users", str(repo), "--database-url", db.url, "--settings", "hub")
    assert result.exit_code == 2, result.output
    assert "the settings module hub (hub/__init__.py) defines no SHARED_APPS" in result.output


def test_plan_names_every_clash_and_groups_actions(hub):
    repo, db = hub
    before = dump(db)
    refused = invoke("move-users", str(repo), "--database-url", db.url, "--execute")
    assert refused.exit_code == 3, refused.output
    # bob of initech is another person (another e-mail) whose username acme's bob takes first
    assert "CLASH initech: user 'bob'" in refused.stdout
    assert "username 'bob' is already taken by a public user" in refused.stdout
    assert refused.stdout.count("CLASH") == 1
    assert dump(db) == before

    plan = invoke(
        "move-users", str(repo), "--database-url", db.url, "--on-conflict", "suffix-schema"
    )
    assert plan.exit_code == 1, plan.output
    out = plan.stdout
    assert "Tenant schemas: 3 (3 to move, 0 already moved, 0 without the user table people)" in out
    # alice of globex is alice of acme (same e-mail, other case): 14 inserted, 1 mapped
    assert "insert 14 user(s) into public.people in 3 schema(s)" in out
    assert "map 1 user(s) onto the public user with the same email in 3 schema(s)" in out
    assert "rename 1 clashing value(s) with the schema suffix: 'bob' -> 'bob.initech'" in out
    # every FK column read from pg_constraint, one line each with the counts of all schemas
    assert "rewrite desk_ticket.owner_id (15 value(s) in 3 schema(s))" in out
    assert "rewrite desk_ticket.assignee_id (6 value(s) in 3 schema(s))" in out
    assert "rewrite desk_profile.user_id (15 value(s) in 3 schema(s))" in out
    # auth is in both lists: the memberships stay (tests/test_move_users_memberships.py)
    assert (
        "DECISION people_groups: 6 membership(s) in 3 schema(s) are not moved (auth is in "
        "TENANT_APPS as well as SHARED_APPS" in out
    )
    assert "kept in people_groups__tenantfix_backup" in out
    verbose = invoke(
        "move-users",
        str(repo),
        "--database-url",
        db.url,
        "--on-conflict",
        "suffix-schema",
        "--verbose",
    )
    assert (
        "  initech:" in verbose.stdout
        and "    insert 5 user(s) into public.people" in verbose.stdout
    )
    assert dump(db) == before


def moved_state(db) -> None:
    """The proofs of the move, from the test's side."""
    assert "people" not in tables(db, "acme")
    assert {"people__tenantfix_backup", "people_groups__tenantfix_backup"} <= tables(db, "acme")
    for schema in ("acme", "globex", "initech"):
        dangling = rows(
            db,
            f'SELECT count(*) FROM "{schema}".desk_ticket t WHERE NOT EXISTS '
            "(SELECT 1 FROM public.people p WHERE p.id = t.owner_id)",
        )
        assert dangling == [(0,)]
        # the recreated constraint references public.people, deferrable as Django makes them
        cons = rows(
            db,
            "SELECT confrelid::regclass::text, condeferrable, condeferred FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            f'"{schema}".desk_profile',
        )
        assert cons == [("people", True, True)]


def test_execute_verify_proofs_then_undo_restores_every_row(hub, pg_server):
    repo, db = hub
    before = data(db)
    result = invoke(
        "move-users",
        str(repo),
        "--database-url",
        db.url,
        "--execute",
        "--verify",
        "--on-conflict",
        "suffix-schema",
    )
    assert result.exit_code == 0, result.output
    assert "Proof on a clone" in result.stdout and "  Proven:" in result.stdout
    assert "Moved: every user of 3 schema(s) is in public.people" in result.stdout
    moved_state(db)
    # public: root + 14 inserted; acme's and globex's alice are one user
    assert rows(db, "SELECT count(*) FROM public.people") == [(15,)]
    alice = rows(
        db,
        "SELECT DISTINCT new_id FROM public.tenantfix_user_map m JOIN "
        "public.people p ON p.id::text = m.new_id WHERE p.username = 'alice'",
    )
    assert len(alice) == 1
    assert rows(db, "SELECT count(*) FROM public.tenantfix_user_map") == [(15,)]
    assert rows(db, "SELECT email FROM public.people WHERE username = 'bob.initech'") == [
        ("bob@initech.test",)
    ]
    # check_password in the project's interpreter against the moved users' real passwords
    for username, password in (("carol", "pw-globex-carol"), ("bob.initech", "pw-initech-bob")):
        check = manage(
            repo,
            db,
            "shell",
            "-c",
            f"USERNAME={username!r}\nPASSWORD={password!r}\n" + CHECK_PASSWORD,
        )
        ok(check)
        assert "PASSWORD-OK" in check.stdout, check.stdout
    migrate = manage(repo, db, "migrate_schemas")
    ok(migrate)
    assert "Applying" not in migrate.stdout, migrate.stdout
    # the tenants' apps now read the public users through the rewritten foreign keys
    seen = manage(
        repo,
        db,
        "shell",
        "-c",
        "from django_tenants.utils import schema_context\nfrom desk.models import Ticket\n"
        "with schema_context('initech'):\n"
        "    print(sorted({t.owner.username for t in Ticket.objects.all()}))",
    )
    ok(seen)
    assert "'bob.initech'" in seen.stdout and "'ida'" in seen.stdout

    again = invoke("move-users", str(repo), "--database-url", db.url, "--execute")
    assert again.exit_code == 0, again.output
    assert "3 already moved" in again.stdout and "Nothing to move." in again.stdout

    undone = invoke("move-users", str(repo), "--database-url", db.url, "--undo")
    assert undone.exit_code == 0, undone.output
    assert data(db) == before
    assert rows(db, "SELECT count(*) FROM public.tenantfix_user_map WHERE undone_at IS NULL") == [
        (0,)
    ]
    assert invoke("move-users", str(repo), "--database-url", db.url, "--undo").stdout.startswith(
        "Nothing to undo"
    )


@pytest.mark.parametrize(
    ("match", "on_conflict", "public_users"),
    [
        (Match.username, OnConflict.fail, 14),  # alice and bob each one person: 13 inserted
        (Match.none, OnConflict.suffix_schema, 16),  # everyone inserted; alice, bob suffixed
    ],
)
def test_execute_under_other_policies_and_undo(hub, match, on_conflict, public_users):
    repo, db = hub
    before = data(db)
    result = invoke(
        "move-users",
        str(repo),
        "--database-url",
        db.url,
        "--execute",
        "--match",
        match.value,
        "--on-conflict",
        on_conflict.value,
    )
    assert result.exit_code == 0, result.output
    moved_state(db)
    assert rows(db, "SELECT count(*) FROM public.people") == [(public_users,)]
    # undo also after the code went back to per-tenant users (accounts in TENANT_APPS again)
    git(repo, "checkout", "--", SETTINGS)
    undone = invoke("move-users", str(repo), "--database-url", db.url, "--undo")
    assert undone.exit_code == 0, undone.output
    assert data(db) == before


def test_connection_killed_in_the_second_schema_then_rerun_completes(hub):
    repo, db = hub
    plan = plan_move(repo, db.url, on_conflict=OnConflict.suffix_schema)
    before = dump(db)

    def kill(schema: str, conn) -> None:
        if schema == "globex":  # inside globex's transaction, after its FKs were rewritten
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            with psycopg.connect(db.url, autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", (pid,))

    run = execute_move(plan, hook=kill)
    assert [s for s, _, _ in run.moved] == ["acme"]
    assert run.failed is not None and run.failed[0] == "globex"
    assert "connection to the database was lost" in run.failed[1]
    after = dump(db)
    for key, content in before.items():
        if key[0] in ("globex", "initech"):
            assert after[key] == content, key  # untouched
    assert "people__tenantfix_backup" in tables(db, "acme")

    rerun = invoke(
        "move-users",
        str(repo),
        "--database-url",
        db.url,
        "--execute",
        "--on-conflict",
        "suffix-schema",
    )
    assert rerun.exit_code == 0, rerun.output
    assert "(2 to move, 1 already moved" in rerun.stdout
    moved_state(db)
    assert rows(db, "SELECT count(*) FROM public.tenantfix_user_map") == [(15,)]


def test_user_app_tenant_only_before_repair_db_steps_create_the_public_table(pg_database, tmp_path):
    """The user app was TENANT-only: public records its migration (a phantom) without the
    table. The plan begins with repair-db's steps; --execute runs them, then moves the users."""
    db = pg_database
    repo = init_repo(copy_project(FIXTURES / "move_users_project", tmp_path / "hub"))
    path = repo / SETTINGS
    original = path.read_text()
    tenant_only = original.replace(
        '    "django.contrib.auth",\n    "accounts",\n]', '    "django.contrib.auth",\n]', 1
    )
    assert tenant_only != original
    path.write_text(tenant_only)
    ok(manage(repo, db, "migrate_schemas", "--shared"))
    no_root = POPULATE.replace(
        'Person.objects.create_superuser("root", "root@example.com", "root-pass")', "pass"
    )
    ok(manage(repo, db, "shell", "-c", no_root))
    assert "people" not in tables(db, "public")
    # the settings fix: accounts SHARED-only
    path.write_text(original)
    users_shared_only(repo)
    before = dump(db)

    # the clashes are known before anything runs: public is planned as empty
    refused = invoke("move-users", str(repo), "--database-url", db.url, "--execute")
    assert refused.exit_code == 3, refused.output
    assert "NOTE public has no people table yet" in refused.stdout
    assert "CLASH initech: user 'bob'" in refused.stdout
    assert dump(db) == before

    plan = invoke(
        "move-users", str(repo), "--database-url", db.url, "--on-conflict", "suffix-schema"
    )
    assert plan.exit_code == 1, plan.output
    assert "insert 14 user(s) into public.people in 3 schema(s)" in plan.stdout
    assert (
        "DECISION people_groups: 6 membership(s) in 3 schema(s) are not moved (decided once "
        "repair-db's steps have created public's tables)" in plan.stdout
    )
    assert "Before the move: public has no people table" in plan.stdout
    # repair-db's own note on the tenants' user tables points at move-users
    assert "For users, `tenantfix move-users` moves them" in plan.stdout
    assert "migrate_schemas --schema=public accounts zero --fake" in plan.stdout
    assert "migrate_schemas --shared" in plan.stdout
    assert dump(db) == before

    result = invoke(
        "move-users",
        str(repo),
        "--database-url",
        db.url,
        "--execute",
        "--on-conflict",
        "suffix-schema",
    )
    assert result.exit_code == 0, result.output
    assert "Moved: every user of 3 schema(s) is in public.people" in result.stdout
    moved_state(db)
    assert rows(db, "SELECT count(*) FROM public.people") == [(14,)]


def test_the_proofs_catch_a_changed_user_and_a_pending_migration(hub):
    """The proofs are not always green: a hash changed after the move and a migration record
    missing in a tenant are both reported."""
    from tenantfix.moveusers.proof import check_database, check_project

    repo, db = hub
    plan = plan_move(repo, db.url, on_conflict=OnConflict.suffix_schema)
    run = execute_move(plan)
    assert run.ok and len(run.moved) == 3
    with psycopg.connect(db.url) as conn:
        assert check_database(conn, plan) == []
    assert check_project(plan, db, None) == []
    with psycopg.connect(db.url, autocommit=True) as conn:
        conn.execute("UPDATE public.people SET password = 'md5$x$y' WHERE username = 'carol'")
        conn.execute("DELETE FROM globex.django_migrations WHERE app = 'desk'")
        conn.execute("UPDATE public.people SET password = 'not-a-hash' WHERE username = 'ida'")
    with psycopg.connect(db.url) as conn:
        problems = check_database(conn, plan)
    assert sorted(problems) == [
        "globex: 1 inserted user(s) differ from their backup row",
        "initech: 1 inserted user(s) differ from their backup row",
    ]
    project = check_project(plan, db, None)
    assert (
        "1 moved user(s) have a password hash the project's PASSWORD_HASHERS cannot read" in project
    )
    assert "migrate_schemas would apply 1 migration(s) in globex: desk.0001_initial" in project


def test_ctrl_c_while_the_second_schema_waits_rolls_it_back_and_a_rerun_completes(hub):
    """A real SIGINT to `python -m tenantfix` while globex's move waits for a lock another
    session holds (the marker: its backend waiting on a Lock, no timing race)."""
    import signal
    import subprocess
    import sys
    import time

    repo, db = hub
    before = dump(db)
    holder = psycopg.connect(db.url)
    holder.execute("SELECT count(*) FROM globex.people")  # an open transaction: ACCESS SHARE
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tenantfix",
                "move-users",
                str(repo),
                "--database-url",
                db.url,
                "--execute",
                "--on-conflict",
                "suffix-schema",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        with psycopg.connect(db.url, autocommit=True) as watcher:
            for _ in range(600):
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    'AND query LIKE \'LOCK TABLE "globex"."people"%%\''
                ).fetchone()[0]
                if waiting:
                    break
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.1)
            else:
                pytest.fail("the move never waited for globex's lock")
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        holder.close()
    assert proc.returncode == 130, stdout + stderr
    assert "moved acme:" in stdout
    assert "INTERRUPTED in globex: rolled back" in stdout
    assert "Traceback" not in stdout + stderr
    after = dump(db)
    for key, content in before.items():
        if key[0] in ("globex", "initech"):
            assert after[key] == content, key
    assert "people__tenantfix_backup" in tables(db, "acme")

    rerun = invoke(
        "move-users",
        str(repo),
        "--database-url",
        db.url,
        "--execute",
        "--on-conflict",
        "suffix-schema",
    )
    assert rerun.exit_code == 0, rerun.output
    moved_state(db)


def test_execute_refuses_before_moving_when_the_projects_django_cannot_start(hub):
    """move-users without --python ran the proofs in tenantfix's own interpreter, which lacked a
    package the project imports (JuanitoOrtega/django-tenants: allauth): --execute moved every
    schema, then said 'PROOF FAILED ... could not run'. The check now comes first."""
    repo, db = hub
    settings = repo / SETTINGS
    settings.write_text(
        settings.read_text() + "\nimport tenantfix_not_installed_anywhere  # noqa\n"
    )
    before = dump(db)
    result = invoke(
        "move-users",
        str(repo),
        "--database-url",
        db.url,
        "--on-conflict",
        "suffix-schema",
        "--execute",
    )
    assert result.exit_code == 2, result.output
    assert "cannot start" in result.stderr and "tenantfix_not_installed_anywhere" in result.stderr
    assert "Nothing was changed" in result.stderr
    assert "Traceback" not in result.output
    assert dump(db) == before
