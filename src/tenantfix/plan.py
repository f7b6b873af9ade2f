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
