"""move-users and the user table's OWN foreign keys (Person.department -> orgs.Department), on a
real PostgreSQL.

`orgs` is in both lists, so public and each tenant hold their own orgs_department with their own
ids (deliberately different: acme's Engineering is id 1, public's is id 2). Copying a tenant's
department_id verbatim into public would name public's Sales: the move maps each value by the
department's natural key (its unique `name`, read from the catalog) instead, refuses a value
public has no row for, refuses a target without a natural key (orgs.Team), and keeps public's
value for a user mapped onto an existing public user (a DECISION).
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from support_dbstate import dump, manage, tables
from support_git import FIXTURES, copy_project, init_repo
from typer.testing import CliRunner

from tenantfix.cli import app
from tenantfix.moveusers.execute import execute_move
from tenantfix.moveusers.plan import plan_move

SETTINGS = "hub/settings.py"
RECORD_TABLES = {"tenantfix_user_map", "tenantfix_user_move_log"}
_names = itertools.count(1)

POPULATE = r"""
from django_tenants.utils import schema_context
from accounts.models import Person
from customers.models import Client, Domain
from orgs.models import Department, Team
sales, eng, support = (Department.objects.create(name=n) for n in ("Sales", "Engineering", "Support"))
Team.objects.create(label="red")
Person.objects.create_superuser("root", "root@example.com", "root-pass", department=sales)
Person.objects.create_user("pat", "pat@shared.test", "pw", department=sales)
layout = {
    "acme": (["Engineering", "Sales"], [("alice", "Engineering"), ("bob", "Sales"), ("carl", None)]),
    "globex": (["Support"], [("gus", "Support"), ("gwen", None)]),
}
for schema, (departments, users) in layout.items():
    client = Client(schema_name=schema, name=schema.title())
    client.save()
    Domain.objects.create(domain=schema + ".localhost", tenant=client, is_primary=True)
    with schema_context(schema):
        for name in departments:
            Department.objects.create(name=name)
        for name, department in users:
            Person.objects.create_user(
                name,
                "%s@%s.test" % (name, schema),
                "pw",
                department=Department.objects.get(name=department) if department else None,
                client=client,
            )
print("ok")
"""

READ_DEPARTMENTS = r"""
import json
from accounts.models import Person
print(json.dumps({p.username: p.department.name if p.department else None
                  for p in Person.objects.select_related("department")}))
"""


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def ok(result) -> None:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]


def project(dest):
    repo = copy_project(FIXTURES / "move_users_project", dest)
    shutil.copytree(FIXTURES / "move_users_project_user_fk", repo, dirs_exist_ok=True)
    path = repo / SETTINGS
    text = path.read_text()
    fixed = text.replace('    "accounts",\n]', '    "accounts",\n    "orgs",\n]').replace(
        '    "desk",\n]', '    "desk",\n    "orgs",\n]'
    )
    assert fixed.count('"orgs"') == 2
    path.write_text(fixed)
    return init_repo(repo)


def accounts_shared_only(repo) -> None:
    path = repo / SETTINGS
    text = path.read_text()
    fixed = text.replace('    "accounts",\n    "desk",\n', '    "desk",\n')
    assert fixed != text
    path.write_text(fixed)


@pytest.fixture(scope="module")
def template(pg_server, tmp_path_factory):
    repo = project(tmp_path_factory.mktemp("ufk") / "hub")
    db = pg_server.create_database(f"ufk_template_{os.getpid()}")
    ok(manage(repo, db, "migrate_schemas", "--shared"))
    ok(manage(repo, db, "shell", "-c", POPULATE))
    yield db
    pg_server.drop_database(db.name)


@pytest.fixture
def hub(pg_server, template, tmp_path) -> Iterator[tuple[object, object]]:
    repo = project(tmp_path / "hub")
    name = f"ufk_{os.getpid()}_{next(_names)}"
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template.name)
            )
        )
    db = template.with_name(name)
    try:
        yield repo, db
    finally:
        pg_server.drop_database(name)


def data(db) -> dict:
    return {k: v for k, v in dump(db).items() if k[1] not in RECORD_TABLES}


def execute_sql(db, query: str, *args: object) -> None:
    with psycopg.connect(db.url, autocommit=True) as conn:
        conn.execute(query, args)  # type: ignore[arg-type]


def departments(repo, db, schema: str | None = None) -> dict[str, str | None]:
    """What Django reads: each user's department name (public, or inside a tenant)."""
    import json

    code = READ_DEPARTMENTS
    if schema is not None:
        code = (
            "from django_tenants.utils import schema_context\n"
            f"with schema_context({schema!r}):\n"
            + "".join(f"    {line}\n" for line in code.strip().splitlines())
        )
    result = manage(repo, db, "shell", "-c", code)
    ok(result)
    return json.loads(result.stdout.strip().splitlines()[-1])


def ids(db, schema: str) -> dict[str, int]:
    with psycopg.connect(db.url) as conn:
        rows = conn.execute(
            sql.SQL("SELECT name, id FROM {}").format(sql.Identifier(schema, "orgs_department"))
        ).fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def test_tenant_department_ids_are_mapped_by_natural_key_and_undo_restores(hub):
    repo, db = hub
    # the premise: the same name has other ids in public than in acme
    assert ids(db, "acme")["Engineering"] != ids(db, "public")["Engineering"]
    tenant_era = {s: departments(repo, db, s) for s in ("acme", "globex")}
    accounts_shared_only(repo)
    before = data(db)
    plan = invoke("move-users", str(repo), "--database-url", db.url)
    assert plan.exit_code == 1, plan.output
    assert (
        "write public's ids into people.department_id of the 3 inserted user(s) holding a value "
        "in 2 schema(s): each tenant orgs_department row mapped to the public.orgs_department "
        "row with the same natural key (name)" in plan.stdout
    )
    assert "team_id" not in plan.stdout  # NULL for every user: nothing to do
    assert "client_id" not in plan.stdout  # public ids already: said with --verbose only
    verbose = invoke("move-users", str(repo), "--database-url", db.url, "--verbose")
    assert "people.department_id of the 2 inserted user(s) holding a value:" in verbose.stdout
    assert (
        "copy people.client_id verbatim (3 value(s)): it references public.customers_client "
        "already, so its values are public ids" in verbose.stdout
    )
    assert data(db) == before
    result = invoke("move-users", str(repo), "--database-url", db.url, "--execute", "--verify")
    assert result.exit_code == 0, result.output[-3000:]
    after = departments(repo, db)
    for era in tenant_era.values():
        for user, department in era.items():
            assert after[user] == department, (user, after)
    assert after["pat"] == "Sales" and after["root"] == "Sales"
    result = manage(
        repo,
        db,
        "shell",
        "-c",
        "from accounts.models import Person; print(sorted((p.username, p.client.schema_name) "
        "for p in Person.objects.exclude(client=None)))",
    )
    ok(result)
    assert result.stdout.strip().splitlines()[-1] == str(
        [
            ("alice", "acme"),
            ("bob", "acme"),
            ("carl", "acme"),
            ("gus", "globex"),
            ("gwen", "globex"),
        ]
    )
    undone = invoke("move-users", str(repo), "--database-url", db.url, "--undo")
    assert undone.exit_code == 0, undone.output
    assert data(db) == before


def test_only_null_values_move_as_before(hub):
    repo, db = hub
    for schema in ("acme", "globex"):
        execute_sql(db, f'UPDATE "{schema}".people SET department_id = NULL')
    accounts_shared_only(repo)
    before = data(db)
    plan = invoke("move-users", str(repo), "--database-url", db.url, "--verbose")
    assert plan.exit_code == 1, plan.output
    assert "department_id" not in plan.stdout
    result = invoke("move-users", str(repo), "--database-url", db.url, "--execute", "--verify")
    assert result.exit_code == 0, result.output[-3000:]
    assert all(v is None for k, v in departments(repo, db).items() if k not in ("pat", "root"))
    undone = invoke("move-users", str(repo), "--database-url", db.url, "--undo")
    assert undone.exit_code == 0, undone.output
    assert data(db) == before


def test_a_value_without_a_public_row_refuses_and_changes_nothing(hub):
    repo, db = hub
    execute_sql(db, "INSERT INTO acme.orgs_department (name) VALUES ('Legal')")
    execute_sql(
        db,
        "UPDATE acme.people SET department_id = (SELECT id FROM acme.orgs_department "
        "WHERE name = 'Legal') WHERE username = 'carl'",
    )
    accounts_shared_only(repo)
    before = dump(db)
    for extra in ([], ["--execute"], ["--execute", "--verify"]):
        result = invoke("move-users", str(repo), "--database-url", db.url, *extra)
        assert result.exit_code == 3, result.output
        out = " ".join(result.stdout.split())
        assert (
            "REFUSED people.department_id in acme (a foreign key to acme.orgs_department): 3 "
            "user(s) to insert into public hold acme's ids there" in out
        )
        assert (
            "1 value(s) name acme.orgs_department rows with no public.orgs_department row "
            "of the same natural key (name): 'Legal' (1 user(s))" in out
        )
        assert "Create those rows in public, clear the column for those users, or keep " in out
        assert "'accounts' in TENANT_APPS" in out
        assert "in globex" not in out
        assert dump(db) == before


def test_a_target_without_a_natural_key_refuses(hub):
    repo, db = hub
    execute_sql(db, "INSERT INTO globex.orgs_team (label) VALUES ('blue')")
    execute_sql(
        db,
        "UPDATE globex.people SET team_id = (SELECT min(id) FROM globex.orgs_team) "
        "WHERE username = 'gus'",
    )
    accounts_shared_only(repo)
    before = dump(db)
    result = invoke("move-users", str(repo), "--database-url", db.url, "--execute")
    assert result.exit_code == 3, result.output
    out = " ".join(result.stdout.split())
    assert "REFUSED people.team_id in globex (a foreign key to globex.orgs_team): 1 user(s)" in out
    assert "globex.orgs_team has no natural key" in out
    assert dump(db) == before


def test_match_onto_a_public_user_keeps_public_value_as_a_decision(hub):
    repo, db = hub
    execute_sql(
        db,
        "INSERT INTO acme.people (password, is_superuser, username, first_name, last_name, "
        "email, is_staff, is_active, date_joined, phone, department_id) SELECT password, false, "
        "'pat', '', '', 'pat@shared.test', false, true, now(), '', (SELECT id FROM "
        "acme.orgs_department WHERE name = 'Engineering') FROM acme.people WHERE username = "
        "'alice'",
    )
    accounts_shared_only(repo)
    plan = invoke("move-users", str(repo), "--database-url", db.url, "--match", "email")
    assert plan.exit_code == 1, plan.output
    out = " ".join(plan.stdout.split())
    assert (
        "DECISION people.department_id: 1 user(s) mapped onto existing public users (--match "
        "email) in 1 schema(s) have another department_id in public than in their tenant; "
        "public's value is kept: 'pat' (acme: 'Engineering' -> kept 'Sales')" in out
    )
    verbose = invoke("move-users", str(repo), "--database-url", db.url, "--verbose")
    assert (
        "DECISION people.department_id: user 'pat' is mapped onto an existing public user whose "
        "department_id is 'Sales', not the tenant's 'Engineering'; public's value is kept"
        in " ".join(verbose.stdout.split())
    )
    result = invoke("move-users", str(repo), "--database-url", db.url, "--execute", "--verify")
    assert result.exit_code == 0, result.output[-3000:]
    after = departments(repo, db)
    assert after["pat"] == "Sales"
    assert after["alice"] == "Engineering"


def test_connection_killed_in_the_second_schema_then_rerun_completes(hub):
    repo, db = hub
    accounts_shared_only(repo)
    plan = plan_move(repo, db.url)
    before = dump(db)

    def kill(schema: str, conn) -> None:
        if schema == "globex":  # inside globex's transaction, after its users were inserted
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            with psycopg.connect(db.url, autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", (pid,))

    run = execute_move(plan, hook=kill)
    assert [s for s, _, _ in run.moved] == ["acme"]
    assert run.failed is not None and run.failed[0] == "globex"
    after = dump(db)
    for key, content in before.items():
        if key[0] == "globex":
            assert after[key] == content, key  # untouched
    assert "people__tenantfix_backup" in tables(db, "acme")
    rerun = invoke("move-users", str(repo), "--database-url", db.url, "--execute", "--verify")
    assert rerun.exit_code == 0, rerun.output[-3000:]
    assert "(1 to move, 1 already moved" in rerun.stdout
    moved = departments(repo, db)
    assert moved["alice"] == "Engineering" and moved["bob"] == "Sales"
    assert moved["gus"] == "Support" and moved["gwen"] is None


def test_the_proof_catches_a_department_that_no_longer_matches_the_backup(hub):
    """The proof is not always green: an inserted user whose department_id names another public
    row than the one with its tenant department's name is reported."""
    from tenantfix.moveusers.proof import check_database

    repo, db = hub
    accounts_shared_only(repo)
    plan = plan_move(repo, db.url)
    run = execute_move(plan)
    assert run.ok and len(run.moved) == 2
    with psycopg.connect(db.url) as conn:
        assert check_database(conn, plan) == []
    # what a verbatim copy would have written: acme's Engineering id, public's Sales
    execute_sql(
        db,
        "UPDATE public.people SET department_id = %s WHERE username = 'alice'",
        ids(db, "acme")["Engineering"],
    )
    with psycopg.connect(db.url) as conn:
        assert check_database(conn, plan) == [
            "acme: 1 inserted user(s) whose people.department_id does not name the "
            "public.orgs_department row with the natural key its tenant value had"
        ]


DIVISIONS = r"""
from django_tenants.utils import schema_context
from accounts.models import Division, Person
from customers.models import Client, Domain
for name in ("North", "South"):
    Division.objects.create(name=name)
Person.objects.create_superuser("root", "root@example.com", "root-pass")
client = Client(schema_name="acme", name="Acme")
client.save()
Domain.objects.create(domain="acme.localhost", tenant=client, is_primary=True)
with schema_context("acme"):
    south, north = (Division.objects.create(name=n) for n in ("South", "North"))
    Person.objects.create_user("alice", "alice@acme.test", "pw", division=north)
    Person.objects.create_user("bob", "bob@acme.test", "pw", division=south)
print("ok")
"""


def test_a_division_of_the_user_app_itself_is_mapped_when_its_table_is_retired(
    pg_database, tmp_path
):
    """The user app's own model (accounts.Division): its tenant table holds rows, so the move
    needs --retire-user-app-tables; the users then name public's divisions by name."""
    db = pg_database
    repo = copy_project(FIXTURES / "move_users_project", tmp_path / "hub")
    shutil.copytree(FIXTURES / "move_users_project_user_app_fk", repo, dirs_exist_ok=True)
    init_repo(repo)
    ok(manage(repo, db, "migrate_schemas", "--shared"))
    ok(manage(repo, db, "shell", "-c", DIVISIONS))
    accounts_shared_only(repo)
    before = data(db)
    refused = invoke("move-users", str(repo), "--database-url", db.url, "--execute")
    assert refused.exit_code == 3, refused.output
    assert "acme.accounts_division (accounts.Division's table" in refused.stdout
    plan = invoke("move-users", str(repo), "--database-url", db.url, "--retire-user-app-tables")
    assert plan.exit_code == 1, plan.output
    assert (
        "write public's ids into people.division_id of the 2 inserted user(s) holding a value "
        "in 1 schema(s): each tenant accounts_division row mapped to the "
        "public.accounts_division row with the same natural key (name)" in plan.stdout
    )
    result = invoke(
        "move-users",
        str(repo),
        "--database-url",
        db.url,
        "--retire-user-app-tables",
        "--execute",
        "--verify",
    )
    assert result.exit_code == 0, result.output[-3000:]
    read = manage(
        repo,
        db,
        "shell",
        "-c",
        "from accounts.models import Person; print(sorted((p.username, p.division.name) "
        "for p in Person.objects.exclude(division=None)))",
    )
    ok(read)
    assert read.stdout.strip().splitlines()[-1] == str([("alice", "North"), ("bob", "South")])
    assert "accounts_division__tenantfix_backup" in tables(db, "acme")
    undone = invoke("move-users", str(repo), "--database-url", db.url, "--undo")
    assert undone.exit_code == 0, undone.output
    assert data(db) == before
