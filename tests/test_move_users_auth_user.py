"""move-users when the user model is Django's own auth.User (the user app IS auth), on a real
PostgreSQL: the move_users_auth_project fixture migrated with auth in both lists, then the
settings say auth SHARED-only. Each tenant's auth_group, auth_permission and
auth_group_permissions must not stay behind: on search_path '<tenant>, public' they would shadow
public's while the moved memberships (auth_user_groups, auth_user_user_permissions) name
public's rows. They are renamed to backups with the user tables, exactly as for a custom user
model whose groups come from a SHARED-only auth.

Ids differ on purpose between public and the tenants (extra groups and a re-created permission
first), so a membership copied by id, or read against the tenant's own auth tables, names
another row.
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

SETTINGS = "hub/settings.py"
RECORD_TABLES = {"tenantfix_user_map", "tenantfix_user_move_log"}
AUTH_TABLES = {"auth_group", "auth_group_permissions", "auth_permission"}
_names = itertools.count(1)

POPULATE = r"""
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django_tenants.utils import schema_context
from customers.models import Client, Domain
from desk.models import Ticket

def perm(codename):
    return Permission.objects.get(content_type__app_label="desk", codename=codename)

# public first: a permission and groups the tenants lack shift public's ids
ticket_ct = ContentType.objects.get(app_label="desk", model="ticket")
Permission.objects.create(content_type=ticket_ct, codename="shift_ids", name="shifts ids")
Group.objects.create(name="public-only")
Group.objects.create(name="public-other")
Group.objects.create(name="editors").permissions.add(perm("change_ticket"))
Group.objects.create(name="reviewers").permissions.add(perm("view_ticket"))
User.objects.create_superuser("root", "root@example.com", "root-pass")

TENANTS = {
    "acme": {"alice": ("alice@acme.test", ["editors"]),
             "amos": ("amos@acme.test", ["acme-only"]),
             "rita": ("rita@acme.test", ["reviewers"])},
    "globex": {"gus": ("gus@globex.test", ["editors"]),
               "gwen": ("gwen@globex.test", [])},
}
for schema, people in TENANTS.items():
    client = Client(schema_name=schema, name=schema.title())
    client.save()
    Domain.objects.create(domain=schema + ".localhost", tenant=client, is_primary=True)
    with schema_context(schema):
        Group.objects.create(name="zz-first-" + schema)
        # change_ticket re-created: another id than public's
        perm("change_ticket").delete()
        change = Permission.objects.create(
            content_type=ContentType.objects.get(app_label="desk", model="ticket"),
            codename="change_ticket", name="Can change ticket",
        )
        groups = {}
        for username, (email, names) in people.items():
            user = User.objects.create_user(username, email, "pw-%s-%s" % (schema, username))
            Ticket.objects.create(title="t-" + username, owner=user)
            for name in names:
                if name not in groups:
                    groups[name] = Group.objects.create(name=name)
                user.groups.add(groups[name])
        for name, group in groups.items():
            if name in ("editors", "acme-only"):
                group.permissions.add(change)
            if name == "reviewers":  # public's reviewers grant view_ticket, acme's change_ticket
                group.permissions.add(change)
        if schema == "globex":
            User.objects.get(username="gwen").user_permissions.add(perm("delete_ticket"))
print("ok")
"""

# what Django answers inside each tenant: the answer a tenant request gets
PERMS = r"""
from django.contrib.auth.models import User
from django_tenants.utils import schema_context
for schema, username in [("acme", "alice"), ("acme", "amos"), ("acme", "rita"),
                         ("globex", "gus"), ("globex", "gwen")]:
    with schema_context(schema):
        user = User.objects.get(username=username)
        print(schema, username, sorted(user.groups.values_list("name", flat=True)),
              sorted(user.get_all_permissions()), user.has_perm("desk.change_ticket"))
"""


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def ok(result) -> None:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]


def auth_shared_only(repo) -> None:
    """The settings after TF011's fix: auth out of TENANT_APPS."""
    path = repo / SETTINGS
    text = path.read_text()
    fixed = text.replace(
        'TENANT_APPS = [\n    "django.contrib.contenttypes",\n    "django.contrib.auth",\n',
        'TENANT_APPS = [\n    "django.contrib.contenttypes",\n',
    )
    assert fixed != text
    path.write_text(fixed)


@pytest.fixture(scope="module")
def auth_template(pg_server, tmp_path_factory):
    repo = init_repo(
        copy_project(FIXTURES / "move_users_auth_project", tmp_path_factory.mktemp("au") / "hub")
    )
    db = pg_server.create_database(f"auth_template_{os.getpid()}")
    ok(manage(repo, db, "migrate_schemas", "--shared"))
    ok(manage(repo, db, "shell", "-c", POPULATE))
    before = manage(repo, db, "shell", "-c", PERMS)
    ok(before)
    yield db, before.stdout
    pg_server.drop_database(db.name)


@pytest.fixture
def hub(pg_server, auth_template, tmp_path) -> Iterator[tuple[object, object, str]]:
    """(repo with auth SHARED-only, a database copied from the template, the tenant-era
    groups and permissions of each user as Django reads them)."""
    template, perms = auth_template
    repo = init_repo(copy_project(FIXTURES / "move_users_auth_project", tmp_path / "hub"))
    auth_shared_only(repo)
    name = f"au_{os.getpid()}_{next(_names)}"
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template.name)
            )
        )
    db = template.with_name(name)
    try:
        yield repo, db, perms
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
        "SELECT u.username, g.name FROM public.auth_user_groups m JOIN public.auth_user u ON "
        "u.id = m.user_id JOIN public.auth_group g ON g.id = m.group_id ORDER BY 1, 2",
    )


def test_plan_moves_auth_memberships_by_natural_key_and_retires_the_tenant_auth_tables(hub):
    repo, db, _ = hub
    before = dump(db)
    assert rows(
        db,
        "SELECT t.id <> p.id FROM acme.auth_group t, public.auth_group p "
        "WHERE t.name = 'editors' AND p.name = 'editors'",
    ) == [(True,)]
    plan = invoke("move-users", str(repo), "--database-url", db.url)
    assert plan.exit_code == 1, plan.output
    out = plan.stdout
    assert "user model auth.User (table 'auth_user')" in out
    assert "0 without the user table auth_user)" in out
    assert (
        "move 3 membership(s) of auth_user_groups in 2 schema(s) into public.auth_user_groups, "
        "each auth_group row matched by natural key (name)" in out
    )
    assert (
        "move 1 membership(s) of auth_user_user_permissions in 1 schema(s) into "
        "public.auth_user_user_permissions, each auth_permission row matched by natural key "
        "(content_type_id -> (app_label, model), codename)" in out
    )
    assert (
        "DECISION auth_user_groups: 1 membership(s) in 1 schema(s) name 1 group(s) public "
        "lacks: 'acme-only' (1 in acme); kept in auth_user_groups__tenantfix_backup" in out
    )
    assert (
        "WARNING auth_user_groups: 1 group(s) matched by their natural key differ from public's "
        "in what they grant; after the move their members get public's: 'reviewers' "
        "(auth_group_permissions, in acme; only the tenant's grants 1: desk.ticket.change_ticket; "
        "only public's grants 1: desk.ticket.view_ticket)" in out
    )
    assert (
        "rename auth_user, auth_user_groups, auth_user_user_permissions to "
        "<name>__tenantfix_backup in 2 schema(s)" in out
    )
    assert (
        "rename the tenant's own copies of now SHARED-only tables (auth_group: 6 row(s), "
        "auth_group_permissions: 4 row(s), auth_permission: " in out
    )
    assert "; in 2 schema(s)) to <name>__tenantfix_backup" in out
    assert dump(db) == before


def test_execute_retires_the_tenant_auth_tables_and_django_answers_as_before(hub):
    repo, db, tenant_era = hub
    before = data(db)
    result = invoke("move-users", str(repo), "--database-url", db.url, "--execute", "--verify")
    assert result.exit_code == 0, result.output
    assert "  Proven:" in result.stdout
    for schema in ("acme", "globex"):
        assert AUTH_TABLES.isdisjoint(tables(db, schema)), tables(db, schema)
        assert {f"{t}__tenantfix_backup" for t in AUTH_TABLES} <= tables(db, schema)
    # the memberships name public's groups and permissions by natural key, not by id
    assert public_groups(db) == [("alice", "editors"), ("gus", "editors"), ("rita", "reviewers")]
    assert rows(
        db,
        "SELECT u.username, c.app_label, p.codename FROM public.auth_user_user_permissions m "
        "JOIN public.auth_user u ON u.id = m.user_id JOIN public.auth_permission p ON "
        "p.id = m.permission_id JOIN public.django_content_type c ON c.id = p.content_type_id",
    ) == [("gwen", "desk", "delete_ticket")]
    # Django inside each tenant: the tenant-era answer where public's group grants the same;
    # amos's group is not in public (kept in the backup, the DECISION line), rita's reviewers
    # grant public's permissions now (the WARNING line)
    after = manage(repo, db, "shell", "-c", PERMS)
    ok(after)
    then = dict(
        line.split(" ", 2)[1:]
        for line in tenant_era.splitlines()
        if line.startswith(("acme ", "globex "))
    )
    now = dict(
        line.split(" ", 2)[1:]
        for line in after.stdout.splitlines()
        if line.startswith(("acme ", "globex "))
    )
    assert then["alice"] == now["alice"] == "['editors'] ['desk.change_ticket'] True"
    assert then["gus"] == now["gus"] == "['editors'] ['desk.change_ticket'] True"
    assert then["gwen"] == now["gwen"] == "[] ['desk.delete_ticket'] False"
    assert then["amos"] == "['acme-only'] ['desk.change_ticket'] True"
    assert now["amos"] == "[] [] False"
    assert now["rita"] == "['reviewers'] ['desk.view_ticket'] False"

    undone = invoke("move-users", str(repo), "--database-url", db.url, "--undo")
    assert undone.exit_code == 0, undone.output
    assert data(db) == before


def test_a_tenant_table_referencing_its_own_permissions_keeps_auth_there(hub):
    """acme has a table of its own referencing acme.auth_permission (read from pg_constraint):
    acme's auth tables stay and so do its memberships, with the reason; globex moves."""
    repo, db, _ = hub
    with psycopg.connect(db.url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE acme.rule (id serial PRIMARY KEY, "
            "permission_id integer NOT NULL REFERENCES acme.auth_permission (id))"
        )
    before = data(db)
    plan = invoke("move-users", str(repo), "--database-url", db.url)
    assert plan.exit_code == 1, plan.output
    assert (
        "DECISION auth_user_groups: 3 membership(s) in 1 schema(s) are not moved "
        "(rule.permission_id references the tenant's own auth_permission, so auth's tables "
        "stay in the tenant schema" in plan.stdout
    )
    result = invoke("move-users", str(repo), "--database-url", db.url, "--execute")
    assert result.exit_code == 0, result.output
    assert tables(db, "acme") >= AUTH_TABLES
    assert AUTH_TABLES.isdisjoint(tables(db, "globex"))
    assert public_groups(db) == [("gus", "editors")]
    undone = invoke("move-users", str(repo), "--database-url", db.url, "--undo")
    assert undone.exit_code == 0, undone.output
    assert data(db) == before
