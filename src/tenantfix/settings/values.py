"""The values the settings evaluator computes: known strings, constants, lists, dicts, or Unknown.

Everything is frozen: a configuration forks by copying its namespace, never by mutating values
another configuration shares.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from tenantfix.graph.model import Location

if TYPE_CHECKING:
    from tenantfix.settings.configurations import Condition, SettingsRaise


@dataclass(frozen=True, slots=True)
class Unknown:
    """A value only known at run time; ``reason`` says why, ``location`` where it was made."""

    reason: str
    location: Location


@dataclass(frozen=True, slots=True)
class Str:
    value: str
    location: Location


@dataclass(frozen=True, slots=True)
class Const:
    """``True``, ``42``, ``None``...: anything but a string."""

    value: object
    location: Location


@dataclass(frozen=True, slots=True)
class Seq:
    """A list, tuple or set and the literal that built it (where codemods edit it)."""

    items: tuple[Value, ...]
    location: Location
    origin: Location | None  # the literal that first built this sequence
    origin_name: str | None = None  # the variable that literal was assigned to
    assigned_at: Location | None = None  # the statement that last bound the name
    derived: bool = False
    ordered: bool = True
    kind: str = "list"  # "list" | "tuple" | "set": decides what methods exist


@dataclass(frozen=True, slots=True)
class Mapping_:
    items: tuple[tuple[str, Value], ...]
    location: Location

    def get(self, key: str) -> Value | None:
        return next((v for k, v in self.items if k == key), None)

    def with_item(self, key: str, value: Value) -> Mapping_:
        kept = tuple((k, v) for k, v in self.items if k != key)
        return replace(self, items=(*kept, (key, value)))


@dataclass(frozen=True, slots=True)
class ModuleRef:
    """An imported module (``os``, ``environ``) or a name imported from one (``os.getenv``)."""

    dotted: str
    location: Location


@dataclass(frozen=True, slots=True)
class Function:
    """A function defined in the settings (or a module they import): evaluated on call."""

    node: ast.FunctionDef
    module: str  # where it was defined
    location: Location
    # the defining module's names (shared, so later definitions are visible at call time)
    globals: dict[str, Value] = field(compare=False, hash=False, repr=False, default_factory=dict)


@dataclass(frozen=True, slots=True)
class EnvReader:
    """``environ.Env(...)`` (django-environ) with its schema defaults, or decouple's config."""

    kind: str  # "django-environ" | "decouple"
    defaults: tuple[tuple[str, Value], ...]
    location: Location


@dataclass(frozen=True, slots=True)
class Choice:
    """One value per choice of ``key`` (``env:DEBUG`` unset → the default, set → unknown).

    Resolved lazily by :func:`tenantfix.settings.choice.force`, so only values something
    decides on fork the evaluation.
    """

    key: str
    alternatives: tuple[tuple[Condition, Value | SettingsRaise], ...]
    location: Location
    # How a known environment value reads (casts, URLs); used when evaluating with a real
    # environment (``--probe``) instead of "set = unknown".
    read: Callable[[str], Value] | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class Method:
    """``x.union`` / ``env.list``: a method of a known value, waiting for its call."""

    target: Value
    name: str
    location: Location


Value = Unknown | Str | Const | Seq | Mapping_ | ModuleRef | Function | EnvReader | Choice | Method


def is_known(value: Value) -> bool:
    if isinstance(value, Unknown):
        return False
    if isinstance(value, Seq):
        return all(is_known(i) for i in value.items)
    if isinstance(value, Mapping_):
        return all(is_known(v) for _, v in value.items)
    return True


def first_unknown(value: Value) -> Unknown | None:
    """The first Unknown inside ``value`` (itself, an item, a dict value), else None."""
    if isinstance(value, Unknown):
        return value
    if isinstance(value, Seq):
        for item in value.items:
            found = first_unknown(item)
            if found is not None:
                return found
    if isinstance(value, Mapping_):
        for _, item in value.items:
            found = first_unknown(item)
            if found is not None:
                return found
    return None


def python_value(value: Value) -> object:
    """The plain Python value of a fully known value (for comparisons and ``in``)."""
    if isinstance(value, Str | Const):
        return value.value
    if isinstance(value, Seq):
        items = [python_value(i) for i in value.items]
        if value.kind == "set":
            try:
                return frozenset(items)
            except TypeError:
                return tuple(items)
        return tuple(items) if value.kind == "tuple" else items
    if isinstance(value, Mapping_):
        return {k: python_value(v) for k, v in value.items}
    raise TypeError(f"no plain value for {type(value).__name__}")


def from_python(obj: object, location: Location) -> Value:
    """The value for a plain Python object computed from known values."""
    if isinstance(obj, str):
        return Str(obj, location)
    if isinstance(obj, list | tuple | set | frozenset):
        kind = "list" if isinstance(obj, list) else "tuple" if isinstance(obj, tuple) else "set"
        return Seq(
            tuple(from_python(i, location) for i in obj),
            location,
            origin=None,
            derived=True,
            ordered=kind != "set",
            kind=kind,
        )
    if isinstance(obj, dict):
        return Mapping_(tuple((str(k), from_python(v, location)) for k, v in obj.items()), location)
    return Const(obj, location)


def truth(value: Value) -> bool | None:
    """Python's truthiness of a known value; None when it depends on run time."""
    if isinstance(value, Str | Const):
        return bool(value.value)
    if isinstance(value, Seq):  # each item is one element, even when its value is unknown
        return bool(value.items)
    if isinstance(value, Mapping_):
        return bool(value.items)
    if isinstance(value, ModuleRef | Function | EnvReader | Method):
        return True
    return None
