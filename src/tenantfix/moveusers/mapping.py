"""How each tenant user maps to a public user: a pure function, shared by the plan (on what the
database holds now) and by execute (inside each schema's transaction, on what public holds then).

``--match email``: a public user with the same e-mail (case-insensitive, non-empty) is the same
person: the tenant's rows point at it and no user is inserted. ``--match username``: the same
username. ``--match none``: every tenant user is inserted. A user to insert whose value of a
unique column (username, ...) is already taken in public is a clash: ``--on-conflict fail``
refuses the whole move naming every clash; ``suffix-schema`` appends ``.<schema>`` to that
value (``bob`` -> ``bob.globex``) and reports it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


class Match(str, enum.Enum):
    email = "email"
    username = "username"
    none = "none"


class OnConflict(str, enum.Enum):
    fail = "fail"
    suffix_schema = "suffix-schema"


Target = object  # a public id, or a ("planned", schema, old_id) placeholder before execute


@dataclass(frozen=True, slots=True)
class Mapped:
    old_id: object
    action: str  # "insert" | "match"
    target: Target | None  # the public user matched (None for an insert until it runs)
    renamed: tuple[tuple[str, str], ...] = ()  # (column, new value) for suffix-schema
    label: str = ""  # the username (or id) for messages


@dataclass(frozen=True, slots=True)
class Clash:
    schema: str
    old_id: object
    label: str
    column: str
    value: str
    reason: str

    def line(self) -> str:
        return f"{self.schema}: user {self.label!r} (id {self.old_id}): {self.reason}"


def _key(column: str, value: object) -> object:
    # e-mail addresses compare case-insensitively, as Django's normalize_email half-does
    return value.strip().lower() if isinstance(value, str) and column == "email" else value


@dataclass
class PublicIndex:
    """The values of public's unique columns (and the match column), updated as users map."""

    unique: tuple[str, ...]
    match_column: str | None
    values: dict[str, dict[object, list[Target]]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        rows: Iterable[Mapping[str, object]],
        pk: str,
        unique: tuple[str, ...],
        match_column: str | None,
    ) -> PublicIndex:
        index = cls(unique, match_column)
        for row in rows:
            index.add(row, row[pk])
        return index

    def columns(self) -> set[str]:
        return set(self.unique) | ({self.match_column} if self.match_column else set())

    def add(self, row: Mapping[str, object], target: Target) -> None:
        for column in self.columns():
            value = row.get(column)
            if value is None or value == "":
                continue
            self.values.setdefault(column, {}).setdefault(_key(column, value), []).append(target)

    def lookup(self, column: str, value: object) -> list[Target]:
        if value is None or value == "":
            return []
        return self.values.get(column, {}).get(_key(column, value), [])


def map_schema(
    schema: str,
    rows: Iterable[Mapping[str, object]],
    pk: str,
    index: PublicIndex,
    *,
    match: Match,
    on_conflict: OnConflict,
) -> tuple[list[Mapped], list[Clash]]:
    """Map one schema's user rows (sorted by pk); ``index`` learns the users to be inserted."""
    mapped: list[Mapped] = []
    clashes: list[Clash] = []
    targets_used: dict[object, object] = {}
    column = index.match_column
    for row in sorted(rows, key=lambda r: str(r[pk]).zfill(20)):
        old = row[pk]
        label = str(row.get("username") or old)
        if column is not None:
            found = index.lookup(column, row.get(column))
            if len(found) > 1:
                clashes.append(
                    Clash(
                        schema,
                        old,
                        label,
                        column,
                        str(row.get(column)),
                        f"{column} {row.get(column)!r} matches {len(found)} public users",
                    )
                )
                continue
            if found:
                target = found[0]
                if target in targets_used:
                    # two users of one schema onto one public user: undo could not tell
                    # which one a rewritten foreign key pointed at
                    clashes.append(
                        Clash(
                            schema,
                            old,
                            label,
                            column,
                            str(row.get(column)),
                            f"{column} {row.get(column)!r} is also the match of user id "
                            f"{targets_used[target]} of the same schema",
                        )
                    )
                    continue
                targets_used[target] = old
                mapped.append(Mapped(old, "match", target, (), label))
                continue
        renamed: list[tuple[str, str]] = []
        clash = None
        new_row = dict(row)
        for unique in index.unique:
            value = row.get(unique)
            if not index.lookup(unique, value):
                continue
            if on_conflict is OnConflict.suffix_schema and isinstance(value, str):
                candidate = f"{value}.{schema}"
                if not index.lookup(unique, candidate):
                    renamed.append((unique, candidate))
                    new_row[unique] = candidate
                    continue
            clash = Clash(
                schema,
                old,
                label,
                unique,
                str(value),
                f"{unique} {value!r} is already taken by a public user"
                + ("" if column is None else f" (and no public user has the same {column})"),
            )
            break
        if clash is not None:
            clashes.append(clash)
            continue
        placeholder = ("planned", schema, old)
        index.add(new_row, placeholder)
        targets_used[placeholder] = old
        mapped.append(Mapped(old, "insert", None, tuple(renamed), label))
    return mapped, clashes
