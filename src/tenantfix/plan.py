"""Findings and the fixes they ask for; plain values that serialise to JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from tenantfix.graph.model import Location

Severity = Literal["error", "warning"]
Safety = Literal["safe", "unsafe"]

# Fix name of a "makemigrations" fix that first deletes the files listed in its ``remove``
# argument (one path a line), then lets makemigrations write the app's migrations again.
REGENERATE = "regenerate_migrations"


@dataclass(frozen=True, slots=True)
class Prediction:
    """What Django will print, and where: the failing schema step, migration and error."""

    step: str  # "migrate_schemas --shared", "migrate_schemas --tenant", or "runtime"
    migration: str | None  # "admin.0001_initial"
    error: str  # 'relation "users_user" does not exist'

    def sentence(self) -> str:
        if self.step == "runtime":
            # Nothing fails while migrating: the table is simply never created.
            return (
                f"`migrate_schemas` reports success, then the first query fails with `{self.error}`"
            )
        at = f" at `{self.migration}`" if self.migration else ""
        return f"`{self.step}` will fail{at} with `{self.error}`"


@dataclass(frozen=True, slots=True)
class Fix:
    """A codemod (by registry name) applied to one file, or a generated migration.

    ``kind`` is "codemod" (``name`` = codemod name, ``path`` = file, ``args`` its keyword
    arguments) or "makemigrations" (``args`` = (("app_label", label),); with ``name`` =
    :data:`REGENERATE` also ``("remove", paths)``: the app's migration files deleted first).
    """

    kind: Literal["codemod", "makemigrations"]
    name: str
    path: str | None
    args: tuple[tuple[str, str], ...] = ()
    safety: Safety = "safe"
    description: str = ""

    def arg(self, key: str) -> str:
        return dict(self.args)[key]


@dataclass(frozen=True, slots=True)
class AppPlacement:
    """Where one app of a finding lives, before and after its fix: one flag per schema kind.

    ``columns`` name the schema kinds: ``public`` then ``tenant`` (or one per tenant type of a
    multi-type project); ``before``/``after`` say whether the app is in that kind's list.
    """

    app: str
    columns: tuple[str, ...]
    before: tuple[bool, ...]
    after: tuple[bool, ...]

    def describe(self, flags: tuple[bool, ...]) -> str:
        """``public``, ``tenant only``, ``public and tenant``, ``not installed``..."""
        where = [c for c, on in zip(self.columns, flags, strict=True) if on]
        if not where:
            return "not installed"
        if where == ["public"]:
            return "public only" if len(self.columns) > 1 else "public"
        if "public" not in where:
            return " and ".join(where) + " only"
        return " and ".join(where)


@dataclass(frozen=True, slots=True)
class Crossing:
    """The relation that points from a public table into tenant-only ones (TF001-TF004)."""

    source: str  # admin.LogEntry.user, or a migration (admin.0001_initial) when no field is known
    source_app: str
    target: str  # users.User, or the app label (contenttypes) for a migration dependency
    target_app: str
    kind: str  # ForeignKey, OneToOneField, ManyToManyField, or "depends on"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding: the rule, where, what breaks, why, and the fix."""

    code: str
    message: str  # one line, what is wrong
    location: Location
    why: str
    fix_summary: str
    severity: Severity = "error"
    prediction: Prediction | None = None
    fixes: tuple[Fix, ...] = field(default_factory=tuple)
    # where it holds when not in every configuration of the settings ("only when ..."),
    # already at the end of ``message``; empty when it holds everywhere
    scope: str = ""
    # TF001-TF004: where the involved apps live before/after the fix, and the relation that
    # crosses from public into tenant schemas (the text output and the PR body draw them)
    placement: tuple[AppPlacement, ...] = ()
    crossing: Crossing | None = None

    @property
    def finding(self) -> str:
        """The message without its scope: the same finding in any configuration."""
        return self.message[: len(self.message) - len(self.scope)] if self.scope else self.message

    @property
    def fixable(self) -> bool:
        return bool(self.fixes)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("location")
        data.update(
            path=self.location.path,
            line=self.location.line,
            column=self.location.column,
            fixable=self.fixable,
            prediction=(
                None
                if self.prediction is None
                else {**asdict(self.prediction), "text": self.prediction.sentence()}
            ),
            fixes=[{**asdict(f), "args": dict(f.args)} for f in self.fixes],
        )
        return data
