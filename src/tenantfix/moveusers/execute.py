"""Run a move-users plan: one transaction per tenant schema, in the plan's order.

In each schema's transaction: lock the tenant's user table, map its users again on what public
holds now (the plan's clashes re-checked), insert the users to create into public with every
column copied by ``INSERT ... SELECT`` (the stored values themselves: password hashes,
last_login, flags), record the mapping in ``public.tenantfix_user_map``, rewrite every foreign
key column read from ``pg_constraint`` and recreate its constraint under the same name against
public's table, rename the tenant's user tables to ``<table>__tenantfix_backup``, and add the user
app's migration records public has. A failure, a lost connection or Ctrl-C rolls back the
current schema only; the schemas committed before it stay moved, and a rerun skips them (their
backup table exists).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tenantfix.moveusers.memberships import Context
from tenantfix.moveusers.names import LOG_TABLE, MAP_TABLE, PUBLIC, backup_name
from tenantfix.moveusers.plan import (
    MovePlan,
    SchemaMove,
    on_delete_clause,
    public_index,
    read_users,
    rewrite_column,
)

if TYPE_CHECKING:
    from tenantfix.db.inspect import Conn

Hook = Callable[[str, "Conn"], None]  # tests: called inside a schema's transaction, pre-commit
Progress = Callable[[int, int, str], None]


class MoveRefused(Exception):
    """The schema changed since the plan in a way that needs a new plan."""


@dataclass
class MoveRun:
    plan: MovePlan
    moved: list[tuple[str, int, int]] = field(default_factory=list)  # schema, inserted, matched
    memberships: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    failed: tuple[str, str] | None = None  # (schema, reason): rolled back
    interrupted: str | None = None  # schema rolled back by Ctrl-C

    @property
    def ok(self) -> bool:
        return self.failed is None and self.interrupted is None

    def not_run(self) -> list[str]:
        done = {s for s, _, _ in self.moved}
        return [s.schema for s in self.plan.to_move if s.schema not in done]

    def lines(self) -> list[str]:
        out = []
        for s, i, m in self.moved:
            line = f"moved {s}: {i} user(s) inserted into public, {m} mapped onto existing public users"
            inserted, present, kept = self.memberships.get(s, (0, 0, 0))
            if inserted or present or kept:
                line += (
                    f"; memberships: {inserted} inserted into public, {present} already there, "
                    f"{kept} kept in the backup tables"
                )
            out.append(line)
        if self.failed is not None:
            out.append(f"FAILED {self.failed[0]}: {self.failed[1]}")
            out.append(f"  {self.failed[0]} was rolled back: nothing changed in that schema.")
        if self.interrupted is not None:
            out.append(f"INTERRUPTED in {self.interrupted}: rolled back, nothing changed there.")
        if not self.ok:
            left = self.not_run()
            out.append(
                f"{len(self.moved)} schema(s) moved and committed; {len(left)} not moved "
                f"({', '.join(left[:10])}{', ...' if len(left) > 10 else ''}). Rerun "
                "`tenantfix move-users --execute` to continue where it stopped (moved schemas "
                "are skipped), or `--undo` to reverse what was moved."
            )
        return out


def ensure_record_tables(conn: Conn) -> None:
    from psycopg import sql

    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (schema text NOT NULL, old_id text NOT NULL, "
            "new_id text NOT NULL, created boolean NOT NULL, moved_at timestamptz NOT NULL "
            "DEFAULT now(), undone_at timestamptz)"
        ).format(sql.Identifier(PUBLIC, MAP_TABLE))
    )
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (schema text NOT NULL, kind text NOT NULL, "
            "table_name text NOT NULL, column_name text, name text NOT NULL, definition text, "
            "moved_at timestamptz NOT NULL DEFAULT now(), undone_at timestamptz)"
        ).format(sql.Identifier(PUBLIC, LOG_TABLE))
    )


def _log(
    conn: Conn,
    schema: str,
    kind: str,
    table: str,
    column: str | None,
    name: str,
    definition: str | None = None,
) -> None:
    from psycopg import sql

    conn.execute(
        sql.SQL(
            "INSERT INTO {} (schema, kind, table_name, column_name, name, definition) "
            "VALUES (%s, %s, %s, %s, %s, %s)"
        ).format(sql.Identifier(PUBLIC, LOG_TABLE)),
        (schema, kind, table, column, name, definition),
    )


def move_schema(
    conn: Conn, plan: MovePlan, planned: SchemaMove, hook: Hook | None, memo: Context | None = None
) -> tuple[int, int, tuple[int, int, int]]:
    """Inside the caller's transaction. Returns (inserted, matched, memberships: inserted,
    already in public, kept)."""
    from psycopg import sql

    from tenantfix.moveusers.catalog import (
        column_types,
        constraint_definition,
        references_to,
        table_exists,
    )
    from tenantfix.moveusers.mapping import map_schema
    from tenantfix.moveusers.userfks import plan_user_fks, refusal

    schema, table = planned.schema, plan.user_table
    memo = memo or Context({}, None)
    pk = plan.public.pk
    assert pk is not None and plan.public.pk_type is not None
    tenant_t, public_t = sql.Identifier(schema, table), sql.Identifier(PUBLIC, table)
    map_t = sql.Identifier(PUBLIC, MAP_TABLE)
    conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(tenant_t))
    conn.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(public_t))
    now = {fk.constraint for fk in references_to(conn, schema, table)}
    expected = {fk.constraint for fk in planned.fks}
    app_tables = [t for t, _ in planned.app_tables]
    retired = [t for t, _ in (*planned.retire, *planned.retire_app)]
    if not expected <= now or any(
        not table_exists(conn, schema, t) for t in (*app_tables, *retired)
    ):
        raise MoveRefused(
            f"the foreign keys to {schema}.{table} changed since the plan was read; run "
            "move-users again to plan on what the database holds now"
        )
    index = public_index(conn, plan.public, plan.match)
    rows = read_users(conn, schema, table)
    mapped, clashes = map_schema(
        schema,
        rows,
        pk,
        index,
        match=plan.match,
        on_conflict=plan.on_conflict,
    )
    if clashes:
        raise MoveRefused("; ".join(c.line() for c in clashes))
    # the user table's own foreign keys, decided again on what public holds now
    user_fks = plan_user_fks(conn, schema, table, pk, rows, mapped, memo)
    refused = [refusal(schema, table, plan.user_app, u) for u in user_fks if u.action == "refuse"]
    if refused:
        raise MoveRefused("; ".join(refused))
    rewrites = {u.column: u.rewrite() for u in user_fks if u.action == "map"}
    types = column_types(conn, PUBLIC, table)
    by_id = {str(r[pk]): r for r in rows}
    for u in user_fks:
        if u.action == "map":
            _log(
                conn,
                schema,
                "userfk",
                table,
                u.column,
                u.public_target,
                json.dumps({"target": u.target, "pairs": [list(p) for p in u.pairs]}),
            )
    columns = [c for c in plan.public.columns if c != pk]
    new_ids: dict[object, object] = {}
    for m in mapped:
        if m.action != "insert":
            continue
        renamed = dict(m.renamed)
        row_values = by_id[str(m.old_id)]
        for column, ids in rewrites.items():
            if row_values.get(column) is not None:
                renamed[column] = ids[str(row_values[column])]
        select = sql.SQL(", ").join(
            sql.SQL("{}::{}").format(sql.Literal(renamed[c]), sql.SQL(types[c]))
            if c in renamed
            else sql.Identifier(c)
            for c in columns
        )
        row = conn.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} WHERE {} = %s RETURNING {}").format(
                public_t,
                sql.SQL(", ").join(sql.Identifier(c) for c in columns),
                select,
                tenant_t,
                sql.Identifier(pk),
                sql.Identifier(pk),
            ),
            (m.old_id,),
        ).fetchone()
        assert row is not None
        new_ids[m.old_id] = row[0]
    pairs: list[tuple[str, str, str, bool]] = []
    for m in mapped:
        if m.action == "insert":
            target = new_ids[m.old_id]
        elif isinstance(m.target, tuple):  # a user inserted just above (same schema)
            target = new_ids[m.target[2]]
        else:
            target = m.target
        pairs.append((schema, str(m.old_id), str(target), m.action == "insert"))
    with conn.cursor() as cur:
        cur.executemany(
            sql.SQL(
                "INSERT INTO {} (schema, old_id, new_id, created) VALUES (%s, %s, %s, %s)"
            ).format(map_t),
            pairs,
        )
    # Deferred checks would leave "pending trigger events" that forbid the next ALTER TABLE:
    # every constraint is checked at once in this transaction.
    conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for fk in planned.fks:
        definition = constraint_definition(conn, schema, fk.table, fk.constraint)
        _log(conn, schema, "fk", fk.table, fk.column, fk.constraint, definition)
        conn.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(schema, fk.table), sql.Identifier(fk.constraint)
            )
        )
    for fk in planned.fks:
        rewrite_column(
            conn,
            schema,
            fk.table,
            fk.column,
            plan.public.pk_type,
            from_col="old_id",
            to_col="new_id",
        )
    for fk in planned.fks:
        conn.execute(
            sql.SQL(
                "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}){} "
                "DEFERRABLE INITIALLY DEFERRED"
            ).format(
                sql.Identifier(schema, fk.table),
                sql.Identifier(fk.constraint),
                sql.Identifier(fk.column),
                public_t,
                sql.Identifier(pk),
                sql.SQL(on_delete_clause(fk.on_delete)),
            )
        )
    memberships = _move_memberships(conn, plan, planned, memo)
    if hook is not None:
        hook(schema, conn)
    for name in (table, *app_tables, *retired):
        conn.execute(
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                sql.Identifier(schema, name), sql.Identifier(backup_name(name))
            )
        )
        _log(conn, schema, "rename", name, None, backup_name(name))
    for app, name in planned.records:
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (app, name, applied) SELECT %s, %s, now() WHERE NOT EXISTS "
                "(SELECT 1 FROM {} WHERE app = %s AND name = %s)"
            ).format(
                sql.Identifier(schema, "django_migrations"),
                sql.Identifier(schema, "django_migrations"),
            ),
            (app, name, app, name),
        )
        _log(conn, schema, "record", "django_migrations", app, name)
    inserted = sum(1 for m in mapped if m.action == "insert")
    return inserted, len(mapped) - inserted, memberships


def _move_memberships(
    conn: Conn, plan: MovePlan, planned: SchemaMove, memo: Context
) -> tuple[int, int, int]:
    """The user app's many-to-many tables: the memberships that move are inserted into
    public (groups created first with --create-missing-groups); the decision on each table is
    logged for the proofs. Returns (memberships inserted, already in public, kept behind)."""
    from tenantfix.moveusers.memberships import create_groups, log_decision, move_table

    inserted = present = kept = 0
    for m in planned.memberships:
        if m.decision != "move":
            log_decision(conn, planned.schema, m.table, "kept", {"rows": m.rows, "why": m.reason})
            kept += m.rows
            continue
        if plan.create_missing_groups:
            create_groups(conn, planned.schema, m.table, plan.user_table, plan.group_table)
        counts = move_table(conn, planned.schema, m.table, plan.user_table, memo)
        inserted += counts["inserted"]
        present += counts["moved"] - counts["inserted"]
        kept += counts["kept"]
    return inserted, present, kept


def execute_move(
    plan: MovePlan,
    *,
    progress: Progress | None = None,
    hook: Hook | None = None,
) -> MoveRun:
    """Move every schema of the plan; stops at the first failure (that schema rolled back)."""
    import psycopg

    from tenantfix.db.connect import connect, scrub
    from tenantfix.moveusers.catalog import table_exists

    if plan.public_missing:
        raise ValueError("a plan made before public had its user table is never executed")
    run = MoveRun(plan)
    todo = plan.to_move
    memo = Context({}, None)  # public's catalog (never its rows) read once for all schemas
    with connect(plan.database) as conn:
        ensure_record_tables(conn)
    conn = connect(plan.database)
    try:
        for i, planned in enumerate(todo):
            if progress is not None:
                progress(i, len(todo), f"moving the users of {planned.schema}")
            try:
                with conn.transaction():
                    if table_exists(conn, planned.schema, backup_name(plan.user_table)):
                        continue  # moved by a concurrent or earlier run since the plan
                    inserted, matched, memberships = move_schema(conn, plan, planned, hook, memo)
            except KeyboardInterrupt:
                run.interrupted = planned.schema
                break
            except MoveRefused as exc:
                run.failed = (planned.schema, str(exc))
                break
            except psycopg.Error as exc:
                message = scrub(str(exc).strip(), plan.database)
                if conn.broken or conn.closed:
                    message = "the connection to the database was lost: " + (
                        message.splitlines()[0] if message else "no message"
                    )
                run.failed = (planned.schema, message)
                break
            run.moved.append((planned.schema, inserted, matched))
            run.memberships[planned.schema] = memberships
    finally:
        with contextlib.suppress(Exception):  # a lost connection may fail to close
            conn.close()
    return run
