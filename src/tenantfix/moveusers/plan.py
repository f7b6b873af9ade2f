"""Read the project and the database (read-only) and plan the move of per-tenant users.

Preconditions, each refused with its reason and nothing changed: the current settings have the
user app SHARED-only; public has the user table; each tenant's user table has public's columns;
every foreign key to a tenant user table is a single column referencing its primary key, from
the same schema. Clashes (``--on-conflict fail``) refuse too, each one named.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tenantfix.db.params import DatabaseParams
from tenantfix.errors import ExitCode, SettingsError, TenantfixError
from tenantfix.moveusers.catalog import ForeignKey, TableInfo
from tenantfix.moveusers.mapping import Clash, Mapped, Match, OnConflict, PublicIndex, map_schema
from tenantfix.moveusers.memberships import Context, M2MPlan
from tenantfix.moveusers.names import BACKUP_SUFFIX, MAP_TABLE, PUBLIC, backup_name
from tenantfix.moveusers.userfks import UserFk

if TYPE_CHECKING:
    from tenantfix.db.inspect import Conn
    from tenantfix.discover import ProjectLocation

_ON_DELETE = {
    "a": "",
    "r": " ON DELETE RESTRICT",
    "c": " ON DELETE CASCADE",
    "n": " ON DELETE SET NULL",
    "d": " ON DELETE SET DEFAULT",
}


_INTEGER_TYPES = {"integer", "bigint", "smallint"}


def rewrite_column(
    conn: Conn, schema: str, table: str, column: str, pk_type: str, *, from_col: str, to_col: str
) -> None:
    """Set ``schema.table.column`` from the map's ``from_col`` values to its ``to_col`` values.

    A unique column (a OneToOneField) is checked row by row inside one UPDATE, so old and new
    ids that overlap would collide half-way: integer ids go through their negatives first
    (ids are positive; the foreign key is dropped meanwhile). Other key types (uuid) cannot
    overlap between the two tables' own values.
    """
    from psycopg import sql

    t = sql.Identifier(schema, table)
    col = sql.Identifier(column)
    map_t = sql.Identifier(PUBLIC, MAP_TABLE)
    negate = pk_type in _INTEGER_TYPES
    conn.execute(
        sql.SQL(
            "UPDATE {} AS t SET {} = {} FROM {} AS m WHERE m.schema = %s AND "
            "m.undone_at IS NULL AND m.{} = t.{}::text"
        ).format(
            t,
            col,
            sql.SQL("-(m.{}::{})" if negate else "m.{}::{}").format(
                sql.Identifier(to_col), sql.SQL(pk_type)
            ),
            map_t,
            sql.Identifier(from_col),
            col,
        ),
        (schema,),
    )
    if negate:
        conn.execute(sql.SQL("UPDATE {} SET {} = -{} WHERE {} < 0").format(t, col, col, col))


def on_delete_clause(code: str) -> str:
    return _ON_DELETE.get(code, "")


@dataclass(frozen=True, slots=True)
class SchemaMove:
    """What happens in one tenant schema."""

    schema: str
    state: str  # "move" | "done" (moved by an earlier run) | "absent" (no user table)
    mapped: tuple[Mapped, ...] = ()
    clashes: tuple[Clash, ...] = ()
    fks: tuple[ForeignKey, ...] = ()  # columns of other tables to rewrite
    fk_rows: tuple[int, ...] = ()  # non-null values per fk, same order
    app_tables: tuple[tuple[str, int], ...] = ()  # user-app tables besides the user table (rows)
    records: tuple[tuple[str, str], ...] = ()  # user-app migration records to add
    memberships: tuple[M2MPlan, ...] = ()  # what happens to each app table's memberships
    retire: tuple[tuple[str, int], ...] = ()  # tenant copies of now-shared tables (rows)
    # the user app's other tables (models other than the user: rows never moved), renamed too
    retire_app: tuple[tuple[str, int], ...] = ()
    user_fks: tuple[UserFk, ...] = ()  # the user table's own foreign keys (department_id)

    @property
    def inserts(self) -> int:
        return sum(1 for m in self.mapped if m.action == "insert")

    @property
    def matches(self) -> int:
        return sum(1 for m in self.mapped if m.action == "match")

    @property
    def renamed(self) -> int:
        return sum(1 for m in self.mapped if m.renamed)


@dataclass(frozen=True, slots=True)
class MovePlan:
    project: ProjectLocation
    database: DatabaseParams
    user_model: str
    user_app: str
    user_table: str
    public: TableInfo
    match: Match
    on_conflict: OnConflict
    schemas: tuple[SchemaMove, ...]
    refusals: tuple[str, ...]
    notes: tuple[str, ...]
    auth_shared: bool
    public_missing: bool = False  # planned before repair-db's steps create public's table
    create_missing_groups: bool = False
    group_table: str | None = None  # auth.Group's table (--create-missing-groups writes it)
    retire_user_app_tables: bool = False  # the opt-in: rename them even when they hold rows

    @property
    def clashes(self) -> tuple[Clash, ...]:
        return tuple(c for s in self.schemas for c in s.clashes)

    @property
    def refused(self) -> bool:
        return bool(self.refusals or self.clashes)

    @property
    def to_move(self) -> tuple[SchemaMove, ...]:
        return tuple(s for s in self.schemas if s.state == "move")

    @property
    def needed(self) -> bool:
        return bool(self.to_move)

    def lines(self, *, verbose: bool = False) -> list[str]:
        out = [
            f"move-users on {self.database.safe_url}: user model {self.user_model} "
            f"(table {self.user_table!r}), --match {self.match.value}, "
            f"--on-conflict {self.on_conflict.value}",
        ]
        states = Counter(s.state for s in self.schemas)
        out.append(
            f"Tenant schemas: {len(self.schemas)} ({states['move']} to move, "
            f"{states['done']} already moved, {states['absent']} without the user table "
            f"{self.user_table})"
        )
        if self.public_missing:
            out.append(
                f"NOTE public has no {self.user_table} table yet: the move is planned as if it "
                "were empty (repair-db's steps create it first; the move is planned again then)"
            )
        out += [f"NOTE {n}" for n in self.notes]
        for refusal in self.refusals:
            out.append(f"REFUSED {refusal}")
        if self.clashes:
            out.append(
                f"REFUSED {len(self.clashes)} clash(es) (--on-conflict {self.on_conflict.value}; "
                "--on-conflict suffix-schema renames them, --match picks who is the same person):"
            )
            out += [f"  CLASH {c.line()}" for c in self.clashes]
        if self.refused or not self.needed:
            if not self.refused:
                out.append("Nothing to move.")
            return out
        out.append("Plan (one transaction per schema; nothing is dropped):")
        moving = self.to_move
        if verbose:
            for s in moving:
                out.append(f"  {s.schema}:")
                out += [f"    {line}" for line in self._schema_lines([s], verbose=True)]
        else:
            out += [f"  {line}" for line in self._schema_lines(list(moving), verbose=False)]
        out.append(
            f"  record each moved user in public.{MAP_TABLE}(schema, old_id, new_id): a rerun "
            "continues with the schemas not moved yet, and --undo reverses the move"
        )
        return out

    def _schema_lines(self, moving: list[SchemaMove], *, verbose: bool) -> list[str]:
        n = len(moving)
        where = "" if verbose else f" in {n} schema(s)"
        t = self.user_table
        out: list[str] = []
        inserts = sum(s.inserts for s in moving)
        if inserts:
            out.append(
                f"insert {inserts} user(s) into public.{t}{where}, every column copied verbatim "
                "(password hashes, last_login, flags); public assigns the new ids"
            )
        renamed = [m for s in moving for m in s.mapped if m.renamed]
        if renamed:
            shown = renamed if verbose else renamed[:5]
            out.append(
                f"rename {len(renamed)} clashing value(s) with the schema suffix: "
                + ", ".join(f"{m.label!r} -> {m.renamed[0][1]!r}" for m in shown)
                + ("" if len(shown) == len(renamed) else ", ...")
            )
        matches = sum(s.matches for s in moving)
        if matches:
            out.append(
                f"map {matches} user(s) onto the public user with the same {self.match.value}"
                f"{where} (the public row is kept as it is; the tenant row stays in the backup)"
            )
        out += self._user_fk_lines(moving, verbose=verbose)
        by_column: dict[tuple[str, str, str], list[int]] = defaultdict(list)
        for s in moving:
            for fk, rows in zip(s.fks, s.fk_rows, strict=True):
                by_column[(fk.table, fk.column, fk.on_delete)].append(rows)
        for (table, column, on_delete), counts in sorted(by_column.items()):
            out.append(
                f"rewrite {table}.{column} ({sum(counts)} value(s){where}) to the public ids; "
                f"its constraint recreated (same name, DEFERRABLE INITIALLY DEFERRED"
                f"{on_delete_clause(on_delete)}) referencing public.{t}"
            )
        out += membership_lines(moving, verbose=verbose, group_table=self.group_table)
        tables = sorted({table for s in moving for table, _ in s.app_tables})
        out.append(
            f"rename {', '.join([t, *tables])} to <name>{BACKUP_SUFFIX}{where} (never dropped)"
        )
        retired: dict[str, int] = Counter()
        schemas: dict[str, set[str]] = defaultdict(set)
        for s in moving:
            for table, rows in s.retire:
                retired[table] += rows
                schemas[table].add(s.schema)
        if retired:
            count = len({x for v in schemas.values() for x in v})
            out.append(
                "rename the tenant's own copies of now SHARED-only tables ("
                + ", ".join(f"{table}: {rows} row(s)" for table, rows in sorted(retired.items()))
                + f"{'' if verbose else f'; in {count} schema(s)'}) to <name>{BACKUP_SUFFIX}: on "
                "search_path '<tenant>, public' they would shadow public's, and the moved "
                "memberships name public's rows (never dropped)"
            )
        out += self._retire_app_lines(moving, verbose=verbose)
        records = sum(len(s.records) for s in moving)
        if records:
            out.append(
                f"add {records} {self.user_app} migration record(s) that public has{where}, so "
                "migrate_schemas has nothing to do"
            )
        return out

    def _user_fk_lines(self, moving: list[SchemaMove], *, verbose: bool) -> list[str]:
        """The user table's own foreign keys: one line per column and kind of action."""
        t = self.user_table
        mapped: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)
        shared: dict[tuple[str, str], list[int]] = defaultdict(list)
        decided: dict[str, list[tuple[str, str, str, str]]] = defaultdict(list)
        for s in moving:
            for fk in s.user_fks:
                if fk.action == "map":
                    mapped[
                        (fk.column, fk.target.split(".", 1)[1], fk.public_target, fk.key)
                    ].append(fk.values)
                elif fk.action == "shared":
                    shared[(fk.column, fk.target)].append(fk.values)
                decided[fk.column] += [(s.schema, *d) for d in fk.decisions]
        out: list[str] = []
        for (column, table, public_target, key), counts in sorted(mapped.items()):
            where = "" if verbose else f" in {len(counts)} schema(s)"
            out.append(
                f"write public's ids into {t}.{column} of the {sum(counts)} inserted user(s) "
                f"holding a value{where}: each tenant {table} row mapped to the {public_target} "
                f"row with the same natural key ({key}); the backup keeps the tenant's ids"
            )
        if verbose:
            for (column, target), counts in sorted(shared.items()):
                out.append(
                    f"copy {t}.{column} verbatim ({sum(counts)} value(s)): it references "
                    f"{target} already, so its values are public ids"
                )
        for column, rows in sorted(decided.items()):
            if not rows:
                continue
            if verbose:
                out += [
                    f"DECISION {t}.{column}: user {user!r} is mapped onto an existing public "
                    f"user whose {column} is {theirs!r}, not the tenant's {mine!r}; public's "
                    "value is kept"
                    for _schema, user, mine, theirs in rows
                ]
                continue
            schemas = len({r[0] for r in rows})
            shown = ", ".join(f"{r[1]!r} ({r[0]}: {r[2]!r} -> kept {r[3]!r})" for r in rows[:5])
            out.append(
                f"DECISION {t}.{column}: {len(rows)} user(s) mapped onto existing public users "
                f"(--match {self.match.value}) in {schemas} schema(s) have another {column} in "
                f"public than in their tenant; public's value is kept: {shown}"
                + ("" if len(rows) <= 5 else ", ...")
            )
        return out

    def _retire_app_lines(self, moving: list[SchemaMove], *, verbose: bool) -> list[str]:
        counts: dict[str, int] = Counter()
        where: set[str] = set()
        for s in moving:
            for table, rows in s.retire_app:
                counts[table] += rows
                where.add(s.schema)
        if not counts:
            return []
        listed = ", ".join(f"{table}: {rows} row(s)" for table, rows in sorted(counts.items()))
        in_schemas = "" if verbose else f"; in {len(where)} schema(s)"
        rows = sum(counts.values())
        why = (
            f"{rows} row(s) stay in the backups and will no longer be visible to the "
            "application, which reads public's tables after the move (--retire-user-app-tables)"
            if rows
            else "empty in every schema"
        )
        return [
            f"rename the other tables of the user app {self.user_app!r} ({listed}{in_schemas}) to "
            f"<name>{BACKUP_SUFFIX}: {why}; on search_path '<tenant>, public' they would shadow "
            "public's, and tenantfix moves the rows of the user model only (never dropped)"
        ]


def membership_lines(
    moving: list[SchemaMove], *, verbose: bool, group_table: str | None
) -> list[str]:
    """One line per kind of action on the user app's many-to-many tables, counts summed over
    the schemas it applies to (``verbose``: ``moving`` is one schema)."""
    out: list[str] = []
    moved: dict[tuple[str, str, str], int] = Counter()
    created: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    missing: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    kept: dict[tuple[str, str], int] = Counter()
    differs: dict[tuple[str, str], dict[tuple[str, str], tuple[set[str], set[str]]]] = defaultdict(
        dict
    )
    where: dict[object, set[str]] = defaultdict(set)  # each line's key -> its schemas

    def in_schemas(key: object) -> str:
        return "" if verbose else f" in {len(where[key])} schema(s)"

    for s in moving:
        for m in s.memberships:
            if m.decision == "keep":
                if m.rows:
                    kept[(m.table, m.reason)] += m.rows
                    where[(m.table, m.reason)].add(s.schema)
                continue
            if m.movable:
                moved[(m.table, m.other_table, m.via)] += m.movable
                where[(m.table, m.other_table, m.via)].add(s.schema)
            for name, n in m.create:
                created[(m.table, m.other_table)][name] += n
            for name, n in m.missing:
                missing[(m.table, m.other_table)][name] += n
                where[(m.table, m.other_table)].add(s.schema)
                where[(m.table, m.other_table, name)].add(s.schema)
            for name, attr, mine, theirs in m.differs:
                differs[(m.table, m.other_table)].setdefault((name, attr), (set(), set()))
                differs[(m.table, m.other_table)][(name, attr)][0].update(mine)
                differs[(m.table, m.other_table)][(name, attr)][1].update(theirs)
                where[(m.table, m.other_table, name, attr)].add(s.schema)
    for (table, other, via), n in sorted(moved.items()):
        out.append(
            f"move {n} membership(s) of {table}{in_schemas((table, other, via))} into "
            f"public.{table}, each {other} row matched by {via}; one public already has is not "
            "added twice"
        )
    for (_table, other), names in sorted(created.items()):
        shown = sorted(names.items())[: None if verbose else 5]
        out.append(
            f"create {len(names)} group(s) in public.{other} by name (--create-missing-groups; "
            "with those of their tenant permissions public has): "
            + ", ".join(f"{name!r} ({n} membership(s))" for name, n in shown)
            + ("" if len(shown) == len(names) else ", ...")
        )
    for (table, other), names in sorted(missing.items()):
        noun = "group" if other == group_table else f"{other} row"
        hint = (
            "--create-missing-groups creates them by name"
            if other == group_table
            else f"tenantfix never creates {other} rows"
        )
        if verbose:
            out += [
                f"DECISION {table}: {n} membership(s) of {noun} {name!r} have no public {noun} "
                f"{name!r}; kept in {backup_name(table)} ({hint})"
                for name, n in sorted(names.items())
            ]
            continue
        ranked = sorted(names.items(), key=lambda item: (-item[1], item[0]))
        shown = ranked[:5]
        out.append(
            f"DECISION {table}: {sum(names.values())} membership(s)"
            f"{in_schemas((table, other))} name {len(names)} {noun}(s) public lacks: "
            + ", ".join(
                f"{name!r} ({n} in {_schemas(where[(table, other, name)])})" for name, n in shown
            )
            + ("" if len(shown) == len(ranked) else ", ... (--verbose lists each)")
            + f"; kept in {backup_name(table)}, not invented in public ({hint})"
        )
    for (table, other), rows in sorted(differs.items()):
        noun = "group" if other == group_table else f"{other} row"
        listed_rows = sorted(rows.items())[: None if verbose else 5]

        def some(labels: set[str]) -> str:
            listed = sorted(labels)[: None if verbose else 3]
            return ", ".join(listed) + ("" if len(listed) == len(labels) else ", ...")

        parts: list[str] = []
        for (name, attr), (only_t, only_p) in listed_rows:
            part = f"{name!r} ({attr}"
            if not verbose:
                part += f", in {_schemas(where[(table, other, name, attr)])}"
            if only_t:
                part += f"; only the tenant's grants {len(only_t)}: {some(only_t)}"
            if only_p:
                part += f"; only public's grants {len(only_p)}: {some(only_p)}"
            parts.append(part + ")")
        out.append(
            f"WARNING {table}: {len(rows)} {noun}(s) matched by their natural key differ from "
            "public's in what they grant; after the move their members get public's: "
            + "; ".join(parts)
            + ("" if len(listed_rows) == len(rows) else "; ... (--verbose lists each)")
        )
    for (table, reason), n in sorted(kept.items()):
        out.append(
            f"DECISION {table}: {n} membership(s){in_schemas((table, reason))} are not moved "
            f"({reason}); kept in {backup_name(table)}, never dropped"
        )
    return out


def _schemas(names: set[str]) -> str:
    return next(iter(names)) if len(names) == 1 else f"{len(names)} schemas"


class PublicTableMissing(TenantfixError):
    """Public has no user table yet: repair-db's steps (``zero --fake`` of phantom records,
    ``migrate_schemas --shared``) must create it before any user can move."""

    def __init__(self, message: str, user_table: str) -> None:
        super().__init__(message, ExitCode.REFUSED)
        self.user_table = user_table


def _refuse(message: str) -> TenantfixError:
    return TenantfixError(message, ExitCode.REFUSED)


def _user_model(  # type: ignore[no-untyped-def]
    path: Path, settings: str | None, python: str | None, *, require_shared: bool = True
):
    from tenantfix.repair import _tenant_table, load_graph

    location, graph = load_graph(path, settings, python)
    if graph.settings.shared_apps is None and not graph.settings.has_multi_type_tenants:
        # e.g. manage.py's default is a package whose __init__ is empty and the real settings
        # are chosen with --settings (seen on kevincardonag/django-vue: config.settings)
        raise SettingsError(
            f"the settings module {graph.settings.module} ({graph.settings.path}) defines no "
            "SHARED_APPS: is it the project's settings? Pass the one you deploy with "
            "--settings MODULE.",
            ExitCode.USAGE,
        )
    user_ref = graph.settings.user_model
    app = graph.user_app
    model = graph.model(user_ref)
    if app is None or model is None:
        raise SettingsError(
            f"AUTH_USER_MODEL {user_ref!r} names a model tenantfix cannot find in "
            f"{graph.settings.path}",
            ExitCode.REFUSED,
        )
    if require_shared and (graph.is_tenant(app) or not graph.is_shared(app)):
        where = "still in TENANT_APPS" if graph.is_tenant(app) else "not in SHARED_APPS"
        raise _refuse(
            f"the user app {app.label!r} is {where} in the current settings "
            f"({graph.settings.path}): move-users needs it SHARED-only (public holds the "
            "users). Change the settings first (for a user app in both lists, TF011, "
            "`tenantfix apply --unsafe-fixes` writes that change; otherwise move it from TENANT_APPS to "
            "SHARED_APPS yourself), then run move-users. Nothing was changed."
        )
    auth = graph.app("auth")
    auth_shared = auth is not None and graph.is_shared(auth) and not graph.is_tenant(auth)
    _, tenant_table = _tenant_table(graph)
    return location, graph, app.label, model.table, tenant_table, auth_shared


def plan_move(
    path: Path,
    database_url: str,
    *,
    match: Match = Match.email,
    on_conflict: OnConflict = OnConflict.fail,
    settings: str | None = None,
    python: str | None = None,
    allow_missing_public: bool = False,
    create_missing_groups: bool = False,
    retire_user_app_tables: bool = False,
) -> MovePlan:
    """Read-only: the project's settings and the database, and the plan.

    ``allow_missing_public``: when public has no user table yet, plan as if it were empty,
    with a tenant's table for its columns (``public_missing``): the clashes are known before
    repair-db's steps create the table. Such a plan is shown, never executed.
    """
    import psycopg

    from tenantfix.db.connect import connect, scrub
    from tenantfix.moveusers.memberships import context

    params = DatabaseParams.from_url(database_url)
    location, graph, user_app, user_table, tenant_table, auth_shared = _user_model(
        path, settings, python
    )
    try:
        with connect(params) as conn:
            return _plan(
                conn,
                params,
                location,
                graph.settings.user_model,
                user_app,
                user_table,
                tenant_table,
                match,
                on_conflict,
                auth_shared,
                context(graph, create_missing_groups=create_missing_groups),
                allow_missing_public,
                retire_user_app_tables,
            )
    except psycopg.Error as exc:
        raise _refuse(
            f"reading {params.safe_url} failed: {scrub(str(exc).strip(), params)}. Nothing was "
            "changed; move-users needs a role that can read every schema."
        ) from None


def read_users(conn: Conn, schema: str, table: str) -> list[dict[str, object]]:
    from psycopg import sql
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, table)))
        return list(cur.fetchall())


def public_index(conn: Conn, public: TableInfo, match: Match) -> PublicIndex:
    assert public.pk is not None
    column = None if match is Match.none else match.value
    return PublicIndex.build(
        read_users(conn, PUBLIC, public.table), public.pk, public.unique, column
    )


def _count(conn: Conn, schema: str, table: str, column: str | None = None) -> int:
    from psycopg import sql

    query = sql.SQL("SELECT count({}) FROM {}").format(
        sql.Identifier(column) if column else sql.SQL("*"), sql.Identifier(schema, table)
    )
    row = conn.execute(query).fetchone()
    return int(str(row[0])) if row else 0


def _plan(
    conn: Conn,
    params: DatabaseParams,
    location: ProjectLocation,
    user_model: str,
    user_app: str,
    user_table: str,
    tenant_table: str,
    match: Match,
    on_conflict: OnConflict,
    auth_shared: bool,
    ctx: Context,
    allow_missing_public: bool = False,
    retire_user_app_tables: bool = False,
) -> MovePlan:
    import dataclasses

    from tenantfix.db.schemas import read_layout
    from tenantfix.moveusers.catalog import references_to, table_exists, table_info

    layout = read_layout(conn, tenant_table)
    if layout.public.records is None or not layout.has_tenant_table:
        raise _refuse(
            f"{params.safe_url} is not a django-tenants database for this project: public has "
            f"no {'django_migrations' if layout.public.records is None else tenant_table} "
            "table. Check --database-url and --settings. Nothing was changed."
        )
    public = table_info(conn, PUBLIC, user_table)
    public_missing = public is None
    if public is None and allow_missing_public:
        # what migrate_schemas --shared will create: the same migrations as the tenants' table
        stand_in = next(
            (
                table_info(conn, t.name, user_table)
                for t in layout.tenants
                if user_table in t.tables
            ),
            None,
        )
        public = dataclasses.replace(stand_in, schema=PUBLIC) if stand_in else None
    if public is None:
        raise PublicTableMissing(
            f"public has no {user_table} table (the user model's db_table): the users have "
            "nowhere to go yet. repair-db's steps create it (`migrate_schemas ... zero --fake` "
            "of the user app's phantom records in public, then `migrate_schemas --shared`).",
            user_table,
        )
    if public.pk is None or public.pk_type is None:
        raise _refuse(f"public.{user_table} has no single-column primary key. Nothing was changed.")
    notes: list[str] = []
    refusals: list[str] = []
    for schema in layout.missing:
        notes.append(
            f"tenant {schema!r} is in {tenant_table} but its schema does not exist; skipped"
        )
    for orphan in layout.orphans:
        notes.append(f"schema {orphan.name!r} has no tenant row: not a tenant, left as it is")
    index = (
        PublicIndex(public.unique, None if match is Match.none else match.value)
        if public_missing
        else public_index(conn, public, match)
    )
    public_records = {r for r in layout.public.records if r[0] == user_app}
    moves: list[SchemaMove] = []
    for tenant in layout.tenants:
        schema = tenant.name
        if backup_name(user_table) in tenant.tables:
            moves.append(SchemaMove(schema, "done"))
            continue
        if user_table not in tenant.tables:
            moves.append(SchemaMove(schema, "absent"))
            continue
        info = table_info(conn, schema, user_table)
        assert info is not None
        if set(info.columns) != set(public.columns):
            only_t = sorted(set(info.columns) - set(public.columns))
            only_p = sorted(set(public.columns) - set(info.columns))
            refusals.append(
                f"{schema}.{user_table} and public.{user_table} have different columns "
                f"(only in {schema}: {', '.join(only_t) or '-'}; only in public: "
                f"{', '.join(only_p) or '-'}): migrate both to the same migration first"
            )
            continue
        fks: list[ForeignKey] = []
        app_tables: list[tuple[str, int]] = []
        for fk in references_to(conn, schema, user_table):
            if fk.schema != schema:
                refusals.append(
                    f"{fk.schema}.{fk.table}.{fk.column} (constraint {fk.constraint}) references "
                    f"{schema}.{user_table} from another schema: move-users does not rewrite that"
                )
            elif fk.columns != 1 or fk.target_column != public.pk:
                refusals.append(
                    f"{schema}.{fk.table} constraint {fk.constraint} is not a single column "
                    f"referencing {user_table}.{public.pk}"
                )
            elif fk.table.startswith(user_table + "_") and (
                public_missing or table_exists(conn, PUBLIC, fk.table)
            ):
                # the user app's own many-to-many table (groups, permissions): public has its own
                if fk.table not in dict(app_tables):
                    app_tables.append((fk.table, _count(conn, schema, fk.table)))
            else:
                fks.append(fk)
        for table, _ in [(user_table, 0), *app_tables]:
            if len(backup_name(table)) > 63:
                refusals.append(
                    f"{schema}.{table}: the backup name {backup_name(table)!r} is longer than "
                    "PostgreSQL's 63 characters"
                )
            elif backup_name(table) in tenant.tables:
                refusals.append(f"{schema}.{backup_name(table)} exists already")
        rows = read_users(conn, schema, user_table)
        mapped, clashes = map_schema(
            schema, rows, public.pk, index, match=match, on_conflict=on_conflict
        )
        user_fks: list[UserFk] = []
        if not public_missing:
            from tenantfix.moveusers.userfks import plan_user_fks, refusal

            user_fks = plan_user_fks(conn, schema, user_table, public.pk, rows, mapped, ctx)
            refusals += [
                refusal(schema, user_table, user_app, fk)
                for fk in user_fks
                if fk.action == "refuse"
            ]
        memberships, retire = _memberships(
            conn, schema, user_table, app_tables, set(tenant.tables), ctx, public_missing
        )
        retire_app: tuple[tuple[str, int], ...] = ()
        if not public_missing:  # decided once repair-db's steps have created public's tables
            retire, retire_app, problems = _user_app_tables(
                conn,
                schema,
                user_app,
                {user_table, *dict(app_tables)},
                memberships,
                retire,
                set(tenant.tables),
                ctx,
                retire_user_app_tables,
            )
            refusals += problems
            # a table renamed to its backup keeps its foreign keys to the user table's backup:
            # the backups stay one consistent snapshot, nothing of them is rewritten
            gone = {t for t, _ in (*retire, *retire_app)}
            fks = [fk for fk in fks if fk.table not in gone]
        for table, _ in (*retire, *retire_app):
            if len(backup_name(table)) > 63 or backup_name(table) in tenant.tables:
                refusals.append(
                    f"{schema}.{table}: the backup name {backup_name(table)!r} is taken or longer "
                    "than PostgreSQL's 63 characters"
                )
        records = sorted(public_records - set(tenant.records or ()))
        moves.append(
            SchemaMove(
                schema,
                "move",
                tuple(mapped),
                tuple(clashes),
                tuple(fks),
                tuple(_count(conn, schema, fk.table, fk.column) for fk in fks),
                tuple(app_tables),
                tuple(records),
                memberships,
                retire,
                retire_app,
                tuple(user_fks),
            )
        )
    return MovePlan(
        project=location,
        database=params,
        user_model=user_model,
        user_app=user_app,
        user_table=user_table,
        public=public,
        match=match,
        on_conflict=on_conflict,
        schemas=tuple(moves),
        refusals=tuple(refusals),
        notes=tuple(notes),
        auth_shared=auth_shared,
        public_missing=public_missing,
        create_missing_groups=ctx.create_missing_groups,
        group_table=ctx.group_table,
        retire_user_app_tables=retire_user_app_tables,
    )


def _memberships(
    conn: Conn,
    schema: str,
    user_table: str,
    app_tables: list[tuple[str, int]],
    tenant_tables: set[str],
    ctx: Context,
    public_missing: bool,
) -> tuple[tuple[M2MPlan, ...], tuple[tuple[str, int], ...]]:
    """Each many-to-many table's decision, and the tenant's own copies of the apps whose
    memberships move (renamed with the user tables so that they do not shadow public's)."""
    import dataclasses

    from tenantfix.db.inspect import row_count
    from tenantfix.moveusers.memberships import plan_table, retire_tables

    if public_missing:
        later = "decided once repair-db's steps have created public's tables"
        return tuple(M2MPlan(t, n, "keep", later) for t, n in app_tables), ()
    plans = [plan_table(conn, schema, t, n, user_table, ctx) for t, n in app_tables]
    retire: list[tuple[str, int]] = []
    for app in sorted({m.owner for m in plans if m.decision == "move"}):
        tables, blocker = retire_tables(
            conn, schema, app, tenant_tables, ctx, {user_table, *dict(app_tables)}
        )
        if blocker is not None:
            plans = [
                dataclasses.replace(m, decision="keep", reason=blocker)
                if m.owner == app and m.decision == "move"
                else m
                for m in plans
            ]
            continue
        retire += [(t, row_count(conn, schema, t)) for t in tables]
    return tuple(plans), tuple(retire)


def _user_app_tables(
    conn: Conn,
    schema: str,
    user_app: str,
    user_tables: set[str],
    memberships: tuple[M2MPlan, ...],
    retire: tuple[tuple[str, int], ...],
    tenant_tables: set[str],
    ctx: Context,
    opt_in: bool,
) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...], list[str]]:
    """The user app's tables other than the user model's (users.SupportMessage): SHARED-only
    now, so public's copies serve the application and the tenant's would shadow them.
    tenantfix does not move their rows: empty ones are renamed to backups with the user
    tables; one holding rows refuses the move (each named), unless ``opt_in``.

    The tables the memberships name (auth's Group and Permission when the user model is
    auth.User) are matched by natural key and decided by the membership code: left out.
    Returns (``retire`` without these tables, these tables with their rows, refusals)."""
    from tenantfix.db.inspect import row_count
    from tenantfix.moveusers.catalog import references_to
    from tenantfix.moveusers.memberships import own_tables

    named = {m.other_table for m in memberships if m.owner == user_app and m.other_table}
    own = own_tables(conn, schema, user_app, tenant_tables, ctx, user_tables)
    mapped = {t for t in own if t in named or any(t.startswith(o + "_") for o in named)}
    extra = sorted(own - mapped)
    found = [(t, row_count(conn, schema, t)) for t in extra]
    problems: list[str] = []
    allowed = own | user_tables | {t for t, _ in retire}
    for table, rows in found:
        model = ctx.owners[table].model if table in ctx.owners else f"a {user_app} many-to-many"
        for fk in references_to(conn, schema, table):
            if fk.schema != schema or fk.table not in allowed:
                problems.append(
                    f"{fk.schema}.{fk.table}.{fk.column} (constraint {fk.constraint}) references "
                    f"{schema}.{table} ({model}'s table, of the user app {user_app!r}, which "
                    "must be renamed to a backup so that it does not shadow public's): "
                    "tenantfix does not rewrite that reference. Nothing was changed."
                )
        if rows and not opt_in:
            problems.append(
                f"{schema}.{table} ({model}'s table, of the user app {user_app!r}) holds "
                f"{rows} row(s): with {user_app!r} SHARED-only the application reads "
                f"public.{table}, and the tenant's table would shadow it on search_path "
                "'<tenant>, public'; tenantfix moves the rows of the user model only. Move or "
                f"export those rows yourself, or keep {user_app!r} in TENANT_APPS, or pass "
                f"--retire-user-app-tables to rename the table to {backup_name(table)} anyway "
                "(its rows kept there, no longer visible to the application)"
            )
    remaining = tuple((t, n) for t, n in retire if t not in extra)
    return remaining, tuple(found), problems
