"""The proofs that a move lost nothing, read from the database after it ran:

- every user of every moved schema is in public: the map has one row per backup row, and every
  mapped id exists in public;
- every foreign key value the move rewrote resolves to a public user;
- every column of each inserted user equals its backup row (password hashes, last_login, flags;
  a value renamed with ``--on-conflict suffix-schema`` is the old one plus ``.<schema>``);
- in the project's interpreter: Django can read every moved password hash (``identify_hasher``)
  ``migrate_schemas`` has no migration to apply in any schema (its executor's plan), and
  ``manage.py check`` passes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tenantfix.moveusers.names import BACKUP_SUFFIX, LOG_TABLE, MAP_TABLE, PUBLIC
from tenantfix.moveusers.plan import MovePlan

if TYPE_CHECKING:
    from tenantfix.db.inspect import Conn
    from tenantfix.db.params import DatabaseParams


def _one(conn: Conn, query: object, args: tuple[object, ...] = ()) -> int:
    row = conn.execute(query, args).fetchone()  # type: ignore[call-overload]
    return int(str(row[0])) if row else 0


def check_database(conn: Conn, plan: MovePlan) -> list[str]:
    """Problems found in the schemas the map records as moved (empty: proven)."""
    from psycopg import sql

    from tenantfix.moveusers.memberships import Context, check_schema
    from tenantfix.moveusers.undo import moved_schemas

    table, pk = plan.user_table, plan.public.pk
    assert pk is not None
    public_t, map_t = sql.Identifier(PUBLIC, table), sql.Identifier(PUBLIC, MAP_TABLE)
    problems: list[str] = []
    compared = [c for c in plan.public.columns if c not in (pk, *plan.public.unique)]
    memo = Context({}, None)  # public's catalog read once for all schemas
    for schema in moved_schemas(conn):
        backup = sql.Identifier(schema, table + BACKUP_SUFFIX)
        users = _one(conn, sql.SQL("SELECT count(*) FROM {}").format(backup))
        mapped = _one(
            conn,
            sql.SQL(
                "SELECT count(*) FROM {} m JOIN {} b ON b.{}::text = m.old_id JOIN {} p ON "
                "p.{}::text = m.new_id WHERE m.schema = %s AND m.undone_at IS NULL"
            ).format(map_t, backup, sql.Identifier(pk), public_t, sql.Identifier(pk)),
            (schema,),
        )
        if mapped != users:
            problems.append(
                f"{schema}: {users} user(s) in the backup, {mapped} found in public through the map"
            )
        userfks = _userfk_log(conn, schema)
        problems += _check_user_fks(conn, plan, schema, userfks)
        compared_here = [c for c in compared if c not in userfks]
        differing = _one(
            conn,
            sql.SQL(
                "SELECT count(*) FROM {} m JOIN {} b ON b.{}::text = m.old_id JOIN {} p ON "
                "p.{}::text = m.new_id WHERE m.schema = %s AND m.undone_at IS NULL AND m.created "
                "AND ({})"
            ).format(
                map_t,
                backup,
                sql.Identifier(pk),
                public_t,
                sql.Identifier(pk),
                sql.SQL(" OR ").join(
                    sql.SQL("b.{0} IS DISTINCT FROM p.{0}").format(sql.Identifier(c))
                    for c in compared_here
                )
                if compared_here
                else sql.SQL("false"),
            ),
            (schema,),
        )
        if differing:
            problems.append(f"{schema}: {differing} inserted user(s) differ from their backup row")
        problems += check_schema(conn, schema, table, memo)
        fks = conn.execute(
            sql.SQL(
                "SELECT table_name, column_name FROM {} WHERE schema = %s AND kind = 'fk' AND "
                "undone_at IS NULL"
            ).format(sql.Identifier(PUBLIC, LOG_TABLE)),
            (schema,),
        ).fetchall()
        for fk_table, column in fks:
            col = sql.Identifier(str(column))
            dangling = _one(
                conn,
                sql.SQL(
                    "SELECT count(*) FROM {} t WHERE t.{} IS NOT NULL AND NOT EXISTS "
                    "(SELECT 1 FROM {} p WHERE p.{} = t.{})"
                ).format(
                    sql.Identifier(schema, str(fk_table)), col, public_t, sql.Identifier(pk), col
                ),
            )
            if dangling:
                problems.append(
                    f"{schema}.{fk_table}.{column}: {dangling} value(s) name no public user"
                )
    return problems


def _userfk_log(conn: Conn, schema: str) -> dict[str, tuple[str, dict[str, tuple[str, str]]]]:
    """The user table's foreign key columns the move wrote public ids into: column ->
    (public's target table, tenant id -> (public id, natural key label))."""
    from psycopg import sql

    rows = conn.execute(
        sql.SQL(
            "SELECT column_name, name, definition FROM {} WHERE schema = %s AND kind = 'userfk' "
            "AND undone_at IS NULL"
        ).format(sql.Identifier(PUBLIC, LOG_TABLE)),
        (schema,),
    ).fetchall()
    out: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {}
    for column, target, definition in rows:
        pairs = json.loads(str(definition))["pairs"]
        out[str(column)] = (str(target), {str(o): (str(n), str(k)) for o, n, k in pairs})
    return out


def _check_user_fks(
    conn: Conn,
    plan: MovePlan,
    schema: str,
    userfks: dict[str, tuple[str, dict[str, tuple[str, str]]]],
) -> list[str]:
    """Each inserted user's rewritten value names the public row whose natural key is the one
    its backup value had in the tenant schema (recorded at the move)."""
    from psycopg import sql

    from tenantfix.moveusers.memberships import key_values, label, natural_key

    pk = plan.public.pk
    assert pk is not None
    problems: list[str] = []
    for column, (target, pairs) in sorted(userfks.items()):
        key = natural_key(conn, PUBLIC, target.split(".", 1)[1])
        keys = {k: label(v) for k, v in key_values(conn, key).items()} if key else {}
        rows = conn.execute(
            sql.SQL(
                "SELECT b.{0}::text, p.{0}::text FROM {1} m JOIN {2} b ON b.{3}::text = m.old_id "
                "JOIN {4} p ON p.{3}::text = m.new_id WHERE m.schema = %s AND m.undone_at IS NULL "
                "AND m.created"
            ).format(
                sql.Identifier(column),
                sql.Identifier(PUBLIC, MAP_TABLE),
                sql.Identifier(schema, plan.user_table + BACKUP_SUFFIX),
                sql.Identifier(pk),
                sql.Identifier(PUBLIC, plan.user_table),
            ),
            (schema,),
        ).fetchall()
        wrong = 0
        for old, new in rows:
            if old is None:
                wrong += new is not None
                continue
            expected = pairs.get(str(old))
            if expected is None or new != expected[0] or keys.get(str(new)) != expected[1]:
                wrong += 1
        if wrong:
            problems.append(
                f"{schema}: {wrong} inserted user(s) whose {plan.user_table}.{column} does not "
                f"name the {target} row with the natural key its tenant value had"
            )
    return problems


_PROJECT_CHECK = r"""
import json
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import identify_hasher
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_tenants.utils import get_tenant_model, get_public_schema_name
ids = json.loads(open(__import__("sys").argv[1]).read())
bad = 0
for user in get_user_model().objects.filter(pk__in=ids).only("password"):
    if user.has_usable_password():
        try:
            identify_hasher(user.password)
        except ValueError:
            bad += 1
public = get_public_schema_name()
pending = {}
schemas = [public] + sorted(
    get_tenant_model().objects.exclude(schema_name=public).values_list("schema_name", flat=True)
)
for schema in schemas:
    connection.set_schema(schema)
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        pending[schema] = ["%s.%s" % (m.app_label, m.name) for m, _ in plan]
connection.set_schema_to_public()
from django.core.management import call_command
check_error = None
try:
    call_command("check", stdout=open("/dev/null", "w"))
except BaseException as exc:  # SystemCheckError: manage.py check would fail
    check_error = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
print("TENANTFIX-PROOF " + json.dumps(
    {"unreadable_hashes": bad, "pending": pending, "check": check_error}
))
"""


def check_project(plan: MovePlan, params: DatabaseParams, python: str | None) -> list[str]:
    """The checks that need the project's Django: password hashes and pending migrations."""
    import tempfile
    from pathlib import Path

    from psycopg import sql

    from tenantfix.db.connect import connect
    from tenantfix.djangorun import DjangoRunner

    with connect(params) as conn:
        rows = (
            conn.execute(
                sql.SQL("SELECT DISTINCT new_id FROM {} WHERE undone_at IS NULL").format(
                    sql.Identifier(PUBLIC, MAP_TABLE)
                )
            ).fetchall()
            if _has_map(conn)
            else []
        )
    ids = [str(r[0]) for r in rows]
    with tempfile.TemporaryDirectory(prefix="tenantfix-moveusers-") as tmp:
        ids_file = Path(tmp) / "ids.json"
        ids_file.write_text(json.dumps(ids), encoding="utf-8")
        with DjangoRunner(
            plan.project.root, plan.project.settings_module, params, python=python
        ) as runner:
            result = runner.script(_PROJECT_CHECK, str(ids_file))
    marker = next(
        (line for line in result.stdout.splitlines() if line.startswith("TENANTFIX-PROOF ")), None
    )
    if result.returncode != 0 or marker is None:
        return [f"the project check could not run: {result.error or 'no result'}"]
    found = json.loads(marker.removeprefix("TENANTFIX-PROOF "))
    problems = []
    if found["unreadable_hashes"]:
        problems.append(
            f"{found['unreadable_hashes']} moved user(s) have a password hash the project's "
            "PASSWORD_HASHERS cannot read"
        )
    if found.get("check"):
        problems.append(f"manage.py check fails: {found['check']}")
    for schema, names in sorted(found["pending"].items()):
        problems.append(
            f"migrate_schemas would apply {len(names)} migration(s) in {schema}: "
            + ", ".join(names[:5])
        )
    return problems


def _has_map(conn: Conn) -> bool:
    from tenantfix.moveusers.catalog import table_exists

    return table_exists(conn, PUBLIC, MAP_TABLE)
