"""Configurations: the settings a deployment can produce, one per combination of run-time facts.

Evaluation starts as one configuration. A branch on a value only known at run time forks it:
both sides of an ``if``, an environment variable set or unset, an optional module present or
absent. Each configuration carries the assumptions that made it, which is how findings name
the situations they hold in ("when `DEBUG` is true (proj/settings.py:38)").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tenantfix.graph.model import Location
from tenantfix.settings.values import Value

MAX_CONFIGURATIONS = 64


@dataclass(frozen=True, slots=True, order=True)
class Condition:
    """One run-time assumption: ``key`` identifies the fact, ``text`` says it to a user."""

    key: str  # "env:DEBUG", "if:proj/settings.py:38", "module:proj.local"
    choice: str  # "set"/"unset", "true"/"false", "present"/"absent"
    text: str  # "`DEBUG` is true (proj/settings.py:38)"

    def __str__(self) -> str:
        return self.text


class ForkNeeded(Exception):
    """Raised inside evaluation: the statement must run again once per ``options``."""

    def __init__(self, options: tuple[Condition, ...]) -> None:
        super().__init__(options[0].key)
        self.options = options


class SettingsRaise(Exception):
    """The settings code itself raises in this configuration (``NameError``, ``KeyError``...).

    ``try``/``except`` catches it by class name; uncaught, the configuration cannot start
    (Django would fail to import the settings), so it is dropped.
    """

    def __init__(self, kind: str, reason: str, location: Location) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.location = location


# Python's exception hierarchy, as far as settings code catches it.
_PARENTS = {
    "ModuleNotFoundError": "ImportError",
    "ImportError": "Exception",
    "NameError": "Exception",
    "KeyError": "LookupError",
    "IndexError": "LookupError",
    "LookupError": "Exception",
    "AttributeError": "Exception",
    "ValueError": "Exception",
    "TypeError": "Exception",
    "ImproperlyConfigured": "Exception",
    "Exception": "BaseException",
}


def catches(handler: str | None, kind: str) -> bool:
    """Does ``except handler`` catch a raised ``kind``? (None = bare ``except:``)."""
    if handler is None:
        return True
    current: str | None = kind
    while current is not None:
        if current == handler:
            return True
        current = _PARENTS.get(current)
    return False


@dataclass(slots=True)
class World:
    """One configuration under evaluation: its assumptions and the current module's names."""

    assumptions: dict[str, Condition] = field(default_factory=dict)
    namespace: dict[str, Value] = field(default_factory=dict)
    # A real environment to read instead of forking on each variable (``--probe``).
    environ: Mapping[str, str] | None = None

    def copy(self) -> World:
        return World(dict(self.assumptions), dict(self.namespace), self.environ)

    def assuming(self, condition: Condition) -> World:
        world = self.copy()
        world.assumptions[condition.key] = condition
        return world

    def choice(self, key: str) -> str | None:
        found = self.assumptions.get(key)
        return found.choice if found else None

    @property
    def conditions(self) -> tuple[Condition, ...]:
        return tuple(sorted(self.assumptions.values()))
