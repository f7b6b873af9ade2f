"""What PostgreSQL's catalogs say about a user table: columns, keys, and who references it.

Foreign keys are read from ``pg_constraint``, never guessed from models: a table of an app
tenantfix cannot see, or a constraint written by hand, references the user table all the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenantfix.db.inspect import Conn


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """One FK/O2O constraint whose target is a user table."""

    schema: str  # the referencing table's schema
    table: str
    column: str
    constraint: str
    on_delete: str  # pg_constraint.confdeltype: a r c n d
    columns: int  # number of columns of the constraint (only 1 is supported)
    target_column: str


@dataclass(frozen=True, slots=True)
class TableInfo:
    schema: str
    table: str
    columns: tuple[str, ...]
    pk: str | None
    pk_type: str | None
    unique: tuple[str, ...]  # single-column unique indexes other than the primary key


def regclass(schema: str, table: str) -> str:
    from psycopg import sql

    return sql.Identifier(schema, table).as_string(None)


def table_info(conn: Conn, schema: str, table: str) -> TableInfo | None:
    rel = regclass(schema, table)
    row = conn.execute("SELECT to_regclass(%s)::oid", (rel,)).fetchone()
    if row is None or row[0] is None:
        return None
    oid = row[0]
    cols = conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) "
        "FROM pg_attribute WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        (oid,),
    ).fetchall()
    pk_rows = conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = i.indkey[0] WHERE i.indrelid = %s AND i.indisprimary AND i.indnatts = 1",
        (oid,),
    ).fetchall()
    unique = conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = i.indkey[0] WHERE i.indrelid = %s AND i.indisunique "
        "AND NOT i.indisprimary AND i.indnatts = 1 AND i.indpred IS NULL ORDER BY 1",
        (oid,),
    ).fetchall()
    pk = str(pk_rows[0][0]) if pk_rows else None
    types = {str(c[0]): str(c[1]) for c in cols}
    return TableInfo(
        schema=schema,
        table=table,
        columns=tuple(str(c[0]) for c in cols),
        pk=pk,
        pk_type=types.get(pk) if pk else None,
        unique=tuple(sorted({str(u[0]) for u in unique})),
    )


def references_to(conn: Conn, schema: str, table: str) -> list[ForeignKey]:
    """Every foreign key constraint (any schema) whose target is ``schema.table``."""
    rows = conn.execute(
        "SELECT n.nspname, cl.relname, a.attname, c.conname, c.confdeltype, "
        "cardinality(c.conkey), ta.attname "
        "FROM pg_constraint c "
        "JOIN pg_class cl ON cl.oid = c.conrelid "
        "JOIN pg_namespace n ON n.oid = cl.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "JOIN pg_attribute ta ON ta.attrelid = c.confrelid AND ta.attnum = c.confkey[1] "
        "WHERE c.contype = 'f' AND c.confrelid = to_regclass(%s) "
        "ORDER BY 1, 2, 4",
        (regclass(schema, table),),
    ).fetchall()
    return [
        ForeignKey(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), int(str(r[5])), str(r[6]))
        for r in rows
    ]


def constraint_definition(conn: Conn, schema: str, table: str, name: str) -> str:
    """``pg_get_constraintdef`` with every name schema-qualified (search_path emptied)."""
    conn.execute("SELECT set_config('search_path', 'pg_catalog', true)")
    row = conn.execute(
        "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "WHERE c.conrelid = to_regclass(%s) AND c.conname = %s",
        (regclass(schema, table), name),
    ).fetchone()
    conn.execute("SELECT set_config('search_path', 'public', true)")
    assert row is not None
    return str(row[0])


def table_exists(conn: Conn, schema: str, table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (regclass(schema, table),)).fetchone()
    return bool(row and row[0])


@dataclass(frozen=True, slots=True)
class Reference:
    """One foreign key *of* a table: its column and the table it references."""

    column: str
    schema: str  # the referenced table's schema
    table: str
    target_column: str
    columns: int
    constraint: str


def references_from(conn: Conn, schema: str, table: str) -> list[Reference]:
    """Every foreign key constraint of ``schema.table``, with what it references."""
    rows = conn.execute(
        "SELECT a.attname, tn.nspname, tc.relname, ta.attname, cardinality(c.conkey), c.conname "
        "FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "JOIN pg_class tc ON tc.oid = c.confrelid "
        "JOIN pg_namespace tn ON tn.oid = tc.relnamespace "
        "JOIN pg_attribute ta ON ta.attrelid = c.confrelid AND ta.attnum = c.confkey[1] "
        "WHERE c.contype = 'f' AND c.conrelid = to_regclass(%s) ORDER BY a.attname, c.conname",
        (regclass(schema, table),),
    ).fetchall()
    return [
        Reference(str(r[0]), str(r[1]), str(r[2]), str(r[3]), int(str(r[4])), str(r[5]))
        for r in rows
    ]


def unique_keys(conn: Conn, schema: str, table: str) -> list[tuple[str, ...]]:
    """The columns of each unique index (not the primary key, not partial, no expression)
    whose columns are all NOT NULL: the candidates for a natural key, fewest columns first."""
    rows = conn.execute(
        "SELECT array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY "
        "AS k(num, ord) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num "
        "ORDER BY k.ord), "
        "bool_and(a2.attnotnull) "
        "FROM pg_index i JOIN pg_attribute a2 ON a2.attrelid = i.indrelid "
        "AND a2.attnum = ANY(i.indkey::int2[]) "
        "WHERE i.indrelid = to_regclass(%s) AND i.indisunique AND NOT i.indisprimary "
        "AND i.indpred IS NULL AND i.indexprs IS NULL GROUP BY i.indexrelid, i.indkey",
        (regclass(schema, table),),
    ).fetchall()
    keys = {tuple(str(c) for c in r[0]) for r in rows if r[1]}  # type: ignore[attr-defined]
    return sorted(keys, key=lambda k: (len(k), k))


def column_types(conn: Conn, schema: str, table: str) -> dict[str, str]:
    rows = conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped",
        (regclass(schema, table),),
    ).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}
