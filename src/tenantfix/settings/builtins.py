"""Builtins and methods settings use to build app lists, evaluated on known values.

``list/tuple/set/frozenset/sorted/reversed/dict.fromkeys``, set algebra as operators and as
methods, ``+``/``*``/slicing, string methods. Anything else returns None (the caller turns that
into an Unknown naming the expression), never a guess.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import replace

from tenantfix.graph.model import Location
from tenantfix.settings.values import (
    Const,
    Mapping_,
    Seq,
    Str,
    Unknown,
    Value,
    first_unknown,
    from_python,
    python_value,
)

BUILTIN_NAMES = frozenset(
    {
        "list",
        "tuple",
        "set",
        "frozenset",
        "sorted",
        "reversed",
        "dict",
        "len",
        "str",
        "bool",
        "int",
        "any",
        "all",
        "print",
    }
)


def seq_of(value: Value, location: Location, kind: str) -> Value:
    """``list(x)``/``tuple(x)``/``set(x)``: the items of a known sequence (or dict keys)."""
    if isinstance(value, Seq):
        return replace(value, derived=True, ordered=value.ordered and kind != "set", kind=kind)
    if isinstance(value, Mapping_):
        keys = tuple(Str(k, value.location) for k, _ in value.items)
        return Seq(keys, location, origin=None, derived=True, ordered=kind != "set", kind=kind)
    if isinstance(value, Str):
        return from_python([*value.value] if kind == "list" else tuple(value.value), location)
    if isinstance(value, Unknown):
        return value
    return Unknown("a sequence built from a value that is not a list", location)


def _dedupe(items: tuple[Value, ...]) -> tuple[Value, ...]:
    seen: set[object] = set()
    out: list[Value] = []
    for item in items:
        key = python_value(item) if not isinstance(item, Unknown) else id(item)
        try:
            hash(key)
        except TypeError:
            out.append(item)
            continue
        if key not in seen:
            seen.add(key)
            out.append(item)
    return tuple(out)


def call_builtin(
    name: str, args: list[Value], kwargs: dict[str, Value], loc: Location
) -> Value | None:
    if name == "print":
        return Const(None, loc)
    if name in {"list", "tuple", "set", "frozenset"}:
        if not args:
            return Seq((), loc, origin=loc, kind="set" if name == "frozenset" else name)
        kind = "set" if name in {"set", "frozenset"} else name
        result = seq_of(args[0], loc, kind)
        if kind == "set" and isinstance(result, Seq):
            # Sets lose order and duplicates; the first spelling of each app is kept.
            result = replace(result, items=_dedupe(result.items), ordered=False)
        return result
    if name in {"sorted", "reversed"}:
        if not args or not isinstance(args[0], Seq) or first_unknown(args[0]) is not None:
            return _unknown_from(args, loc)
        items = list(args[0].items)
        if name == "sorted":
            reverse = kwargs.get("reverse")
            if "key" in kwargs or (reverse is not None and not isinstance(reverse, Const)):
                return None
            descending = bool(reverse.value) if isinstance(reverse, Const) else False
            items.sort(key=lambda v: str(python_value(v)), reverse=descending)
        else:
            items.reverse()
        return replace(args[0], items=tuple(items), derived=True, ordered=True, kind="list")
    if name == "dict":
        if not args and all(True for _ in kwargs):
            return Mapping_(tuple(kwargs.items()), loc)
        if len(args) == 1 and isinstance(args[0], Mapping_):
            return Mapping_((*args[0].items, *kwargs.items()), loc)
        return None
    known = [a for a in args if first_unknown(a) is None]
    if len(known) != len(args):
        return _unknown_from(args, loc)
    plain = [python_value(a) for a in args]
    try:
        if name == "len" and len(plain) == 1:
            return Const(len(plain[0]), loc)  # type: ignore[arg-type]
        if name in {"str", "bool", "int"} and len(plain) <= 1:
            return from_python({"str": str, "bool": bool, "int": int}[name](*plain), loc)
        if name in {"any", "all"} and len(plain) == 1:
            values = plain[0]
            if isinstance(values, list | tuple | frozenset | dict):
                return Const(any(values) if name == "any" else all(values), loc)
    except (TypeError, ValueError):
        return None
    return None


def _unknown_from(args: list[Value], loc: Location) -> Value:
    for arg in args:
        found = first_unknown(arg)
        if found is not None:
            return found
    return Unknown("an argument that is not a list", loc)


_SET_METHODS: dict[str, Callable[[frozenset[object], frozenset[object]], frozenset[object]]] = {
    "union": operator.or_,
    "difference": operator.sub,
    "intersection": operator.and_,
    "symmetric_difference": operator.xor,
}


def set_algebra(op: str, left: Value, right: Value, loc: Location) -> Value | None:
    """``a | b``, ``a - b``, ``a & b``, ``a ^ b`` and the matching methods on known sets.

    Items keep their own locations (the literal that wrote them), order is marked as lost.
    """
    if not (isinstance(left, Seq) and isinstance(right, Seq)):
        return None
    if first_unknown(left) is not None:
        return first_unknown(left)
    if first_unknown(right) is not None:
        return first_unknown(right)
    lvals = {python_value(i): i for i in reversed(left.items)}
    rvals = {python_value(i): i for i in reversed(right.items)}
    try:
        wanted = _SET_METHODS[op](frozenset(lvals), frozenset(rvals))
    except TypeError:
        return None
    ordered_items = [i for i in (*left.items, *right.items) if python_value(i) in wanted]
    items = _dedupe(tuple(ordered_items))
    return Seq(items, loc, origin=None, derived=True, ordered=False, kind="set")


def binop(op: str, left: Value, right: Value, loc: Location) -> Value | None:
    """Arithmetic on known values other than list concatenation (handled by the caller)."""
    if op in {"|", "-", "&", "^"} and isinstance(left, Seq) and left.kind == "set":
        name = {"|": "union", "-": "difference", "&": "intersection", "^": "symmetric_difference"}
        return set_algebra(name[op], left, right, loc)
    if op == "|" and isinstance(left, Mapping_) and isinstance(right, Mapping_):
        merged = left
        for key, value in right.items:
            merged = merged.with_item(key, value)
        return replace(merged, location=loc)
    if (
        op == "*"
        and isinstance(left, Seq)
        and isinstance(right, Const)
        and isinstance(right.value, int)
    ):
        return Seq(left.items * right.value, loc, origin=None, derived=True, kind=left.kind)
    if first_unknown(left) is not None or first_unknown(right) is not None:
        return None
    if isinstance(left, Seq | Mapping_) or isinstance(right, Seq | Mapping_):
        return None
    ops: dict[str, Callable[[object, object], object]] = {
        "+": operator.add,
        "-": operator.sub,
        "*": operator.mul,
        "%": operator.mod,
        "/": operator.truediv,
        "//": operator.floordiv,
    }
    if op not in ops:
        return None
    try:
        return from_python(ops[op](python_value(left), python_value(right)), loc)
    except Exception:
        return None


def call_method(
    target: Value, method: str, args: list[Value], kwargs: dict[str, Value], loc: Location
) -> Value | None:
    """Non-mutating methods: ``.union()``, ``.copy()``, ``.get()``, ``.split()``, ``.join()``..."""
    if isinstance(target, Seq):
        if method in _SET_METHODS and len(args) >= 1:
            result: Value | None = target
            for arg in args:
                other = seq_of(arg, loc, "set")
                if not isinstance(result, Seq) or not isinstance(other, Seq):
                    return other if isinstance(other, Unknown) else None
                result = set_algebra(method, replace(result, kind="set"), other, loc)
            return result
        if method == "copy" and not args:
            return replace(target, derived=True)
        if method in {"index", "count"} and first_unknown(target) is None and len(args) == 1:
            if first_unknown(args[0]) is not None:
                return None
            values = python_value(replace(target, kind="list"))
            assert isinstance(values, list)
            try:
                return Const(getattr(values, method)(python_value(args[0])), loc)
            except ValueError:
                return None
        return None
    if isinstance(target, Mapping_):
        if method == "get" and args and isinstance(args[0], Str):
            found = target.get(args[0].value)
            if found is not None:
                return found
            return args[1] if len(args) > 1 else Const(None, loc)
        if method == "keys" and not args:
            return seq_of(target, loc, "list")
        if method == "values" and not args:
            return Seq(tuple(v for _, v in target.items), loc, origin=None, derived=True)
        if method == "items" and not args:
            pairs = tuple(
                Seq((Str(k, target.location), v), loc, origin=None, derived=True, kind="tuple")
                for k, v in target.items
            )
            return Seq(pairs, loc, origin=None, derived=True)
        if method == "copy" and not args:
            return target
        return None
    if isinstance(target, Str):
        if method == "join" and len(args) == 1 and isinstance(args[0], Seq):
            if first_unknown(args[0]) is not None:
                return None
            parts = [python_value(i) for i in args[0].items]
            if all(isinstance(p, str) for p in parts):
                return Str(target.value.join(parts), loc)  # type: ignore[arg-type]
            return None
        if all(first_unknown(a) is None for a in args) and method in {
            "split",
            "strip",
            "lower",
            "upper",
            "startswith",
            "endswith",
            "replace",
            "format",
            "rstrip",
            "lstrip",
            "partition",
            "rpartition",
            "rsplit",
        }:
            try:
                result_obj = getattr(target.value, method)(*[python_value(a) for a in args])
            except (TypeError, ValueError, IndexError, KeyError):
                return None
            return from_python(result_obj, loc)
    return None
