"""The user table's OWN foreign keys (``Person.department -> orgs.Department``).

``--execute`` copies each moved user's columns into public. A foreign key column of the user
table holds an id of the table it references; when that table exists in the tenant schema with
its own rows, the id names the TENANT's row, and in public the same id names another row (silent
wrong data) or none. So, per column, decided from ``pg_constraint`` of the tenant's and public's
user table (never from models):

- every moved user has NULL there: nothing to do;
- the tenant's user table references ``public.<table>`` already (a SHARED-only app): the values
  are public ids, copied verbatim;
- it references a table of the tenant schema: each value is mapped by the target's natural key
  (memberships' :func:`natural_key`) to public's row with the same key, and the public id is
  written into the inserted user. A value without a public row, or a target without a natural
  key, refuses the move, named. Users mapped onto an existing public user (``--match``) keep
  public's value; a different one is reported as a DECISION.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tenantfix.moveusers.names import PUBLIC

if TYPE_CHECKING:
    from tenantfix.db.inspect import Conn
    from tenantfix.moveusers.mapping import Mapped
    from tenantfix.moveusers.memberships import Context


@dataclass(frozen=True, slots=True)
class UserFk:
    """What happens to one foreign key column of the user table in one schema."""

    column: str
    action: str  # "null" | "shared" | "map" | "refuse"
    target: str  # the table the tenant's column references ("schema.table")
    public_target: str = ""  # the table public's column references ("public.table")
    key: str = ""  # the natural key's description
    values: int = 0  # non-NULL values among the users inserted into public
    # old id (tenant's target row) -> (public id, natural key label), for the inserted users
    pairs: tuple[tuple[str, str, str], ...] = ()
    # (user, tenant value's key, public user's current value's key) for --match users
    decisions: tuple[tuple[str, str, str], ...] = ()
    reason: str = ""  # for "refuse"

    def rewrite(self) -> dict[str, str]:
        return {old: new for old, new, _ in self.pairs}


def _ids_to_text(values: Sequence[object]) -> list[str]:
    return [str(v) for v in values if v is not None]


def plan_user_fks(
    conn: Conn,
    schema: str,
    user_table: str,
    pk: str,
    rows: list[dict[str, object]],
    mapped: Sequence[Mapped],
    memo: Context,
) -> list[UserFk]:
    """Each single-column foreign key of ``schema.user_table`` (not to the user table itself
    when every moved value is NULL), and what the move does with it."""
    from tenantfix.moveusers.catalog import references_from
    from tenantfix.moveusers.memberships import key_values, label, natural_key

    by_id = {str(r[pk]): r for r in rows}
    public_refs = memo.public(
        ("userfk-refs", user_table),
        lambda: {r.column: r for r in references_from(conn, PUBLIC, user_table) if r.columns == 1},
    )
    inserts = [by_id[str(m.old_id)] for m in mapped if m.action == "insert"]
    matches = [
        (m, by_id[str(m.old_id)])
        for m in mapped
        if m.action == "match" and not isinstance(m.target, tuple)
    ]
    out: list[UserFk] = []
    for ref in references_from(conn, schema, user_table):
        column = ref.column
        target = f"{ref.schema}.{ref.table}"
        values = [r[column] for r in inserts if r.get(column) is not None]
        matched = [(m, r) for m, r in matches if r.get(column) is not None]
        if ref.columns != 1:
            if values or matched:
                out.append(UserFk(column, "refuse", target, reason="a multi-column foreign key"))
            continue
        if ref.schema == PUBLIC:
            out.append(UserFk(column, "shared" if values else "null", target, values=len(values)))
            continue
        if not values and not matched:
            out.append(UserFk(column, "null", target))
            continue
        if ref.schema != schema:
            out.append(
                UserFk(
                    column,
                    "refuse" if values else "null",
                    target,
                    values=len(values),
                    reason=f"it references another tenant's schema ({target})",
                )
            )
            continue
        if ref.table == user_table:
            out.append(
                UserFk(
                    column,
                    "refuse" if values else "null",
                    target,
                    values=len(values),
                    reason="it references the user table itself; tenantfix does not map those ids",
                )
            )
            continue
        pub = public_refs.get(column)
        if pub is None or pub.schema != PUBLIC:
            out.append(
                UserFk(
                    column,
                    "refuse" if values else "null",
                    target,
                    values=len(values),
                    reason=f"public.{user_table}.{column} has no foreign key to a table of "
                    "public, so the public row it should name cannot be told",
                )
            )
            continue
        public_target = f"{PUBLIC}.{pub.table}"
        tkey = natural_key(conn, schema, ref.table)
        pkey = memo.public(
            ("userfk-key", pub.table),
            lambda table=pub.table: natural_key(conn, PUBLIC, table),  # type: ignore[misc]
        )
        if (
            tkey is None
            or pkey is None
            or tkey.signature() != pkey.signature()
            or tkey.pk != ref.target_column
            or pkey.pk != pub.target_column
        ):
            why = (
                f"{target} has no natural key (no unique index of NOT NULL columns, or of "
                "foreign keys to tables with one) to find public's row by"
                if tkey is None or pkey is None
                else f"{target} and {public_target} have different natural keys "
                f"({tkey.describe()} / {pkey.describe()})"
            )
            out.append(
                UserFk(
                    column,
                    "refuse" if values else "null",
                    target,
                    public_target,
                    values=len(values),
                    reason=why,
                )
            )
            continue
        tenant_keys = key_values(conn, tkey)
        public_ids = memo.public_ids(conn, pkey)
        public_keys = {v: k for k, v in public_ids.items()}
        pairs: dict[str, tuple[str, str]] = {}
        missing: dict[str, int] = {}
        for value in _ids_to_text(values):
            found = tenant_keys.get(value)
            new = public_ids.get(found) if found is not None else None
            if found is None or new is None:
                name = label(found) if found is not None else f"id {value}"
                missing[name] = missing.get(name, 0) + 1
            else:
                pairs[value] = (new, label(found))
        decisions: list[tuple[str, str, str]] = []
        if matched:
            current = _public_values(conn, user_table, pk, column, [m.target for m, _ in matched])
            for m, r in matched:
                found = tenant_keys.get(str(r[column]))
                new = public_ids.get(found) if found is not None else None
                now = current.get(str(m.target))
                if new is None or new != now:
                    theirs = public_keys.get(now) if now is not None else None
                    decisions.append(
                        (
                            m.label,
                            label(found) if found is not None else f"id {r[column]}",
                            label(theirs) if theirs is not None else (now or "NULL"),
                        )
                    )
        if missing:
            shown = sorted(missing.items(), key=lambda kv: (-kv[1], kv[0]))
            listed = ", ".join(f"{name!r} ({n} user(s))" for name, n in shown[:5])
            out.append(
                UserFk(
                    column,
                    "refuse",
                    target,
                    public_target,
                    tkey.describe(),
                    len(values),
                    reason=f"{sum(missing.values())} value(s) name {target} rows with no "
                    f"{public_target} row of the same natural key ({tkey.describe()}): {listed}"
                    + (", ..." if len(shown) > 5 else ""),
                )
            )
            continue
        out.append(
            UserFk(
                column,
                "map" if values else "null",
                target,
                public_target,
                tkey.describe(),
                len(values),
                tuple(sorted((old, new, name) for old, (new, name) in pairs.items())),
                tuple(decisions),
            )
        )
    return out


def _public_values(
    conn: Conn, table: str, pk: str, column: str, ids: Sequence[object]
) -> dict[str, str | None]:
    from psycopg import sql

    rows = conn.execute(
        sql.SQL("SELECT {}::text, {}::text FROM {} WHERE {}::text = ANY(%s)").format(
            sql.Identifier(pk),
            sql.Identifier(column),
            sql.Identifier(PUBLIC, table),
            sql.Identifier(pk),
        ),
        ([str(i) for i in ids],),
    ).fetchall()
    return {str(r[0]): (None if r[1] is None else str(r[1])) for r in rows}


def refusal(schema: str, user_table: str, user_app: str, fk: UserFk) -> str:
    return (
        f"{user_table}.{fk.column} in {schema} (a foreign key to {fk.target}): {fk.values} "
        f"user(s) to insert into public hold {schema}'s ids there, which name other rows (or "
        f"none) in public; {fk.reason}. Create those rows in public, clear the column for those "
        f"users, or keep {user_app!r} in TENANT_APPS. Nothing was changed."
    )
