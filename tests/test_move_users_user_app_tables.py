"""move-users and the user app's OTHER tables (a model besides the user: accounts.SupportMessage,
as users.SupportMessage on AkkAshy/iMaster_Service), on a real PostgreSQL.

Once the user app is SHARED-only, the application reads public's accounts_supportmessage, and
each tenant's own copy would shadow it on search_path '<tenant>, public'. tenantfix moves the
user model's rows only: an empty copy is renamed to a backup with the user tables; a copy
holding rows refuses the move (exit 3, nothing changed) naming the table, the schema and the
count, unless --retire-user-app-tables renames it anyway (rows kept in the backup).
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

SETTINGS = "hub/settings.py"
RECORD_TABLES = {"tenantfix_user_map", "tenantfix_user_move_log"}
TABLE = "accounts_supportmessage"
_names = itertools.count(1)

POPULATE = r"""
from django_tenants.utils import schema_context
from accounts.models import Person
from customers.models import Client, Domain
Person.objects.create_superuser("root", "root@example.com", "root-pass")
for schema, names in {"acme": ["alice", "bob"], "globex": ["gus"]}.items():
    client = Client(schema_name=schema, name=schema.title())
    client.save()
    Domain.objects.create(domain=schema + ".localhost", tenant=client, is_primary=True)
    with schema_context(schema):
        for name in names:
            Person.objects.create_user(name, "%s@%s.test" % (name, schema), "pw")
print("ok")
"""


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def ok(result) -> None:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]


def project(dest):
    repo = copy_project(FIXTURES / "move_users_project", dest)
    shutil.copytree(FIXTURES / "move_users_project_extra_model", repo, dirs_exist_ok=True)
    return init_repo(repo)


def accounts_shared_only(repo) -> None:
    path = repo / SETTINGS
    text = path.read_text()
    fixed = text.replace('    "accounts",\n    "desk",\n', '    "desk",\n')
    assert fixed != text
    path.write_text(fixed)


@pytest.fixture(scope="module")
def template(pg_server, tmp_path_factory):
    repo = project(tmp_path_factory.mktemp("ua") / "hub")
    db = pg_server.create_database(f"ua_template_{os.getpid()}")
    ok(manage(repo, db, "migrate_schemas", "--shared"))
    ok(manage(repo, db, "shell", "-c", POPULATE))
    yield db
    pg_server.drop_database(db.name)


@pytest.fixture
def hub(pg_server, template, tmp_path) -> Iterator[tuple[object, object]]:
    repo = project(tmp_path / "hub")
    accounts_shared_only(repo)
    name = f"ua_{os.getpid()}_{next(_names)}"
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


def add_messages(db, schema: str, n: int) -> None:
    with psycopg.connect(db.url, autocommit=True) as conn:
        for i in range(n):
            conn.execute(
                sql.SQL("INSERT INTO {} (body, author_id) SELECT %s, min(id) FROM {}").format(
                    sql.Identifier(schema, TABLE), sql.Identifier(schema, "people")
                ),
                (f"help {i}",),
            )


def test_empty_other_tables_are_retired_with_the_user_tables(hub):
    repo, db = hub
    before = data(db)
    plan = invoke("move-users", str(repo), "--database-url", db.url)
    assert plan.exit_code == 1, plan.output
    assert (
        "rename the other tables of the user app 'accounts' (accounts_supportmessage: 0 row(s); "
        "in 2 schema(s)) to <name>__tenantfix_backup: empty in every schema; on search_path "
        "'<tenant>, public' they would shadow public's" in plan.stdout
    )
    result = invoke("move-users", str(repo), "--database-url", db.url, "--execute", "--verify")
    assert result.exit_code == 0, result.output[-3000:]
    for schema in ("acme", "globex"):
        assert TABLE not in tables(db, schema)
        assert f"{TABLE}__tenantfix_backup" in tables(db, schema)
    assert TABLE in tables(db, "public")
    undone = invoke("move-users", str(repo), "--database-url", db.url, "--undo")
    assert undone.exit_code == 0, undone.output
    assert data(db) == before


def test_rows_in_another_table_of_the_user_app_refuse_the_move(hub):
    repo, db = hub
    add_messages(db, "acme", 2)
    before = dump(db)
    for extra in ([], ["--execute"], ["--execute", "--verify"]):
        result = invoke("move-users", str(repo), "--database-url", db.url, *extra)
        assert result.exit_code == 3, result.output
        assert (
            "REFUSED acme.accounts_supportmessage (accounts.SupportMessage's table, of the user "
            "app 'accounts') holds 2 row(s)" in result.stdout
        )
        assert "--retire-user-app-tables" in result.stdout
        assert "keep 'accounts' in TENANT_APPS" in result.stdout
        assert "globex.accounts_supportmessage" not in result.stdout  # empty there
        assert dump(db) == before


def test_the_opt_in_retires_them_with_their_rows_and_undo_restores(hub):
    repo, db = hub
    add_messages(db, "acme", 2)
    before = data(db)
    args = ["move-users", str(repo), "--database-url", db.url, "--retire-user-app-tables"]
    plan = invoke(*args)
    assert plan.exit_code == 1, plan.output
    assert (
        "(accounts_supportmessage: 2 row(s); in 2 schema(s)) to <name>__tenantfix_backup: 2 "
        "row(s) stay in the backups and will no longer be visible to the application" in plan.stdout
    )
    result = invoke(*args, "--execute", "--verify")
    assert result.exit_code == 0, result.output
    with psycopg.connect(db.url) as conn:
        assert conn.execute(f"SELECT count(*) FROM acme.{TABLE}__tenantfix_backup").fetchone() == (
            2,
        )
        assert conn.execute(f"SELECT count(*) FROM public.{TABLE}").fetchone() == (0,)
    assert TABLE not in tables(db, "acme")
    undone = invoke("move-users", str(repo), "--database-url", db.url, "--undo")
    assert undone.exit_code == 0, undone.output
    assert data(db) == before


def test_a_tenant_table_referencing_another_table_of_the_user_app_refuses(hub):
    """Renamed, the table would keep that reference (to the backup) while the application
    writes public's ids: refused, named, nothing changed."""
    repo, db = hub
    with psycopg.connect(db.url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE globex.reply (id serial PRIMARY KEY, "
            f"message_id bigint REFERENCES globex.{TABLE} (id))"
        )
    before = dump(db)
    result = invoke("move-users", str(repo), "--database-url", db.url, "--execute")
    assert result.exit_code == 3, result.output
    assert (
        "REFUSED globex.reply.message_id (constraint reply_message_id_fkey) references "
        "globex.accounts_supportmessage (accounts.SupportMessage's table" in result.stdout
    )
    assert dump(db) == before
