"""The user model's many-to-many tables (groups, user_permissions, any other): what happens to
each membership when the users move.

Decided per table from the database and the settings. public's copy of the table names its
other side in ``pg_constraint`` (``public.people_groups.group_id`` -> ``public.auth_group``):

- the app owning that table is SHARED-only: the memberships move. Each tenant row of the other
  side is matched to a public row by its natural key, read from the catalog (a unique index
  whose columns are plain values or foreign keys to tables with a natural key of their own:
  ``auth_group(name)``; ``auth_permission(content_type -> (app_label, model), codename)``),
  never guessed from model files. A membership whose other side has no public counterpart is
  not invented in public: it stays in the backup table and the plan names it (with
  ``--create-missing-groups``, groups, and only groups, are created in public by name).
  The tenant's own copies of that app's tables would shadow public's on search_path
  ``'<tenant>, public'``, so they are renamed to backups with the user tables (never dropped).
- the app is per tenant (TENANT_APPS, or both lists): public's table can only name public's
  rows, while tenant requests read the tenant's: the memberships stay in the backup table and
  the plan says so as a decision.

Every membership row inserted into public (and every group created) is recorded in the move's
log, so ``--undo`` deletes exactly those rows.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from tenantfix.moveusers.catalog import (
    Reference,
    column_types,
    references_from,
    references_to,
    table_exists,
    table_info,
    unique_keys,
)
from tenantfix.moveusers.names import LOG_TABLE, MAP_TABLE, PUBLIC, backup_name

if TYPE_CHECKING:
    from tenantfix.db.inspect import Conn
    from tenantfix.graph.model import ProjectGraph

Key = tuple[object, ...]  # a natural key's values; a foreign key's value is its target's Key
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Owner:
    """Where the settings put the app owning a table."""

    app: str
    shared: bool
    tenant: bool
    model: str = ""  # app_label.Model


@dataclass
class Context:
    """What the decisions need from the project (read once) and the options."""

    owners: Mapping[str, Owner]  # table -> the app whose model it is (from the project graph)
    group_table: str | None  # auth.Group's table: the only table --create-missing-groups writes
    create_missing_groups: bool = False
    _public: dict[tuple[str, ...], object] = field(default_factory=dict)

    def public(self, key: tuple[str, ...], read: Callable[[], T]) -> T:
        """What the plan reads of public, once for all schemas (public does not change while
        the plan is read; execute reads it again inside each schema's transaction): 200
        tenants made the same public reads 200 times, most of the plan's time."""
        if key not in self._public:
            self._public[key] = read()
        return self._public[key]  # type: ignore[return-value]

    def public_ids(self, conn: Conn, key: NaturalKey) -> dict[Key, str]:
        return self.public(
            ("ids", key.table), lambda: {v: k for k, v in key_values(conn, key).items()}
        )


@dataclass(frozen=True, slots=True)
class NaturalKey:
    schema: str
    table: str
    pk: str
    columns: tuple[str, ...]
    refs: tuple[NaturalKey | None, ...]  # per column: the referenced table's key, or None

    def signature(self) -> tuple[object, ...]:
        """The key's shape without table names (a renamed backup copy has the same shape)."""
        return tuple(
            (c, r.signature() if r is not None else None)
            for c, r in zip(self.columns, self.refs, strict=True)
        )

    def describe(self) -> str:
        return ", ".join(
            f"{c} -> ({r.describe()})" if r is not None else c
            for c, r in zip(self.columns, self.refs, strict=True)
        )


def natural_key(conn: Conn, schema: str, table: str, depth: int = 0) -> NaturalKey | None:
    """The first unique index (fewest columns first) whose every column is a NOT NULL value or
    a foreign key to a table with a natural key: None when the catalog has none."""
    info = table_info(conn, schema, table)
    if info is None or info.pk is None or depth > 3:
        return None
    fks = {r.column: r for r in references_from(conn, schema, table) if r.columns == 1}
    for columns in unique_keys(conn, schema, table):
        refs: list[NaturalKey | None] = []
        for column in columns:
            ref = fks.get(column)
            if ref is None:
                refs.append(None)
                continue
            sub = natural_key(conn, ref.schema, ref.table, depth + 1)
            if sub is None or sub.pk != ref.target_column:
                break
            refs.append(sub)
        else:
            return NaturalKey(schema, table, info.pk, columns, tuple(refs))
    return None


def key_values(conn: Conn, key: NaturalKey) -> dict[str, Key]:
    """Primary key (as text) -> natural key values, for every row of the key's table."""
    from psycopg import sql

    rows = conn.execute(
        sql.SQL("SELECT {}::text, {} FROM {}").format(
            sql.Identifier(key.pk),
            sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in key.columns),
            sql.Identifier(key.schema, key.table),
        )
    ).fetchall()
    subs = [key_values(conn, r) if r is not None else None for r in key.refs]
    out: dict[str, Key] = {}
    for row in rows:
        values: list[object] = []
        for value, sub in zip(row[1:], subs, strict=True):
            if sub is not None:
                value = sub.get(str(value))
                if value is None:
                    break
            values.append(value)
        else:
            out[str(row[0])] = tuple(values)
    return out


def label(key: Key) -> str:
    """``('editors',)`` -> ``editors``; a permission -> ``accounts.person.add_person``."""
    return ".".join(label(v) if isinstance(v, tuple) else str(v) for v in key)


@dataclass(frozen=True, slots=True)
class Shape:
    """A many-to-many table: its user column and the foreign key of its other side."""

    table: str
    pk: str
    user_column: str
    other: Reference


def shape(conn: Conn, schema: str, table: str, user_tables: set[str]) -> Shape | str:
    """The table's shape from pg_constraint, or why it is not a plain many-to-many table."""
    info = table_info(conn, schema, table)
    refs = references_from(conn, schema, table)
    users = [r for r in refs if r.schema == schema and r.table in user_tables]
    others = [r for r in refs if r not in users]
    if (
        info is None
        or info.pk is None
        or len(users) != 1
        or len(others) != 1
        or any(r.columns != 1 for r in refs)
    ):
        # no schema name: the plan sums one reason over every schema it holds in
        return (
            f"{'public.' if schema == PUBLIC else ''}{table} is not a plain many-to-many table "
            "(two single-column foreign keys, one to the user table, one to another table)"
        )
    return Shape(table, info.pk, users[0].column, others[0])


@dataclass(frozen=True, slots=True)
class M2MPlan:
    """One schema's memberships in one many-to-many table of the user model."""

    table: str
    rows: int
    decision: str  # "move" | "keep"
    reason: str = ""  # why kept (a "keep" decision)
    owner: str = ""  # the app owning the other side's table
    other_table: str = ""  # public's table the memberships name (auth_group)
    via: str = ""  # how its rows are matched: "ids" or the natural key's columns
    movable: int = 0  # memberships whose other side has a public row (or one created)
    missing: tuple[tuple[str, int], ...] = ()  # (row's natural key, memberships) kept
    create: tuple[tuple[str, int], ...] = ()  # (group name, memberships): created in public
    # rows matched by natural key whose own many-to-many rows differ from public's row's (a
    # group of the same name with other permissions): (row, attribute table, only the
    # tenant's, only public's), each a tuple of natural keys' labels
    differs: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = ()


def _other_counts(conn: Conn, schema: str, table: str, column: str) -> dict[str, int]:
    from psycopg import sql

    rows = conn.execute(
        sql.SQL("SELECT {}::text, count(*) FROM {} GROUP BY 1").format(
            sql.Identifier(column), sql.Identifier(schema, table)
        )
    ).fetchall()
    return {str(r[0]): int(str(r[1])) for r in rows}


def _can_create(group_table: str | None, key: NaturalKey) -> bool:
    """Only groups are ever created, by their one-column natural key (the name)."""
    return key.table == group_table and len(key.columns) == 1 and key.refs == (None,)


def context(graph: ProjectGraph, *, create_missing_groups: bool = False) -> Context:
    """Which app owns each model table, and where the settings put it."""
    owners: dict[str, Owner] = {}
    for app in graph.apps:
        shared, tenant = graph.is_shared(app), graph.is_tenant(app)
        for model in app.concrete_models:
            owners.setdefault(
                model.table, Owner(app.label, shared, tenant, f"{app.label}.{model.name}")
            )
    group = graph.model("auth.Group")
    return Context(owners, group.table if group else None, create_missing_groups)


def plan_table(
    conn: Conn, schema: str, table: str, rows: int, user_table: str, ctx: Context
) -> M2MPlan:
    """What happens to ``schema.table``'s memberships (read-only)."""

    def keep(reason: str, owner: str = "", other: str = "") -> M2MPlan:
        return M2MPlan(table, rows, "keep", reason, owner, other)

    if not ctx.public(("exists", table), lambda: table_exists(conn, PUBLIC, table)):
        return keep(f"public has no {table} table")
    tenant = shape(conn, schema, table, {user_table})
    public = ctx.public(("shape", table), lambda: shape(conn, PUBLIC, table, {user_table}))
    if isinstance(tenant, str) or isinstance(public, str):
        return keep(tenant if isinstance(tenant, str) else str(public))
    other = public.other.table
    if public.other.schema != PUBLIC:
        return keep(f"public.{table}.{public.other.column} references a table outside public")
    owner = ctx.owners.get(other)
    if owner is None:
        return keep(
            f"tenantfix cannot tell which app owns {other} (no model of the project has that "
            "table), so whether it is shared is unknown",
            other=other,
        )
    if owner.tenant:
        why = (
            f"{owner.app} is in TENANT_APPS as well as SHARED_APPS: on search_path "
            f"'<tenant>, public' tenant requests read each tenant's own {other}, while "
            f"public.{table} names public's {other} rows, so moved memberships would name other "
            f"rows there. Make {owner.app} SHARED-only to move them"
            if owner.shared
            else f"{owner.app} is per tenant (TENANT_APPS only): the {other} rows they name live "
            f"in each tenant schema, and public.{table} can only name public's {other}"
        )
        return keep(why, owner.app, other)
    if not owner.shared:
        return keep(f"{owner.app} is in neither SHARED_APPS nor TENANT_APPS", owner.app, other)
    base = M2MPlan(table, rows, "move", owner=owner.app, other_table=other)
    if (tenant.other.schema, tenant.other.table) == (PUBLIC, other):
        # the tenant's table was created against public's (the app was shared then too)
        return _replace(base, via="ids (they already name public's rows)", movable=rows)
    t_key = natural_key(conn, tenant.other.schema, tenant.other.table)
    p_key = ctx.public(("key", other), lambda: natural_key(conn, PUBLIC, other))
    if t_key is None or p_key is None or t_key.signature() != p_key.signature():
        return keep(
            f"no natural key of {other} in the catalog (a unique index on values or on keys of "
            f"tables with one) matches the tenant's {tenant.other.table} to public.{other}",
            owner.app,
            other,
        )
    tenant_keys = key_values(conn, t_key)
    public_ids = ctx.public_ids(conn, p_key)
    movable = 0
    missing: Counter[str] = Counter()
    create: Counter[str] = Counter()
    differs: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]] = []
    attrs = attributes(conn, schema, tenant.other.table, other, ctx)
    for other_id, n in _other_counts(conn, schema, table, tenant.other.column).items():
        key = tenant_keys.get(other_id)
        if key is not None and key in public_ids:
            movable += n
            for attr, t_sets, p_sets in attrs:
                mine, theirs = t_sets.get(other_id, set()), p_sets.get(public_ids[key], set())
                if mine != theirs:
                    differs.append(
                        (
                            label(key),
                            attr,
                            tuple(sorted(label(k) for k in mine - theirs)),
                            tuple(sorted(label(k) for k in theirs - mine)),
                        )
                    )
        elif key is not None and ctx.create_missing_groups and _can_create(ctx.group_table, p_key):
            create[label(key)] += n
            movable += n
        else:
            missing[label(key) if key is not None else f"#{other_id}"] += n
    return _replace(
        base,
        via=f"natural key ({p_key.describe()})",
        movable=movable,
        missing=tuple(sorted(missing.items())),
        create=tuple(sorted(create.items())),
        differs=tuple(differs),
    )


Sets = dict[str, set[Key]]  # a row's id -> the natural keys of the rows its M2M table names


def attributes(
    conn: Conn, schema: str, tenant_table: str, public_table: str, ctx: Context
) -> list[tuple[str, Sets, Sets]]:
    """The many-to-many tables of the other side's own model (``auth_group_permissions``:
    Group.permissions), from pg_constraint in the tenant and in public: per table, each tenant
    row's and each public row's set of natural keys (a group's permissions). Only the tables
    Django names ``<table>_<field>`` for a many-to-many field of that model: the reverse ones
    (the user's memberships, a permission's groups) say nothing about what the row grants."""
    out: list[tuple[str, Sets, Sets]] = []
    for t, p in attribute_shapes(conn, schema, tenant_table, public_table, ctx):
        t_sets = _sets(conn, schema, t)
        p_sets = ctx.public(("sets", p.table), partial(_sets, conn, PUBLIC, p))
        if t_sets is not None and p_sets is not None:
            out.append((t.table, t_sets, p_sets))
    return out


def attribute_shapes(
    conn: Conn, schema: str, tenant_table: str, public_table: str, ctx: Context | None = None
) -> list[tuple[Shape, Shape]]:
    memo = ctx or Context({}, None)  # execute: a fresh read of public inside the transaction
    out: list[tuple[Shape, Shape]] = []
    for fk in references_to(conn, schema, tenant_table):
        if (
            fk.schema != schema
            or not fk.table.startswith(public_table + "_")
            or not memo.public(("exists", fk.table), partial(table_exists, conn, PUBLIC, fk.table))
        ):
            continue
        t = shape(conn, schema, fk.table, {tenant_table})
        p = memo.public(
            ("attr-shape", fk.table),
            partial(shape, conn, PUBLIC, fk.table, {public_table}),
        )
        if not isinstance(t, str) and not isinstance(p, str):
            out.append((t, p))
    return out


def _sets(conn: Conn, schema: str, m2m: Shape) -> Sets | None:
    from psycopg import sql

    key = natural_key(conn, m2m.other.schema, m2m.other.table)
    if key is None:
        return None
    keys = key_values(conn, key)
    out: Sets = {}
    for owner, other in conn.execute(
        sql.SQL("SELECT {}::text, {}::text FROM {}").format(
            sql.Identifier(m2m.user_column),
            sql.Identifier(m2m.other.column),
            sql.Identifier(schema, m2m.table),
        )
    ).fetchall():
        value = keys.get(str(other))
        out.setdefault(str(owner), set()).add(value if value is not None else (f"#{other}",))
    return out


def _replace(plan: M2MPlan, **changes: object) -> M2MPlan:
    import dataclasses

    return dataclasses.replace(plan, **changes)  # type: ignore[arg-type]


def own_tables(
    conn: Conn,
    schema: str,
    app: str,
    tenant_tables: set[str],
    ctx: Context,
    exclude: set[str],
) -> set[str]:
    """The tenant's tables of ``app``'s models (their ``db_table``, from the project graph) and
    of their auto-created many-to-many tables, ``exclude`` left out."""
    own = {t for t, o in ctx.owners.items() if o.app == app} & tenant_tables - exclude
    # the app's auto-created many-to-many tables (auth_group_permissions): <model table>_<field>,
    # every foreign key into the app's own tables
    for t in sorted(tenant_tables - own - exclude):
        if any(t.startswith(m + "_") for m in own):
            refs = references_from(conn, schema, t)
            if refs and all(r.schema == schema and r.table in own for r in refs):
                own.add(t)
    return own


def retire_tables(
    conn: Conn,
    schema: str,
    app: str,
    tenant_tables: set[str],
    ctx: Context,
    user_app_tables: set[str],
) -> tuple[tuple[str, ...], str | None]:
    """The tenant's own tables of ``app`` (a SHARED-only app now), which would shadow public's
    on search_path, and why they cannot be renamed (a table outside them references them).

    ``app`` may be the user app itself (AUTH_USER_MODEL = auth.User: the memberships name
    auth's own Group and Permission): its user tables (``user_app_tables``) are renamed by the
    move anyway and their references rewritten, so they are neither retired here nor a reason
    to keep the rest."""
    own = own_tables(conn, schema, app, tenant_tables, ctx, user_app_tables)
    for t in sorted(own):
        for fk in references_to(conn, schema, t):
            if fk.schema != schema or fk.table not in own | user_app_tables:
                # no schema name: the plan sums one reason over every schema it holds in
                where = "" if fk.schema == schema else f"{fk.schema}."
                return (), (
                    f"{where}{fk.table}.{fk.column} references the tenant's own {t}, so {app}'s "
                    "tables stay in the tenant schema, where on search_path '<tenant>, public' "
                    "they would shadow public's and the moved memberships would name other rows"
                )
    return tuple(sorted(own)), None


# ------------------------------------------------------------------------------- execute


@dataclass(frozen=True, slots=True)
class Resolved:
    rows: int  # memberships in the tenant's table
    pairs: tuple[tuple[str, str], ...]  # (public user id, public other id), no duplicates
    resolved: int  # memberships that have both a public user and a public other row
    missing: dict[Key, int]  # the other side's natural key -> memberships without a public row


def resolve(
    conn: Conn,
    schema: str,
    table: str,
    user_table: str,
    *,
    backup: bool = False,
    memo: Context | None = None,
) -> Resolved | str:
    """Map ``schema.table``'s memberships (its backup's, after the move) to public ids: users
    through the map, the other side by natural key (or by id when it names public's rows).
    ``memo`` keeps public's catalog reads (shapes, keys; never rows) over a run's schemas."""
    from psycopg import sql

    memo = memo or Context({}, None)
    source = backup_name(table) if backup else table
    tenant = shape(conn, schema, source, {backup_name(user_table) if backup else user_table})
    public = memo.public(("shape", table), partial(shape, conn, PUBLIC, table, {user_table}))
    if isinstance(tenant, str) or isinstance(public, str):
        return tenant if isinstance(tenant, str) else str(public)
    rows = conn.execute(
        sql.SQL(
            "SELECT m.new_id, t.{}::text FROM {} t LEFT JOIN {} m ON m.schema = %s AND "
            "m.undone_at IS NULL AND m.old_id = t.{}::text"
        ).format(
            sql.Identifier(tenant.other.column),
            sql.Identifier(schema, source),
            sql.Identifier(PUBLIC, MAP_TABLE),
            sql.Identifier(tenant.user_column),
        ),
        (schema,),
    ).fetchall()
    same = (tenant.other.schema, tenant.other.table) == (PUBLIC, public.other.table)
    tenant_keys: dict[str, Key] = {}
    public_ids: dict[Key, str] = {}
    if not same:
        t_key = natural_key(conn, tenant.other.schema, tenant.other.table)
        p_key = memo.public(
            ("key", public.other.table), partial(natural_key, conn, PUBLIC, public.other.table)
        )
        if t_key is None or p_key is None or t_key.signature() != p_key.signature():
            return f"no natural key matches {tenant.other.table} to public.{public.other.table}"
        tenant_keys = key_values(conn, t_key)
        public_ids = {v: k for k, v in key_values(conn, p_key).items()}
    pairs: dict[tuple[str, str], None] = {}
    missing: Counter[Key] = Counter()
    resolved = 0
    for user, other in rows:
        if user is None:
            continue  # every user of a moved schema is mapped; the proof counts this
        target = str(other)
        if not same:
            key = tenant_keys.get(str(other))
            found = public_ids.get(key) if key is not None else None
            if found is None:
                missing[key if key is not None else (f"#{other}",)] += 1
                continue
            target = found
        resolved += 1
        pairs[(str(user), target)] = None
    return Resolved(len(rows), tuple(pairs), resolved, dict(missing))


def _log_rows(conn: Conn, schema: str, table: str, pk: str, ids: list[str], what: str) -> None:
    from psycopg import sql

    with conn.cursor() as cur:
        cur.executemany(
            sql.SQL(
                "INSERT INTO {} (schema, kind, table_name, column_name, name, definition) "
                "VALUES (%s, 'row', %s, %s, %s, %s)"
            ).format(sql.Identifier(PUBLIC, LOG_TABLE)),
            [(schema, table, pk, i, what) for i in ids],
        )


def log_decision(conn: Conn, schema: str, table: str, decision: str, detail: object) -> None:
    from psycopg import sql

    conn.execute(
        sql.SQL(
            "INSERT INTO {} (schema, kind, table_name, name, definition) "
            "VALUES (%s, 'm2m', %s, %s, %s)"
        ).format(sql.Identifier(PUBLIC, LOG_TABLE)),
        (schema, table, decision, json.dumps(detail)),
    )


def create_groups(
    conn: Conn, schema: str, table: str, user_table: str, group_table: str | None
) -> int:
    """--create-missing-groups: insert the groups ``schema.table``'s memberships name that
    public lacks, by name, with those of their permissions (the group's own many-to-many
    rows) whose natural key public has; every row recorded for undo. Returns how many groups
    were created."""
    from psycopg import sql

    tenant = shape(conn, schema, table, {user_table})
    public = shape(conn, PUBLIC, table, {user_table})
    if isinstance(tenant, str) or isinstance(public, str):
        return 0
    t_key = natural_key(conn, tenant.other.schema, tenant.other.table)
    p_key = natural_key(conn, PUBLIC, public.other.table)
    if (
        t_key is None
        or p_key is None
        or t_key.signature() != p_key.signature()
        or not _can_create(group_table, p_key)
    ):
        return 0
    tenant_keys = key_values(conn, t_key)
    public_ids = {v: k for k, v in key_values(conn, p_key).items()}
    created: dict[str, str] = {}  # tenant group id -> the public group created for it
    for tenant_id in sorted(_other_counts(conn, schema, table, tenant.other.column)):
        key = tenant_keys.get(tenant_id)
        if key is None or key in public_ids:
            continue
        row = conn.execute(
            sql.SQL(
                "INSERT INTO {} ({}) VALUES (%s) ON CONFLICT DO NOTHING RETURNING {}::text"
            ).format(
                sql.Identifier(PUBLIC, p_key.table),
                sql.Identifier(p_key.columns[0]),
                sql.Identifier(p_key.pk),
            ),
            (key[0],),
        ).fetchone()
        if row is not None:
            created[tenant_id] = str(row[0])
    _log_rows(conn, schema, p_key.table, p_key.pk, list(created.values()), "created")
    if created and tenant.other.schema == schema:
        for t, p in attribute_shapes(conn, schema, tenant.other.table, public.other.table):
            _copy_attribute(conn, schema, t, p, created)
    return len(created)


def _copy_attribute(conn: Conn, schema: str, t: Shape, p: Shape, created: dict[str, str]) -> None:
    """A created group's permissions: the tenant group's rows of ``t`` (auth_group_permissions)
    whose other side public has by natural key, inserted into ``p`` for the new group."""
    from psycopg import sql

    t_key = natural_key(conn, t.other.schema, t.other.table)
    p_key = natural_key(conn, PUBLIC, p.other.table)
    if t_key is None or p_key is None or t_key.signature() != p_key.signature():
        return
    tenant_keys = key_values(conn, t_key)
    public_ids = {v: k for k, v in key_values(conn, p_key).items()}
    pairs: list[tuple[str, str]] = []
    for owner, other in conn.execute(
        sql.SQL("SELECT {}::text, {}::text FROM {} WHERE {}::text = ANY(%s)").format(
            sql.Identifier(t.user_column),
            sql.Identifier(t.other.column),
            sql.Identifier(schema, t.table),
            sql.Identifier(t.user_column),
        ),
        (sorted(created),),
    ).fetchall():
        key = tenant_keys.get(str(other))
        target = public_ids.get(key) if key is not None else None
        if target is not None:
            pairs.append((created[str(owner)], target))
    ids = _insert_pairs(conn, p, pairs)
    _log_rows(conn, schema, p.table, p.pk, ids, "attribute")


def _insert_pairs(conn: Conn, public: Shape, pairs: list[tuple[str, str]]) -> list[str]:
    """Insert (owner, other) rows into ``public.<table>``, none that is there already; the
    ids of the rows inserted."""
    from psycopg import sql

    types = column_types(conn, PUBLIC, public.table)
    user_col, other_col = public.user_column, public.other.column
    inserted = conn.execute(
        sql.SQL(
            "INSERT INTO {t} ({u}, {o}) SELECT x.u::{ut}, x.o::{ot} FROM unnest(%s::text[], "
            "%s::text[]) AS x(u, o) WHERE NOT EXISTS (SELECT 1 FROM {t} p WHERE p.{u} = "
            "x.u::{ut} AND p.{o} = x.o::{ot}) ON CONFLICT DO NOTHING RETURNING {pk}::text"
        ).format(
            t=sql.Identifier(PUBLIC, public.table),
            u=sql.Identifier(user_col),
            o=sql.Identifier(other_col),
            ut=sql.SQL(types[user_col]),
            ot=sql.SQL(types[other_col]),
            pk=sql.Identifier(public.pk),
        ),
        ([u for u, _ in pairs], [o for _, o in pairs]),
    ).fetchall()
    return [str(r[0]) for r in inserted]


def move_table(
    conn: Conn, schema: str, table: str, user_table: str, memo: Context | None = None
) -> dict[str, int]:
    """Insert ``schema.table``'s memberships into ``public.table`` (inside the schema's
    transaction, after the users are in the map). A membership public already has is not
    duplicated; one whose other side has no public row stays behind. Returns the counts."""

    from tenantfix.moveusers.execute import MoveRefused

    memo = memo or Context({}, None)
    found = resolve(conn, schema, table, user_table, memo=memo)
    public = memo.public(("shape", table), partial(shape, conn, PUBLIC, table, {user_table}))
    if isinstance(found, str) or isinstance(public, str):
        raise MoveRefused(f"{schema}.{table}: {found if isinstance(found, str) else public}")
    ids = _insert_pairs(conn, public, list(found.pairs))
    _log_rows(conn, schema, table, public.pk, ids, "membership")
    counts = {
        "rows": found.rows,
        "moved": found.resolved,
        "inserted": len(ids),
        "kept": found.rows - found.resolved,
    }
    log_decision(conn, schema, table, "moved", counts)
    return counts


def undo_rows(conn: Conn, schema: str) -> int:
    """Delete the rows the move inserted into public for ``schema`` (memberships, the created
    groups' permissions, then those groups). Returns the number of memberships deleted."""
    from psycopg import sql

    rows = conn.execute(
        sql.SQL(
            "SELECT table_name, column_name, definition, array_agg(name) FROM {} WHERE schema = %s "
            "AND kind = 'row' AND undone_at IS NULL GROUP BY 1, 2, 3"
        ).format(sql.Identifier(PUBLIC, LOG_TABLE)),
        (schema,),
    ).fetchall()
    deleted = 0
    for what in ("membership", "attribute", "created"):
        for table, column, kind, ids in rows:
            if kind != what:
                continue
            n = conn.execute(
                sql.SQL("DELETE FROM {} WHERE {}::text = ANY(%s)").format(
                    sql.Identifier(PUBLIC, str(table)), sql.Identifier(str(column))
                ),
                ([str(i) for i in ids],),  # type: ignore[attr-defined]
            ).rowcount
            if what == "membership":
                deleted += int(n)
    return deleted


def check_schema(
    conn: Conn, schema: str, user_table: str, memo: Context | None = None
) -> list[str]:
    """The proof for one moved schema: every membership the log says moved resolves in public
    (user through the map, other side by its key) and is there; the counts add up."""
    from psycopg import sql

    problems: list[str] = []
    logged = conn.execute(
        sql.SQL(
            "SELECT table_name, definition FROM {} WHERE schema = %s AND kind = 'm2m' AND "
            "name = 'moved' AND undone_at IS NULL"
        ).format(sql.Identifier(PUBLIC, LOG_TABLE)),
        (schema,),
    ).fetchall()
    for table, detail in logged:
        table = str(table)
        counts = json.loads(str(detail))
        backup = backup_name(table)
        found = resolve(conn, schema, table, user_table, backup=True, memo=memo)
        if isinstance(found, str):
            problems.append(f"{schema}.{backup}: {found}")
            continue
        if found.rows != counts["rows"] or found.resolved != counts["moved"]:
            problems.append(
                f"{schema}.{backup}: {found.rows} membership(s), {found.resolved} resolving in "
                f"public now; the move recorded {counts['rows']} and {counts['moved']}"
            )
        if found.rows - found.resolved != counts["kept"]:
            problems.append(f"{schema}.{backup}: memberships kept do not add up")
        public = shape(conn, PUBLIC, table, {user_table})
        assert not isinstance(public, str)
        present = {
            (str(u), str(o))
            for u, o in conn.execute(
                sql.SQL("SELECT {}::text, {}::text FROM {} WHERE {}::text = ANY(%s)").format(
                    sql.Identifier(public.user_column),
                    sql.Identifier(public.other.column),
                    sql.Identifier(PUBLIC, table),
                    sql.Identifier(public.user_column),
                ),
                (sorted({u for u, _ in found.pairs}),),
            ).fetchall()
        }
        absent = [p for p in found.pairs if p not in present]
        if absent:
            problems.append(
                f"{schema}.{backup}: {len(absent)} moved membership(s) are not in public.{table}"
            )
        recorded = conn.execute(
            sql.SQL(
                "SELECT count(*), count(p.{pk}) FROM {log} l LEFT JOIN {t} p ON "
                "p.{pk}::text = l.name WHERE l.schema = %s AND l.kind = 'row' AND "
                "l.table_name = %s AND l.definition = 'membership' AND l.undone_at IS NULL"
            ).format(
                pk=sql.Identifier(public.pk),
                log=sql.Identifier(PUBLIC, LOG_TABLE),
                t=sql.Identifier(PUBLIC, table),
            ),
            (schema, table),
        ).fetchone()
        if recorded is not None and recorded[0] != recorded[1]:
            problems.append(
                f"public.{table}: {int(str(recorded[0])) - int(str(recorded[1]))} membership "
                f"row(s) the move inserted for {schema} are gone"
            )
    return problems
