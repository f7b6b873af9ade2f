"""Reverse a move from the backup tables, the map and the log: one transaction per schema, the
last moved first. The backup tables get their names back, every rewritten foreign key gets its
old values and its original constraint, the users the move inserted into public are deleted
(those another still-moved schema maps onto are kept), and the migration records the move added
are deleted. The map and log rows are kept, marked ``undone_at``, as the record of what happened.

Rows the application wrote after the move that point at public users with no tenant
counterpart make a constraint fail: that schema is rolled back and named, nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tenantfix.db.params import DatabaseParams
from tenantfix.moveusers.names import LOG_TABLE, MAP_TABLE, PUBLIC
from tenantfix.moveusers.plan import rewrite_column

if TYPE_CHECKING:
    from tenantfix.db.inspect import Conn
    from tenantfix.moveusers.execute import Progress


@dataclass
class UndoRun:
    undone: list[tuple[str, int]] = field(default_factory=list)  # schema, users deleted
    failed: tuple[str, str] | None = None
    interrupted: str | None = None
    nothing: bool = False

    @property
    def ok(self) -> bool:
        return self.failed is None and self.interrupted is None

    def lines(self) -> list[str]:
        if self.nothing:
            return [f"Nothing to undo: public.{MAP_TABLE} records no moved schema."]
        out = [
            f"undone {s}: its user tables restored, foreign keys pointed back, {n} user(s) the "
            "move had inserted deleted from public"
            for s, n in self.undone
        ]
        if self.failed is not None:
            out.append(f"FAILED {self.failed[0]}: {self.failed[1]} (rolled back; still moved)")
        if self.interrupted is not None:
            out.append(f"INTERRUPTED in {self.interrupted}: rolled back; still moved")
        return out


def moved_schemas(conn: Conn) -> list[str]:
    """Schemas still moved, the most recently moved first."""
    from psycopg import sql

    from tenantfix.moveusers.catalog import table_exists

    if not table_exists(conn, PUBLIC, LOG_TABLE):
        return []
    rows = conn.execute(
        sql.SQL(
            "SELECT schema FROM {} WHERE undone_at IS NULL GROUP BY schema ORDER BY max(moved_at) "
            "DESC, schema DESC"
        ).format(sql.Identifier(PUBLIC, LOG_TABLE))
    ).fetchall()
    return [str(r[0]) for r in rows]


def undo_schema(conn: Conn, schema: str, user_table: str, pk: str, pk_type: str) -> int:
    from psycopg import sql

    from tenantfix.moveusers.memberships import undo_rows

    log_t, map_t = sql.Identifier(PUBLIC, LOG_TABLE), sql.Identifier(PUBLIC, MAP_TABLE)
    log = conn.execute(
        sql.SQL(
            "SELECT kind, table_name, column_name, name, definition FROM {} WHERE schema = %s "
            "AND undone_at IS NULL AND kind IN ('rename', 'fk', 'record') ORDER BY moved_at, kind"
        ).format(log_t),
        (schema,),
    ).fetchall()
    for kind, table, _column, name, _definition in log:
        if kind == "rename":
            conn.execute(
                sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                    sql.Identifier(schema, str(name)), sql.Identifier(str(table))
                )
            )
    conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
    fks = [(str(t), str(c), str(n), str(d)) for k, t, c, n, d in log if k == "fk"]
    for table, _column, fk_name, _definition in fks:
        conn.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(schema, table), sql.Identifier(fk_name)
            )
        )
    for table, column, _name, _definition in fks:
        rewrite_column(conn, schema, table, column, pk_type, from_col="new_id", to_col="old_id")
    for table, _column, fk_name, definition in fks:
        # the definition pg_get_constraintdef gave before the move, every name schema-qualified
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.Identifier(schema, table), sql.Identifier(fk_name), sql.SQL(definition)
            )
        )
    for kind, _table, rec_app, rec_name, _definition in log:
        if kind == "record":
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE app = %s AND name = %s").format(
                    sql.Identifier(schema, "django_migrations")
                ),
                (rec_app, rec_name),
            )
    # the memberships (and groups) the move inserted into public, recorded row by row
    undo_rows(conn, schema)
    deleted = conn.execute(
        sql.SQL(
            "DELETE FROM {} AS u WHERE u.{}::text IN (SELECT new_id FROM {} WHERE schema = %s "
            "AND created AND undone_at IS NULL) AND NOT EXISTS (SELECT 1 FROM {} AS o WHERE "
            "o.new_id = u.{}::text AND o.schema <> %s AND o.undone_at IS NULL)"
        ).format(
            sql.Identifier(PUBLIC, user_table), sql.Identifier(pk), map_t, map_t, sql.Identifier(pk)
        ),
        (schema, schema),
    ).rowcount
    for t in (map_t, log_t):
        conn.execute(
            sql.SQL(
                "UPDATE {} SET undone_at = now() WHERE schema = %s AND undone_at IS NULL"
            ).format(t),
            (schema,),
        )
    return int(deleted)


def undo_move(
    params: DatabaseParams,
    user_table: str,
    pk: str,
    pk_type: str,
    *,
    progress: Progress | None = None,
) -> UndoRun:
    import psycopg

    from tenantfix.db.connect import connect, scrub

    run = UndoRun()
    with connect(params) as conn:
        schemas = moved_schemas(conn)
        if not schemas:
            run.nothing = True
            return run
        for i, schema in enumerate(schemas):
            if progress is not None:
                progress(i, len(schemas), f"undoing the move of {schema}")
            try:
                with conn.transaction():
                    deleted = undo_schema(conn, schema, user_table, pk, pk_type)
            except KeyboardInterrupt:
                run.interrupted = schema
                break
            except psycopg.Error as exc:
                run.failed = (schema, scrub(str(exc).strip(), params))
                break
            run.undone.append((schema, deleted))
    return run
