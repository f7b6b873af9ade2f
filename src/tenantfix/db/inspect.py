"""Read-only questions about a django-tenants database: schemas, tables, migration records."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.Connection[tuple[object, ...]]

# Tables, partitioned tables, views, materialized views, foreign tables: what a CREATE in a
# migration can leave behind under a table name.
TABLE_RELKINDS = ("r", "p", "v", "m", "f")


def schema_exists(conn: Conn, schema: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return row is not None


def tables_in(conn: Conn, schema: str) -> set[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = ANY(%s)",
        (schema, list(TABLE_RELKINDS)),
    ).fetchall()
    return {str(r[0]) for r in rows}


def recorded_migrations(conn: Conn, schema: str) -> set[tuple[str, str]] | None:
    """The (app, name) rows of ``<schema>.django_migrations``; None without that table."""
    from psycopg import sql

    if "django_migrations" not in tables_in(conn, schema):
        return None
    rows = conn.execute(
        sql.SQL("SELECT app, name FROM {}.django_migrations").format(sql.Identifier(schema))
    ).fetchall()
    return {(str(a), str(n)) for a, n in rows}


def row_count(conn: Conn, schema: str, table: str) -> int:
    from psycopg import sql

    row = conn.execute(
        sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    ).fetchone()
    return int(str(row[0])) if row else 0


def tenant_schemas(conn: Conn, tenant_table: str) -> list[str]:
    """``schema_name`` of every row of the tenant table in public, in a stable order."""
    from psycopg import sql

    rows = conn.execute(
        sql.SQL("SELECT schema_name FROM public.{} ORDER BY schema_name").format(
            sql.Identifier(tenant_table)
        )
    ).fetchall()
    return [str(r[0]) for r in rows]
