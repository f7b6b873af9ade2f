"""What a django-tenants database holds, schema by schema (read-only).

One snapshot of the database for the commands that judge or change it (repair-db now, a later
move-users): every row of the tenant table and the schema it names, every schema that has its
own ``django_migrations`` table (a tenant whose row was deleted leaves one behind, since
django-tenants never drops a schema by default), the tables of each, and the migration records
of each. Three queries plus one per schema with migration records, whatever the tenant count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tenantfix.db.inspect import TABLE_RELKINDS

if TYPE_CHECKING:
    from tenantfix.db.inspect import Conn

PUBLIC = "public"
Record = tuple[str, str]  # (app label, migration name) as in django_migrations


@dataclass(frozen=True, slots=True)
class SchemaState:
    """One schema: its tables and its migration records (None: no django_migrations table)."""

    name: str
    tables: frozenset[str]
    records: frozenset[Record] | None

    @property
    def migrated(self) -> bool:
        return self.records is not None

    def recorded_apps(self) -> set[str]:
        return {app for app, _ in self.records or ()}


@dataclass(frozen=True, slots=True)
class DatabaseLayout:
    """The schemas of one database as django-tenants sees them."""

    public: SchemaState
    tenant_table: str
    has_tenant_table: bool  # public.<tenant_table> exists (``--shared`` got that far)
    tenant_rows: tuple[str, ...]  # schema_name of every tenant row except public, sorted
    tenants: tuple[SchemaState, ...]  # the schemas of tenant rows that exist
    missing: tuple[str, ...]  # tenant rows whose schema does not exist
    orphans: tuple[SchemaState, ...]  # schemas with django_migrations and no tenant row

    @property
    def schemas(self) -> tuple[SchemaState, ...]:
        return (self.public, *self.tenants)

    def schema(self, name: str) -> SchemaState | None:
        return next((s for s in (*self.schemas, *self.orphans) if s.name == name), None)


def _system(schema: str) -> bool:
    return schema in {"pg_catalog", "information_schema"} or schema.startswith(
        ("pg_toast", "pg_temp")
    )


def tables_by_schema(conn: Conn) -> dict[str, set[str]]:
    """Every non-system schema (empty ones too) and its table-like relations."""
    out: dict[str, set[str]] = {}
    for (name,) in conn.execute("SELECT nspname FROM pg_namespace").fetchall():
        if not _system(str(name)):
            out[str(name)] = set()
    rows = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = ANY(%s)",
        (list(TABLE_RELKINDS),),
    ).fetchall()
    for schema, table in rows:
        if str(schema) in out:
            out[str(schema)].add(str(table))
    return out


def records_of(conn: Conn, schema: str) -> frozenset[Record]:
    from psycopg import sql

    rows = conn.execute(
        sql.SQL("SELECT app, name FROM {}.django_migrations").format(sql.Identifier(schema))
    ).fetchall()
    return frozenset((str(a), str(n)) for a, n in rows)


def _state(conn: Conn, name: str, tables: set[str]) -> SchemaState:
    records = records_of(conn, name) if "django_migrations" in tables else None
    return SchemaState(name, frozenset(tables), records)


def read_layout(conn: Conn, tenant_table: str) -> DatabaseLayout:
    """Read the layout; ``tenant_table`` is TENANT_MODEL's table (in public)."""
    from psycopg import sql

    by_schema = tables_by_schema(conn)
    public = _state(conn, PUBLIC, by_schema.get(PUBLIC, set()))
    has_tenant_table = tenant_table in public.tables
    rows: list[str] = []
    if has_tenant_table:
        rows = sorted(
            {
                str(r[0])
                for r in conn.execute(
                    sql.SQL("SELECT schema_name FROM public.{}").format(
                        sql.Identifier(tenant_table)
                    )
                ).fetchall()
            }
            - {PUBLIC}
        )
    tenants = tuple(_state(conn, s, by_schema[s]) for s in rows if s in by_schema)
    missing = tuple(s for s in rows if s not in by_schema)
    known = {PUBLIC, *rows}
    orphans = tuple(
        _state(conn, s, tables)
        for s, tables in sorted(by_schema.items())
        if s not in known and "django_migrations" in tables
    )
    return DatabaseLayout(
        public=public,
        tenant_table=tenant_table,
        has_tenant_table=has_tenant_table,
        tenant_rows=tuple(rows),
        tenants=tenants,
        missing=missing,
        orphans=orphans,
    )


def row_counts(conn: Conn) -> dict[tuple[str, str], int]:
    """Rows of every base table of every non-system schema (what a repair must not lose)."""
    from psycopg import sql

    rows = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition"
    ).fetchall()
    out: dict[tuple[str, str], int] = {}
    for schema, table in rows:
        if _system(str(schema)):
            continue
        count = conn.execute(
            sql.SQL("SELECT count(*) FROM {}.{}").format(
                sql.Identifier(str(schema)), sql.Identifier(str(table))
            )
        ).fetchone()
        out[(str(schema), str(table))] = int(str(count[0])) if count else 0
    return out
