"""move-users and the user model's many-to-many tables (groups, user_permissions) on a real
PostgreSQL: the move_users_project fixture migrated with auth in both lists, then the settings
say auth SHARED-only (memberships move, matched by natural key), auth in both lists or
TENANT-only (memberships stay in the backup, and the plan says why).

Public's and the tenants' auth rows have different ids on purpose: public has a group and a
permission the tenants lack, created first; each tenant has a group of its own first and
re-created ``change_person``, so an id copied across would name another row.
"""

from __future__ import annotations

import itertools
import os
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
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django_tenants.utils import schema_context
from accounts.models import Person
from customers.models import Client, Domain

# public first: a permission and a group the tenants lack shift public's ids
person_ct = ContentType.objects.get(app_label="accounts", model="person")
Permission.objects.create(content_type=person_ct, codename="shift_ids", name="shifts ids")
Group.objects.create(name="public-only")
Group.objects.create(name="public-other")
editors = Group.objects.create(name="editors")
Person.objects.create_superuser("root", "root@example.com", "root-pass")
# alice is a public user already, in editors: her tenant twins map onto her
Person.objects.create_user("alice", "alice@example.com", "pw-public-alice").groups.add(editors)

TENANTS = {
    # carol: the same person (same e-mail) in acme and globex, in editors in both
    "acme": {"alice": ("alice@example.com", ["editors", "acme-only"]),
             "carol": ("carol@example.com", ["editors"]),
             "bob": ("bob@acme.test", ["editors"]),
             "ann": ("ann@acme.test", [])},
    "globex": {"alice": ("ALICE@example.com", ["editors"]),
               "carol": ("carol@example.com", ["editors", "globex-only"]),
               "gus": ("gus@globex.test", ["globex-only"])},
    "initech": {"ian": ("ian@initech.test", ["editors"])},
}
for schema, people in TENANTS.items():
    client = Client(schema_name=schema, name=schema.title())
    client.save()
    Domain.objects.create(domain=schema + ".localhost", tenant=client, is_primary=True)
    with schema_context(schema):
        Group.objects.create(name="zz-first-" + schema)
        ct = ContentType.objects.get(app_label="accounts", model="person")
        Permission.objects.get(content_type=ct, codename="change_person").delete()
        change = Permission.objects.create(
            content_type=ct, codename="change_person", name="Can change person"
        )
        groups = {}
        for username, (email, names) in people.items():
            user = Person.objects.create_user(username, email, "pw-%s-%s" % (schema, username))
            for name in names:
                if name not in groups:
                    groups[name] = Group.objects.create(name=name)
                user.groups.add(groups[name])
        if schema == "acme":
            # a permission public has (another id there) and one only this tenant has
            close = Permission.objects.create(
                content_type=ContentType.objects.get(app_label="desk", model="ticket"),
                codename="close_ticket", name="Can close a ticket",
            )
            Person.objects.get(username="carol").user_permissions.add(change, close)
            # acme's editors grant what public's do not; acme-only grants change_person
            view = Permission.objects.get(content_type=ct, codename="view_person")
            groups["editors"].permissions.add(view)
            groups["acme-only"].permissions.add(change, close)
print("ok")
"""

PUBLIC_VIEW = r"""
from accounts.models import Person
for username in ("alice", "carol", "bob", "ian"):
    user = Person.objects.get(username=username)
    print(username, sorted(user.groups.values_list("name", flat=True)),
          user.has_perm("accounts.change_person"))
"""


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def ok(result) -> None:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]


def set_lists(repo, *, auth_shared: bool, auth_tenant: bool) -> None:
    """The settings after the fix: accounts SHARED-only; auth where the test puts it."""
    shared = ["django_tenants", "customers", "django.contrib.contenttypes"]
    shared += ["django.contrib.auth"] if auth_shared else []
    tenant = ["django.contrib.contenttypes"]
    tenant += ["django.contrib.auth"] if auth_tenant else []
    path = repo / SETTINGS
    text = path.read_text()
    start, end = text.index("SHARED_APPS = ["), text.index("INSTALLED_APPS = ")
    path.write_text(
        text[:start]
        + f"SHARED_APPS = {[*shared, 'accounts']!r}\n\n"
        + f"TENANT_APPS = {[*tenant, 'desk']!r}\n\n"
        + text[end:]
    )


@pytest.fixture(scope="module")
def groups_template(pg_server, tmp_path_factory):
    repo = init_repo(
        copy_project(FIXTURES / "move_users_project", tmp_path_factory.mktemp("grp") / "hub")
    )
    db = pg_server.create_database(f"groups_template_{os.getpid()}")
    ok(manage(repo, db, "migrate_schemas", "--shared"))
    ok(manage(repo, db, "shell", "-c", POPULATE))
    yield db
    pg_server.drop_database(db.name)


@pytest.fixture
def hub(pg_server, groups_template, tmp_path) -> Iterator[tuple[object, object]]:
    """(repo with accounts and auth SHARED-only, a database copied from the template)."""
    repo = init_repo(copy_project(FIXTURES / "move_users_project", tmp_path / "hub"))
    set_lists(repo, auth_shared=True, auth_tenant=False)
    name = f"grp_{os.getpid()}_{next(_names)}"
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(groups_template.name)
            )
        )
    db = groups_template.with_name(name)
    try:
        yield repo, db
    finally:
        pg_server.drop_database(name)


def rows(db, query: str, *args: object) -> list[tuple[object, ...]]:
    with psycopg.connect(db.url) as conn:
        return conn.execute(query, args).fetchall()


def data(db) -> dict:
    return {k: v for k, v in dump(db).items() if k[1] not in RECORD_TABLES}


def public_groups(db) -> list[tuple[object, ...]]:
    return rows(
        db,
        "SELECT p.username, g.name FROM public.people_groups m JOIN public.people p ON "
        "p.id = m.person_id JOIN public.auth_group g ON g.id = m.group_id ORDER BY 1, 2",
    )


def test_plan_with_auth_shared_moves_by_natural_key_and_names_what_stays(hub):
    repo, db = hub
    before = dump(db)
    # the ids differ on purpose: an id copied across would name another row
    assert rows(
        db,
        "SELECT t.id <> p.id FROM acme.auth_permission t JOIN acme.django_content_type tc ON "
        "tc.id = t.content_type_id, public.auth_permission p JOIN public.django_content_type pc "
        "ON pc.id = p.content_type_id WHERE t.codename = 'change_person' AND "
        "p.codename = 'change_person' AND tc.app_label = pc.app_label",
    ) == [(True,)]
    assert rows(
        db,
        "SELECT t.id <> p.id FROM acme.auth_group t, public.auth_group p "
        "WHERE t.name = 'editors' AND p.name = 'editors'",
    ) == [(True,)]
    plan = invoke("move-users", str(repo), "--database-url", db.url)
    assert plan.exit_code == 1, plan.output
    out = plan.stdout
    assert (
        "move 6 membership(s) of people_groups in 3 schema(s) into public.people_groups, each "
        "auth_group row matched by natural key (name); one public already has is not added "
        "twice" in out
    )
    assert (
        "move 1 membership(s) of people_user_permissions in 1 schema(s) into "
        "public.people_user_permissions, each auth_permission row matched by natural key "
        "(content_type_id -> (app_label, model), codename)" in out
    )
    assert (
        "DECISION people_groups: 3 membership(s) in 2 schema(s) name 2 group(s) public lacks: "
        "'globex-only' (2 in globex), 'acme-only' (1 in acme); kept in "
        "people_groups__tenantfix_backup, not invented in public (--create-missing-groups "
        "creates them by name)" in out
    )
    assert (
        "DECISION people_user_permissions: 1 membership(s) in 1 schema(s) name 1 auth_permission "
        "row(s) public lacks: 'desk.ticket.close_ticket' (1 in acme); kept in "
        "people_user_permissions__tenantfix_backup, not invented in public (tenantfix never "
        "creates auth_permission rows)" in out
    )
    assert (
        "rename the tenant's own copies of now SHARED-only tables (auth_group: 8 row(s), "
        "auth_group_permissions: 3 row(s), auth_permission: " in out
    )
    assert "; in 3 schema(s)) to <name>__tenantfix_backup" in out
    # a group of the same name that grants other permissions: its members' rights change
    assert (
        "WARNING people_groups: 1 group(s) matched by their natural key differ from public's in "
        "what they grant; after the move their members get public's: 'editors' "
        "(auth_group_permissions, in acme; only the tenant's grants 1: "
        "accounts.person.view_person)" in out
    )
    # one line per kind of action: no schema-by-schema lines without --verbose
    assert "acme:" not in out
    verbose = invoke("move-users", str(repo), "--database-url", db.url, "--verbose")
    assert (
        "DECISION people_groups: 1 membership(s) of group 'acme-only' have no public group "
        "'acme-only'; kept in people_groups__tenantfix_backup" in verbose.stdout
    )
    assert "  globex:" in verbose.stdout
    assert dump(db) == before


def test_execute_moves_memberships_once_and_undo_restores_every_row(hub):
    repo, db = hub
    before = data(db)
    pre_existing = public_groups(db)
    assert pre_existing == [("alice", "editors")]
    result = invoke("move-users", str(repo), "--database-url", db.url, "--execute", "--verify")
    assert result.exit_code == 0, result.output
    assert "  Proven:" in result.stdout
    assert (
        "moved acme: 3 user(s) inserted into public, 1 mapped onto existing public users; "
        "memberships: 3 inserted into public, 1 already there, 2 kept in the backup tables"
        in result.stdout
    )
    # carol is one person in acme and globex, in editors in both: one membership
    assert public_groups(db) == [
        ("alice", "editors"),
        ("bob", "editors"),
        ("carol", "editors"),
        ("ian", "editors"),
    ]
    # no group invented in public; the tenant-only ones stay in the backups
    assert rows(db, "SELECT count(*) FROM public.auth_group WHERE name LIKE '%%-only'") == [
        (1,)  # public-only, public's own
    ]
    assert rows(db, "SELECT count(*) FROM acme.people_groups__tenantfix_backup") == [(4,)]
    # the permission maps to public's row with the same natural key, not the same id
    assert rows(
        db,
        "SELECT c.app_label, p.codename FROM public.people_user_permissions m JOIN "
        "public.auth_permission p ON p.id = m.permission_id JOIN public.django_content_type c "
        "ON c.id = p.content_type_id JOIN public.people u ON u.id = m.person_id "
        "WHERE u.username = 'carol'",
    ) == [("accounts", "change_person")]
    # the tenants' own auth tables no longer shadow public's
    assert {"auth_group", "auth_permission"}.isdisjoint(tables(db, "acme"))
    assert "auth_group__tenantfix_backup" in tables(db, "acme")
    # Django reads them: groups and permissions of the moved users
    seen = manage(repo, db, "shell", "-c", PUBLIC_VIEW)
    ok(seen)
    assert "carol ['editors'] True" in seen.stdout, seen.stdout
    assert "bob ['editors'] False" in seen.stdout, seen.stdout

    undone = invoke("move-users", str(repo), "--database-url", db.url, "--undo")
    assert undone.exit_code == 0, undone.output
    assert data(db) == before
    assert public_groups(db) == pre_existing  # alice's own membership kept


def test_create_missing_groups_then_undo(hub):
    repo, db = hub
    before = data(db)
    plan = invoke("move-users", str(repo), "--database-url", db.url, "--create-missing-groups")
    assert plan.exit_code == 1, plan.output
    assert (
        "create 2 group(s) in public.auth_group by name (--create-missing-groups; with those of "
        "their tenant permissions public has): 'acme-only' (1 membership(s)), 'globex-only' "
        "(2 membership(s))" in plan.stdout
    )
    assert "move 9 membership(s) of people_groups" in plan.stdout
    assert "DECISION people_groups" not in plan.stdout
    # permissions are never created
    assert "'desk.ticket.close_ticket' (1 in acme)" in plan.stdout
    result = invoke(
        "move-users", str(repo), "--database-url", db.url, "--execute", "--create-missing-groups"
    )
    assert result.exit_code == 0, result.output
    assert public_groups(db) == [
        ("alice", "acme-only"),
        ("alice", "editors"),
        ("bob", "editors"),
        ("carol", "editors"),
        ("carol", "globex-only"),
        ("gus", "globex-only"),
        ("ian", "editors"),
    ]
    assert rows(
        db, "SELECT count(*) FROM public.auth_permission WHERE codename = 'close_ticket'"
    ) == [(0,)]
    # the created group grants what acme's did, as far as public has those permissions
    assert rows(
        db,
        "SELECT p.codename FROM public.auth_group_permissions gp JOIN public.auth_group g ON "
        "g.id = gp.group_id JOIN public.auth_permission p ON p.id = gp.permission_id "
        "WHERE g.name = 'acme-only'",
    ) == [("change_person",)]
    undone = invoke("move-users", str(repo), "--database-url", db.url, "--undo")
    assert undone.exit_code == 0, undone.output
    assert data(db) == before


@pytest.mark.parametrize(
    ("auth_shared", "auth_tenant", "why"),
    [
        (
            True,
            True,
            "auth is in TENANT_APPS as well as SHARED_APPS: on search_path '<tenant>, public' "
            "tenant requests read each tenant's own auth_group",
        ),
        (False, True, "auth is per tenant (TENANT_APPS only): the auth_group rows they name"),
    ],
    ids=["auth-in-both-lists", "auth-tenant-only"],
)
def test_auth_not_shared_only_keeps_memberships_and_says_why(hub, auth_shared, auth_tenant, why):
    repo, db = hub
    set_lists(repo, auth_shared=auth_shared, auth_tenant=auth_tenant)
    before = data(db)
    plan = invoke("move-users", str(repo), "--database-url", db.url)
    assert plan.exit_code == 1, plan.output
    assert f"DECISION people_groups: 9 membership(s) in 3 schema(s) are not moved ({why}" in (
        plan.stdout
    )
    assert "kept in people_groups__tenantfix_backup, never dropped" in plan.stdout
    assert "\n  move " not in plan.stdout
    assert "shadow" not in plan.stdout
    run = execute_move(plan_move(repo, db.url))
    assert run.ok, run.lines()
    assert public_groups(db) == [("alice", "editors")]
    assert "auth_group" in tables(db, "acme")  # the tenant's auth tables stay where they are
    assert rows(db, "SELECT count(*) FROM globex.people_groups__tenantfix_backup") == [(4,)]
    with psycopg.connect(db.url) as conn:
        from tenantfix.moveusers.proof import check_database

        assert check_database(conn, plan_move(repo, db.url)) == []
    undone = invoke("move-users", str(repo), "--database-url", db.url, "--undo")
    assert undone.exit_code == 0, undone.output
    assert data(db) == before


def test_connection_killed_in_the_second_schema_leaves_its_memberships_out(hub):
    repo, db = hub
    plan = plan_move(repo, db.url)
    before = dump(db)

    def kill(schema: str, conn) -> None:
        if schema == "globex":  # after globex's memberships were inserted into public
            assert conn.execute(
                "SELECT count(*) FROM public.tenantfix_user_move_log WHERE schema = 'globex' "
                "AND kind = 'm2m'"
            ).fetchone() == (2,)
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            with psycopg.connect(db.url, autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", (pid,))

    run = execute_move(plan, hook=kill)
    assert [s for s, _, _ in run.moved] == ["acme"]
    assert run.failed is not None and run.failed[0] == "globex"
    after = dump(db)
    for key, content in before.items():
        if key[0] in ("globex", "initech"):
            assert after[key] == content, key
    # acme's two new memberships are in, nothing of globex's
    assert public_groups(db) == [("alice", "editors"), ("bob", "editors"), ("carol", "editors")]

    rerun = invoke("move-users", str(repo), "--database-url", db.url, "--execute")
    assert rerun.exit_code == 0, rerun.output
    assert "(2 to move, 1 already moved" in rerun.stdout
    assert public_groups(db) == [
        ("alice", "editors"),
        ("bob", "editors"),
        ("carol", "editors"),
        ("ian", "editors"),
    ]
    assert rows(
        db,
        "SELECT schema, count(*) FROM public.tenantfix_user_move_log WHERE kind = 'row' "
        "GROUP BY 1 ORDER BY 1",
    ) == [("acme", 3), ("initech", 1)]  # acme: bob, carol and carol's permission; initech: ian


def test_the_proofs_catch_a_lost_membership(hub):
    """The membership proof is not always green: a moved membership deleted from public after
    the move is reported, both as unresolved and as a recorded row that is gone."""
    from tenantfix.moveusers.proof import check_database

    repo, db = hub
    plan = plan_move(repo, db.url)
    assert execute_move(plan).ok
    with psycopg.connect(db.url) as conn:
        assert check_database(conn, plan) == []
    with psycopg.connect(db.url, autocommit=True) as conn:
        conn.execute(
            "DELETE FROM public.people_groups WHERE person_id = "
            "(SELECT id FROM public.people WHERE username = 'bob')"
        )
    with psycopg.connect(db.url) as conn:
        assert sorted(check_database(conn, plan)) == [
            "acme.people_groups__tenantfix_backup: 1 moved membership(s) are not in "
            "public.people_groups",
            "public.people_groups: 1 membership row(s) the move inserted for acme are gone",
        ]


def test_a_tenant_table_referencing_its_own_groups_keeps_that_schemas_memberships(hub):
    """acme has a table of its own (not in any model tenantfix sees: read from pg_constraint)
    that references acme.auth_group: acme's auth tables cannot be renamed away, so acme's
    memberships stay, with the reason; the other schemas move theirs."""
    repo, db = hub
    with psycopg.connect(db.url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE acme.team (id serial PRIMARY KEY, "
            "group_id integer NOT NULL REFERENCES acme.auth_group (id))"
        )
    before = data(db)
    plan = invoke("move-users", str(repo), "--database-url", db.url)
    assert plan.exit_code == 1, plan.output
    assert (
        "DECISION people_groups: 4 membership(s) in 1 schema(s) are not moved (team.group_id "
        "references the tenant's own auth_group, so auth's tables stay in the tenant schema"
        in (plan.stdout)
    )
    assert "move 3 membership(s) of people_groups in 2 schema(s)" in plan.stdout
    result = invoke("move-users", str(repo), "--database-url", db.url, "--execute")
    assert result.exit_code == 0, result.output
    assert "auth_group" in tables(db, "acme") and "auth_group" not in tables(db, "globex")
    assert public_groups(db) == [("alice", "editors"), ("carol", "editors"), ("ian", "editors")]
    undone = invoke("move-users", str(repo), "--database-url", db.url, "--undo")
    assert undone.exit_code == 0, undone.output
    assert data(db) == before
