"""Evaluate settings modules statically over every configuration they can produce.

A small abstract interpreter over ``ast``: assignments (plain, annotated, augmented, item),
imports of local modules (``from .base import *``), ``if``/``elif``/``else``, ``for`` over known
values, ``try``/``except``, functions defined in the settings that build lists, comprehensions,
builtins, set algebra and the environment readers of :mod:`tenantfix.settings.environ`.

Nothing of the project runs. Where Python would take one path at run time and we cannot tell
which, the evaluation forks (:mod:`tenantfix.settings.configurations`); where a value cannot be
computed it becomes an :class:`Unknown` naming the file, line and expression.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from tenantfix.discover import ProjectLocation, module_file
from tenantfix.errors import SettingsError
from tenantfix.graph.model import Location
from tenantfix.pyast import parse_source
from tenantfix.settings import builtins, environ
from tenantfix.settings.choice import force
from tenantfix.settings.configurations import (
    MAX_CONFIGURATIONS,
    Condition,
    ForkNeeded,
    SettingsRaise,
    World,
    catches,
)
from tenantfix.settings.values import (
    Const,
    EnvReader,
    Function,
    Mapping_,
    Method,
    ModuleRef,
    Seq,
    Str,
    Unknown,
    Value,
    first_unknown,
    python_value,
    truth,
)

WILDCARD = "*"  # namespace key: names a star import of an unreadable module may define
RAISED = "\0raised"  # namespace key holding the exception a configuration is propagating
_MAX_LOOP = 1000
_SOFT_BOUND = 16  # past this many live configurations, merge those the rules cannot tell apart
# What the rules read (tenantfix.settings.extract), plus the markers of raised/unknown imports.
_RELEVANT = frozenset(
    {
        "SHARED_APPS",
        "TENANT_APPS",
        "INSTALLED_APPS",
        "HAS_MULTI_TYPE_TENANTS",
        "TENANT_TYPES",
        "DATABASES",
        "DATABASE_ROUTERS",
        "AUTH_USER_MODEL",
        "TENANT_MODEL",
        "TENANT_DOMAIN_MODEL",
        "\0raised",
        "*",
    }
)
_MAX_CALL_DEPTH = 20

_KNOWN_LIBRARIES = ("os", "environ", "decouple", "dj_database_url", "sys", "pathlib")


class _Return(Exception):
    def __init__(self, value: Value) -> None:
        super().__init__("return")
        self.value = value


@dataclass(slots=True)
class _Raised:
    """A configuration whose settings code raised; it skips statements until an ``except``."""

    error: SettingsRaise


@dataclass(slots=True)
class Evaluator:
    """Runs settings modules; ``files`` lists every file read, ``dropped`` the configurations
    in which the settings raise (Django could not start there)."""

    project: ProjectLocation
    environ: Mapping[str, str] | None = None  # a real environment: no forks on variables
    files: list[str] = field(default_factory=list)
    dropped: list[tuple[tuple[Condition, ...], SettingsRaise]] = field(default_factory=list)
    collapsed: bool = False
    _trees: dict[Path, ast.Module] = field(default_factory=dict)
    _walrus: set[Path] = field(default_factory=set)  # modules whose source has `:=`
    _rel: dict[Path, str] = field(default_factory=dict)
    _stack: list[str] = field(default_factory=list)
    _depth: int = 0
    _try_depth: int = 0

    def fail(self, kind: str, reason: str, location: Location) -> Unknown:
        """Python would raise here. Inside ``try`` that decides the path; elsewhere our reading
        may simply be incomplete (a name set by code we do not follow), so it is unknown."""
        if self._try_depth:
            raise SettingsRaise(kind, reason, location)
        return Unknown(reason, location)

    def loc(self, path: Path, node: ast.AST) -> Location:
        rel = self._rel.get(path)
        if rel is None:  # resolving a path costs a stat per part: once per file
            rel = self._rel[path] = self.project.rel(path)
        return Location(rel, getattr(node, "lineno", 1), getattr(node, "col_offset", 0))

    # -- modules ---------------------------------------------------------------------------
    def parse(self, path: Path) -> ast.Module:
        if path in self._trees:
            return self._trees[path]
        rel = self.project.rel(path)
        try:
            source = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise SettingsError(f"{rel} is not UTF-8 text ({exc.reason})") from None
        except OSError as exc:
            raise SettingsError(f"{rel}: cannot read the settings file ({exc.strerror})") from None
        try:
            tree = parse_source(source)  # shared with the rewrite of this file (pyast)
        except SyntaxError as exc:
            raise SettingsError(
                f"{rel}:{exc.lineno}: the settings file does not parse ({exc.msg}); fix the syntax "
                "error first (python -m py_compile shows it)"
            ) from None
        self.files.append(rel)
        self._trees[path] = tree
        if ":=" in source:
            self._walrus.add(path)
        return tree

    def run_module(self, name: str, path: Path, assumptions: dict[str, Condition]) -> list[World]:
        """Every configuration of module ``name`` given the assumptions made so far."""
        if name in self._stack:
            raise SettingsError(
                f"circular import between settings modules: {' -> '.join([*self._stack, name])}"
            )
        tree = self.parse(path)
        self._stack.append(name)
        try:
            worlds = self.exec_body(
                [World(dict(assumptions), {}, self.environ)], tree.body, _Module(name, path)
            )
        finally:
            self._stack.pop()
        return worlds

    # -- statements ------------------------------------------------------------------------
    def exec_body(self, worlds: list[World], body: list[ast.stmt], module: _Module) -> list[World]:
        # Worlds made by an earlier statement of this body belong to no one else: a plain
        # `NAME = value` may bind in them in place instead of copying the whole namespace
        # (a copy per statement made a settings module of 100,000 assignments quadratic).
        owned: set[int] = set()
        for stmt in body:
            out: list[World] = []
            for world in worlds:
                done = RAISED in world.namespace or (
                    id(world) in owned and self.assign_in_place(world, stmt, module)
                )
                out.extend([world] if done else self.exec_forking(world, stmt, module))
            worlds = self.bound(out)
            counts = Counter(id(w) for w in worlds)
            owned = {key for key, n in counts.items() if n == 1}
        return worlds

    def assign_in_place(self, world: World, stmt: ast.stmt, module: _Module) -> bool:
        """``NAME = value`` (no walrus) bound directly in ``world``; False: not done, run it
        the general way (nothing was changed)."""
        if not (
            isinstance(stmt, ast.Assign)
            and all(isinstance(t, ast.Name) for t in stmt.targets)
            and not (
                module.path in self._walrus
                and any(isinstance(n, ast.NamedExpr) for n in ast.walk(stmt.value))
            )
        ):
            return False
        try:
            value = self.eval(world, stmt.value, module)
        except (ForkNeeded, SettingsRaise):
            return False  # the general path forks or records the raise on a copy
        loc = self.loc(module.path, stmt)
        for target in stmt.targets:
            self.assign(world, target, value, loc, module)
        return True

    def exec_forking(self, world: World, stmt: ast.stmt, module: _Module) -> list[World]:
        """Run ``stmt``; when it needs an undecided run-time fact, once per choice of it."""
        pending = [world]
        done: list[World] = []
        while pending:
            current = pending.pop()
            try:
                done.extend(self.exec_stmt(current, stmt, module))
            except ForkNeeded as fork:
                pending.extend(current.assuming(option) for option in reversed(fork.options))
            except SettingsRaise as error:
                raised = current.copy()
                raised.namespace[RAISED] = Const(_Raised(error), error.location)
                done.append(raised)
        return done

    def bound(self, worlds: list[World]) -> list[World]:
        """Merge identical configurations; past the bound, collapse to one with unknowns."""
        if len(worlds) < 2:
            # nothing to merge; keying the whole namespace after every statement made a
            # megabyte settings module quadratic (0.5 MB: 260 s)
            return worlds
        unique: dict[tuple[object, ...], World] = {}
        for world in worlds:
            key = (tuple(sorted(world.assumptions.items())), _ns_key(world.namespace))
            unique.setdefault(key, world)
        merged = list(unique.values())
        if len(merged) <= _SOFT_BOUND:
            return merged
        # Most forks only change settings no rule reads (ALLOWED_HOSTS under `if DEBUG`):
        # merge configurations that agree on what the rules read. A merged name becomes
        # unknown, so a later decision on it forks again: precision lost, never soundness.
        groups: dict[tuple[object, ...], list[World]] = {}
        for world in merged:
            relevant = {k: v for k, v in world.namespace.items() if k in _RELEVANT}
            groups.setdefault(_ns_key(relevant), []).append(world)
        regrouped = [
            ws[0] if len(ws) == 1 else _collapse(ws, "configurations") for ws in groups.values()
        ]
        if len(regrouped) <= MAX_CONFIGURATIONS:
            return regrouped
        self.collapsed = True
        by_raised: dict[bool, list[World]] = {}
        for world in regrouped:
            by_raised.setdefault(RAISED in world.namespace, []).append(world)
        return [
            _collapse(ws, f"more than {MAX_CONFIGURATIONS} configurations")
            for ws in by_raised.values()
        ]

    def exec_stmt(self, world: World, stmt: ast.stmt, module: _Module) -> list[World]:
        world = world.copy()
        ns = world.namespace
        loc = self.loc(module.path, stmt)
        if isinstance(stmt, ast.ImportFrom):
            return self.exec_import_from(world, stmt, module)
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    ns[alias.asname] = ModuleRef(alias.name, loc)
                else:
                    top = alias.name.partition(".")[0]
                    ns[top] = ModuleRef(top, loc)
            return [world]
        if isinstance(stmt, ast.Assign):
            value = self.eval(world, stmt.value, module)
            for target in stmt.targets:
                self.assign(world, target, value, loc, module)
            return [world]
        if isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                self.assign(world, stmt.target, self.eval(world, stmt.value, module), loc, module)
            return [world]
        if isinstance(stmt, ast.AugAssign):
            self.exec_aug_assign(world, stmt, loc, module)
            return [world]
        if isinstance(stmt, ast.Expr):
            if isinstance(stmt.value, ast.Call):
                self.exec_call_statement(world, stmt.value, loc, module)
            return [world]
        if isinstance(stmt, ast.If):
            branch = self.decide(world, stmt.test, module)
            return self.exec_body([world], stmt.body if branch else stmt.orelse, module)
        if isinstance(stmt, ast.For):
            return self.exec_for(world, stmt, loc, module)
        if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            return self.exec_try(world, stmt, module)  # type: ignore[arg-type]
        if isinstance(stmt, ast.FunctionDef):
            ns[stmt.name] = Function(stmt, module.name, loc, ns)
            return [world]
        if isinstance(stmt, ast.Return):
            value = self.eval(world, stmt.value, module) if stmt.value else Const(None, loc)
            raise _Return(value)
        if isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    ns.pop(target.id, None)
            return [world]
        if isinstance(stmt, ast.Raise):
            kind = _exception_name(stmt.exc) if stmt.exc else "Exception"
            raise SettingsRaise(kind, f"the settings raise {kind}", loc)
        if isinstance(stmt, ast.Pass | ast.Assert | ast.Global | ast.Nonlocal):
            return [world]
        if isinstance(stmt, ast.With):
            return self.exec_body([world], stmt.body, module)
        for name in _assigned_names(stmt):
            ns[name] = Unknown(f"{name} is set by a statement tenantfix cannot follow", loc)
        return [world]

    def exec_import_from(self, world: World, stmt: ast.ImportFrom, module: _Module) -> list[World]:
        ns = world.namespace
        loc = self.loc(module.path, stmt)
        target = _import_target(module, stmt)
        path = module_file(self.project.root, target) if target else None
        if path is None:
            if target and _is_local(self.project.root, module, stmt, target):
                return self.exec_missing_module(world, stmt, target, loc)
            for alias in stmt.names:
                if alias.name == "*":
                    if not (target or "").startswith(_KNOWN_LIBRARIES):
                        ns[WILDCARD] = Unknown(f"names imported with `from {target} import *`", loc)
                else:
                    ns[alias.asname or alias.name] = ModuleRef(f"{target}.{alias.name}", loc)
            return [world]
        results: list[World] = []
        assert target is not None  # a file was found for it
        for imported in self.run_module(target, path, world.assumptions):
            merged = World(dict(imported.assumptions), dict(ns), world.environ)
            if RAISED in imported.namespace:  # the import statement raises what the module raised
                merged.namespace[RAISED] = imported.namespace[RAISED]
                results.append(merged)
                continue
            for alias in stmt.names:
                if alias.name == "*":
                    merged.namespace.update(
                        {k: v for k, v in imported.namespace.items() if not k.startswith("_")}
                    )
                    if WILDCARD in imported.namespace:
                        merged.namespace[WILDCARD] = imported.namespace[WILDCARD]
                else:
                    bound = alias.asname or alias.name
                    value = imported.namespace.get(alias.name)
                    if value is None:
                        sub = module_file(self.project.root, f"{target}.{alias.name}")
                        value = (
                            ModuleRef(f"{target}.{alias.name}", loc)
                            if sub is not None
                            else imported.namespace.get(WILDCARD)
                        )
                    if value is None:
                        raise SettingsRaise(
                            "ImportError", f"cannot import name {alias.name!r} from {target!r}", loc
                        )
                    merged.namespace[bound] = value
            results.append(merged)
        return results

    def exec_missing_module(
        self, world: World, stmt: ast.ImportFrom, target: str, loc: Location
    ) -> list[World]:
        """A local module absent from the checkout (``local_settings.py`` kept out of git):
        it may exist where the project is deployed, so both cases are configurations."""
        key = f"module:{target}"
        choice = world.choice(key)
        if choice is None:
            raise ForkNeeded(
                (
                    Condition(key, "absent", f"`{target}` is absent ({loc})"),
                    Condition(
                        key, "present", f"`{target}` (not in the checkout) is present ({loc})"
                    ),
                )
            )
        if choice == "absent":
            raise SettingsRaise("ModuleNotFoundError", f"No module named {target!r}", loc)
        reason = f"may be set by `{target}`, which is not in the checkout ({loc})"
        for alias in stmt.names:
            if alias.name == "*":
                world.namespace[WILDCARD] = Unknown(reason, loc)
                # every name the module could define is now unknown, the app lists included;
                # one reason for all of them, so that the user reads one note for one cause
                for name in list(world.namespace):
                    if name.isupper():
                        world.namespace[name] = Unknown(reason, loc)
            else:
                world.namespace[alias.asname or alias.name] = Unknown(reason, loc)
        return [world]

    def exec_aug_assign(
        self, world: World, stmt: ast.AugAssign, loc: Location, module: _Module
    ) -> None:
        ns = world.namespace
        right = self.eval(world, stmt.value, module)
        if isinstance(stmt.target, ast.Name):
            name = stmt.target.id
            if name not in ns and WILDCARD not in ns:
                ns[name] = self.fail("NameError", f"name {name!r} is not defined", loc)
                return
            current = force(world, ns.get(name, ns.get(WILDCARD, Unknown(name, loc))))
            ns[name] = self.binary(world, stmt.op, current, right, loc, in_place=True)
            return
        if isinstance(stmt.target, ast.Subscript):
            current = self.eval(world, stmt.target, module)
            new = self.binary(world, stmt.op, force(world, current), right, loc, in_place=True)
            self.assign(world, stmt.target, new, loc, module)
            return
        for name in _names_in(stmt.target):
            ns[name] = Unknown(f"{name} is changed in a way tenantfix cannot follow", loc)

    def exec_call_statement(
        self, world: World, call: ast.Call, loc: Location, module: _Module
    ) -> None:
        """``X.append(...)``, ``X.extend(...)``, ``D.update(...)``; other calls are evaluated."""
        func = call.func
        if isinstance(func, ast.Attribute):
            holder = _root_name(func.value)
            if holder is not None and holder in world.namespace:
                current = force(world, self.eval(world, func.value, module))
                if isinstance(current, Seq | Mapping_):
                    new = self.mutate(world, current, func.attr, call, loc, module)
                    if new is not None:
                        self.assign(world, func.value, new, loc, module, rebinding=False)
                    return
        self.eval(world, call, module)

    def mutate(
        self,
        world: World,
        current: Seq | Mapping_,
        method: str,
        call: ast.Call,
        loc: Location,
        module: _Module,
    ) -> Value | None:
        args = [self.eval(world, a, module) for a in call.args]
        if isinstance(current, Mapping_):
            if method == "update" and len(args) == 1:
                other = force(world, args[0])
                if isinstance(other, Mapping_):
                    for key, value in other.items:
                        current = current.with_item(key, value)
                    return current
            if method == "setdefault" and len(args) == 2:
                wanted = force(world, args[0])
                if isinstance(wanted, Str):
                    if current.get(wanted.value) is not None:
                        return current
                    return current.with_item(wanted.value, args[1])
            if method in {"update", "setdefault", "pop", "clear", "popitem"}:
                return Unknown(f"`{ast.unparse(call)}` cannot be followed statically", loc)
            return None
        if method == "append" and len(args) == 1:
            return replace(current, items=(*current.items, args[0]))
        if method == "add" and len(args) == 1:
            return replace(current, items=(*current.items, args[0]), ordered=False)
        if method in {"extend", "update"} and len(args) == 1:
            return _concat(current, force(world, args[0]), loc, keep_origin=True)
        if method == "insert" and len(args) == 2:
            index = force(world, args[0])
            if isinstance(index, Const) and isinstance(index.value, int):
                items = list(current.items)
                items.insert(index.value, args[1])
                return replace(current, items=tuple(items))
        if method in {"remove", "discard"} and len(args) == 1:
            value = force(world, args[0])
            if isinstance(value, Str):
                items = list(current.items)
                for i, item in enumerate(items):
                    item = force(world, item)
                    if isinstance(item, Str) and item.value == value.value:
                        del items[i]
                        return replace(current, items=tuple(items))
                if method == "remove" and first_unknown(current) is None:
                    return self.fail("ValueError", f"{value.value!r} is not in the list", loc)
                return current
        if method in {
            "append",
            "extend",
            "insert",
            "remove",
            "pop",
            "sort",
            "reverse",
            "clear",
            "add",
            "discard",
            "update",
        }:
            return Unknown(f"`{ast.unparse(call)}` cannot be followed statically", loc)
        return None

    def exec_for(self, world: World, stmt: ast.For, loc: Location, module: _Module) -> list[World]:
        iterable = force(world, self.eval(world, stmt.iter, module))
        items = self.iterate(world, iterable)
        if items is None:
            why = f"set in a `for` loop at {loc} over a value only known at run time"
            for name in _assigned_names(stmt):
                world.namespace[name] = Unknown(f"{name} is {why}", loc)
            return [world]
        worlds = [world]
        for item in items[:_MAX_LOOP]:
            for w in worlds:
                self.assign(w, stmt.target, item, loc, module)
            worlds = self.exec_body(worlds, stmt.body, module)
        return self.exec_body(worlds, stmt.orelse, module)

    def iterate(self, world: World, value: Value) -> list[Value] | None:
        if isinstance(value, Seq):
            return list(value.items)
        if isinstance(value, Mapping_):
            return [Str(k, value.location) for k, _ in value.items]
        if isinstance(value, Str):
            return [Str(c, value.location) for c in value.value]
        return None

    def exec_try(self, world: World, stmt: ast.Try, module: _Module) -> list[World]:
        self._try_depth += 1
        try:
            worlds = self.exec_body([world], stmt.body, module)
        finally:
            self._try_depth -= 1
        done: list[World] = []
        for w in worlds:
            raised = w.namespace.get(RAISED)
            if raised is None:
                done.extend(self.exec_body([w], stmt.orelse, module))
                continue
            assert isinstance(raised, Const) and isinstance(raised.value, _Raised)
            error = raised.value.error
            handler = next(
                (
                    h
                    for h in stmt.handlers
                    if any(catches(n, error.kind) for n in _handler_names(h))
                ),
                None,
            )
            if handler is None:
                done.append(w)
                continue
            caught = w.copy()
            del caught.namespace[RAISED]
            if handler.name:
                caught.namespace[handler.name] = Unknown("an exception object", error.location)
            done.extend(self.exec_body([caught], handler.body, module))
        if stmt.finalbody:
            final: list[World] = []
            for w in done:
                raised = w.namespace.pop(RAISED, None)
                after = self.exec_body([w], stmt.finalbody, module)
                if raised is not None:
                    for a in after:
                        a.namespace.setdefault(RAISED, raised)
                final.extend(after)
            done = final
        return done

    def assign(
        self,
        world: World,
        target: ast.expr,
        value: Value,
        loc: Location,
        module: _Module,
        *,
        rebinding: bool = True,
    ) -> None:
        ns = world.namespace
        if isinstance(target, ast.Name):
            if isinstance(value, Seq) and rebinding:
                if value.origin == value.location and value.origin_name is None:
                    value = replace(value, origin_name=target.id)
                value = replace(value, assigned_at=loc)
            ns[target.id] = value
        elif isinstance(target, ast.Tuple | ast.List):
            concrete = force(world, value)
            if (
                isinstance(concrete, Seq)
                and len(concrete.items) == len(target.elts)
                and not any(isinstance(e, ast.Starred) for e in target.elts)
            ):
                for elt, item in zip(target.elts, concrete.items, strict=True):
                    self.assign(world, elt, item, loc, module)
            else:
                for name in _names_in(target):
                    ns[name] = Unknown(
                        f"{name} is unpacked from a value only known at run time", loc
                    )
        elif isinstance(target, ast.Subscript):
            container = force(world, self.eval(world, target.value, module))
            key = force(world, self.eval(world, target.slice, module))
            new: Value
            if isinstance(container, Mapping_) and isinstance(key, Str):
                new = container.with_item(key.value, value)
            elif (
                isinstance(container, Seq) and isinstance(key, Const) and isinstance(key.value, int)
            ):
                items = list(container.items)
                try:
                    items[key.value] = value
                except IndexError:
                    raise SettingsRaise(
                        "IndexError", "list assignment index out of range", loc
                    ) from None
                new = replace(container, items=tuple(items))
            else:
                root = _root_name(target)
                new = Unknown(f"{root}[...] is assigned with a key only known at run time", loc)
                if root is not None and isinstance(target.value, ast.Name):
                    ns[root] = new
                    return
            self.assign(world, target.value, new, loc, module, rebinding=False)
        elif isinstance(target, ast.Attribute):
            return  # attributes of objects are not settings

    # -- expressions -----------------------------------------------------------------------
    def decide(self, world: World, test: ast.expr, module: _Module) -> bool:
        """The truth of ``test`` in this configuration; forks when only run time knows it."""
        negate = False
        core = test
        while isinstance(core, ast.UnaryOp) and isinstance(core.op, ast.Not):
            negate, core = not negate, core.operand
        value = force(world, self.eval(world, core, module))
        known = truth(value)
        if known is None:
            text = ast.unparse(core)
            key = f"cond:{module.name}:{text}"
            chosen = world.choice(key)
            if chosen is None:
                where = self.loc(module.path, core)
                raise ForkNeeded(
                    (
                        Condition(key, "true", f"`{text}` is true ({where})"),
                        Condition(key, "false", f"`{text}` is false ({where})"),
                    )
                )
            known = chosen == "true"
        return known != negate

    def eval(self, world: World, node: ast.expr, module: _Module) -> Value:
        loc = self.loc(module.path, node)
        ns = world.namespace
        if isinstance(node, ast.Constant):
            return Str(node.value, loc) if isinstance(node.value, str) else Const(node.value, loc)
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            kind = (
                "list"
                if isinstance(node, ast.List)
                else "tuple"
                if isinstance(node, ast.Tuple)
                else "set"
            )
            items: list[Value] = []
            ordered = kind != "set"
            for elt in node.elts:
                if isinstance(elt, ast.Starred):
                    inner = force(world, self.eval(world, elt.value, module))
                    if isinstance(inner, Seq):
                        items.extend(inner.items)
                        # [*list(set(...)), "x"] keeps the set's arbitrary order
                        ordered = ordered and inner.ordered
                    elif isinstance(inner, Mapping_):
                        items.extend(Str(k, inner.location) for k, _ in inner.items)
                    else:
                        return (
                            inner
                            if isinstance(inner, Unknown)
                            else Unknown(f"`{ast.unparse(elt)}` is not a list", loc)
                        )
                else:
                    items.append(self.eval(world, elt, module))
            return Seq(tuple(items), loc, origin=loc, ordered=ordered, kind=kind)
        if isinstance(node, ast.Dict):
            pairs: list[tuple[str, Value]] = []
            for k, v in zip(node.keys, node.values, strict=True):
                if k is None:
                    merged = force(world, self.eval(world, v, module))
                    if not isinstance(merged, Mapping_):
                        return Unknown(f"`**{ast.unparse(v)}` is only known at run time", loc)
                    pairs.extend(merged.items)
                    continue
                key = force(world, self.eval(world, k, module))
                if isinstance(key, Str):
                    pairs.append((key.value, self.eval(world, v, module)))
            return Mapping_(tuple(pairs), loc)
        if isinstance(node, ast.Name):
            if node.id in ns:
                return ns[node.id]
            if WILDCARD in ns:
                return ns[WILDCARD]
            if node.id in builtins.BUILTIN_NAMES:
                return ModuleRef(f"builtins.{node.id}", loc)
            if node.id in {"__file__", "__name__"}:
                return Unknown(f"`{node.id}` is only known at run time", loc)
            return self.fail("NameError", f"name {node.id!r} is not defined", loc)
        if isinstance(node, ast.Attribute):
            base = force(world, self.eval(world, node.value, module))
            if isinstance(base, ModuleRef):
                return ModuleRef(f"{base.dotted}.{node.attr}", loc)
            if isinstance(base, EnvReader | Seq | Mapping_ | Str):
                return Method(base, node.attr, loc)
            return base if isinstance(base, Unknown) else Unknown(f"`{ast.unparse(node)}`", loc)
        if isinstance(node, ast.BinOp):
            left = force(world, self.eval(world, node.left, module))
            right = force(world, self.eval(world, node.right, module))
            return self.binary(world, node.op, left, right, loc)
        if isinstance(node, ast.BoolOp):
            is_and = isinstance(node.op, ast.And)
            last: Value = Const(None, loc)
            for operand in node.values:
                last = force(world, self.eval(world, operand, module))
                if self.decide(world, operand, module) != is_and:
                    return last
            return last
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return Const(not self.decide(world, node.operand, module), loc)
            inner = force(world, self.eval(world, node.operand, module))
            if (
                isinstance(inner, Const)
                and isinstance(inner.value, int | float)
                and isinstance(node.op, ast.USub)
            ):
                return Const(-inner.value, loc)
            return _unknown(node, loc, inner)
        if isinstance(node, ast.Compare):
            return self.compare(world, node, module, loc)
        if isinstance(node, ast.IfExp):
            branch = self.decide(world, node.test, module)
            return self.eval(world, node.body if branch else node.orelse, module)
        if isinstance(node, ast.JoinedStr):
            parts: list[str] = []
            for part in node.values:
                value = force(world, self.eval(world, part, module))
                if isinstance(value, Str):
                    parts.append(value.value)
                elif isinstance(value, Const) and not isinstance(value.value, tuple):
                    parts.append(str(value.value))
                else:
                    return _unknown(node, loc, value)
            return Str("".join(parts), loc)
        if isinstance(node, ast.FormattedValue):
            if node.format_spec is not None or node.conversion not in (-1, 115):
                return Unknown(f"`{ast.unparse(node)}`", loc)
            return self.eval(world, node.value, module)
        if isinstance(node, ast.Subscript):
            return self.subscript(world, node, module, loc)
        if isinstance(node, ast.Call):
            return self.call(world, node, module, loc)
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp):
            return self.comprehension(world, node, module, loc)
        if isinstance(node, ast.DictComp):
            return self.dict_comprehension(world, node, module, loc)
        if isinstance(node, ast.NamedExpr):
            value = self.eval(world, node.value, module)
            ns[node.target.id] = value
            return value
        return Unknown(f"`{ast.unparse(node)}` is only known at run time", loc)

    def binary(
        self,
        world: World,
        op: ast.operator,
        left: Value,
        right: Value,
        loc: Location,
        *,
        in_place: bool = False,
    ) -> Value:
        if isinstance(op, ast.Add) and isinstance(left, Seq) and isinstance(right, Seq):
            return _concat(left, right, loc, keep_origin=in_place)
        if isinstance(left, Unknown):
            return left
        if isinstance(right, Unknown):
            return right
        if in_place and isinstance(op, ast.BitOr) and isinstance(left, Seq) and left.kind == "set":
            combined = builtins.set_algebra("union", left, right, loc)
            if isinstance(combined, Seq):  # `S |= {...}` keeps editing S's literal
                return replace(combined, origin=left.origin, origin_name=left.origin_name)
        symbol = _OPERATORS.get(type(op))
        result = builtins.binop(symbol, left, right, loc) if symbol else None
        if result is not None:
            return result
        return Unknown(f"an operation `{symbol}` tenantfix cannot evaluate", loc)

    def compare(self, world: World, node: ast.Compare, module: _Module, loc: Location) -> Value:
        left = force(world, self.eval(world, node.left, module))
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = force(world, self.eval(world, comparator, module))
            result = _compare_values(world, op, left, right)
            if result is None:
                return Unknown(f"`{ast.unparse(node)}` is only known at run time", loc)
            if not result:
                return Const(False, loc)
            left = right
        return Const(True, loc)

    def subscript(self, world: World, node: ast.Subscript, module: _Module, loc: Location) -> Value:
        base = force(world, self.eval(world, node.value, module))
        if isinstance(base, ModuleRef) and base.dotted == "os.environ":
            key = force(world, self.eval(world, node.slice, module))
            found = environ.environ_subscript(key, loc)
            return found if found is not None else _unknown(node, loc, key)
        if isinstance(node.slice, ast.Slice):
            if not isinstance(base, Seq):
                return _unknown(node, loc, base)
            bounds = []
            for part in (node.slice.lower, node.slice.upper, node.slice.step):
                value = force(world, self.eval(world, part, module)) if part else Const(None, loc)
                if not (
                    isinstance(value, Const)
                    and (value.value is None or isinstance(value.value, int))
                ):
                    return _unknown(node, loc, value)
                bounds.append(value.value)
            sliced = base.items[slice(*bounds)]
            return replace(base, items=sliced, derived=True, origin=None)
        key = force(world, self.eval(world, node.slice, module))
        if isinstance(base, Mapping_) and isinstance(key, Str):
            found_value = base.get(key.value)
            if found_value is None:
                if first_unknown(base) is None:
                    return self.fail(
                        "KeyError",
                        f"{key.value!r} is not a key of `{ast.unparse(node.value)}`",
                        loc,
                    )
                return Unknown(f"`{ast.unparse(node)}` is only known at run time", loc)
            return found_value
        if isinstance(base, Seq) and isinstance(key, Const) and isinstance(key.value, int):
            try:
                return base.items[key.value]
            except IndexError:
                raise SettingsRaise("IndexError", "index out of range", loc) from None
        return _unknown(node, loc, base if isinstance(base, Unknown) else key)

    def call(self, world: World, node: ast.Call, module: _Module, loc: Location) -> Value:
        func = force(world, self.eval(world, node.func, module))
        args: list[Value] = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                inner = force(world, self.eval(world, a.value, module))
                if not isinstance(inner, Seq):
                    return _unknown(node, loc, inner)
                args.extend(inner.items)
            else:
                args.append(self.eval(world, a, module))
        kwargs: dict[str, Value] = {}
        for kw in node.keywords:
            if kw.arg is None:
                return Unknown(f"`{ast.unparse(node)}` passes **kwargs", loc)
            kwargs[kw.arg] = self.eval(world, kw.value, module)
        result: Value | None = None
        if isinstance(func, ModuleRef):
            if func.dotted == "builtins.dict.fromkeys" and args:
                keys = builtins.seq_of(force(world, args[0]), loc, "list")
                fill = args[1] if len(args) > 1 else Const(None, loc)
                if isinstance(keys, Seq):
                    names = [force(world, k) for k in keys.items]
                    strings = [k.value for k in names if isinstance(k, Str)]
                    if len(strings) == len(names):
                        return Mapping_(tuple((k, fill) for k in strings), loc)
            elif func.dotted.startswith("builtins."):
                result = builtins.call_builtin(
                    func.dotted.partition(".")[2],
                    [force(world, a) for a in args],
                    {k: force(world, v) for k, v in kwargs.items()},
                    loc,
                )
            else:
                result = environ.call_module_function(
                    func.dotted, _forced_keys(world, args), kwargs, loc
                )
        elif isinstance(func, EnvReader):
            result = environ.call_env_reader(
                func, None, [force(world, a) for a in args], kwargs, loc
            )
        elif isinstance(func, Method):
            result = self.call_bound(world, func, args, kwargs, loc)
        elif isinstance(func, Function):
            result = self.call_function(world, func, args, kwargs, loc)
        if result is None:
            return _unknown(node, loc, func if isinstance(func, Unknown) else None)
        return result

    def call_bound(
        self,
        world: World,
        method: Method,
        args: list[Value],
        kwargs: dict[str, Value],
        loc: Location,
    ) -> Value | None:
        target = method.target
        if isinstance(target, EnvReader):
            return environ.call_env_reader(
                target, method.name, [force(world, a) for a in args], kwargs, loc
            )
        forced = [force(world, a) for a in args]
        return builtins.call_method(
            target, method.name, forced, {k: force(world, v) for k, v in kwargs.items()}, loc
        )

    def call_function(
        self,
        world: World,
        func: Function,
        args: list[Value],
        kwargs: dict[str, Value],
        loc: Location,
    ) -> Value | None:
        """Run a settings function's body; it decides nothing the caller cannot see."""
        if self._depth >= _MAX_CALL_DEPTH:
            return None
        params = func.node.args
        if params.vararg or params.kwarg or params.kwonlyargs or params.posonlyargs:
            return None
        names = [a.arg for a in params.args]
        defaults = dict(
            zip(names[len(names) - len(params.defaults) :], params.defaults, strict=True)
        )
        module = _Module(func.module, self.project.root / func.location.path)
        local = World(
            world.assumptions,
            {**func.globals, **world.namespace}
            if self._stack and func.module == self._stack[-1]  # called from its own module
            else dict(func.globals),
            world.environ,
        )
        for i, name in enumerate(names):
            if i < len(args):
                local.namespace[name] = args[i]
            elif name in kwargs:
                local.namespace[name] = kwargs[name]
            elif name in defaults:
                local.namespace[name] = self.eval(local, defaults[name], module)
            else:
                return None
        self._depth += 1
        try:
            for stmt in func.node.body:
                results = self.exec_stmt(local, stmt, module)
                if len(results) != 1:
                    return None
                local = results[0]
                if RAISED in local.namespace:
                    raised = local.namespace[RAISED]
                    assert isinstance(raised, Const) and isinstance(raised.value, _Raised)
                    raise raised.value.error
        except _Return as ret:
            return ret.value
        except SettingsRaise:
            return None  # our reading of a function is approximate: unknown, not a crash
        finally:
            self._depth -= 1
        return Const(None, loc)

    def comprehension(
        self,
        world: World,
        node: ast.ListComp | ast.SetComp | ast.GeneratorExp,
        module: _Module,
        loc: Location,
    ) -> Value:
        first_iter = force(world, self.eval(world, node.generators[0].iter, module))
        if isinstance(first_iter, Unknown):
            return first_iter  # the root cause, not "a comprehension is unknown"
        produced: list[Value] = []
        ok = self._generate(
            world,
            node.generators,
            0,
            module,
            lambda w: produced.append(self.eval(w, node.elt, module)),
        )
        if not ok:
            return Unknown(f"`{ast.unparse(node)}` is only known at run time", loc)
        kind = "set" if isinstance(node, ast.SetComp) else "list"
        return Seq(
            tuple(produced), loc, origin=None, derived=True, ordered=kind != "set", kind=kind
        )

    def dict_comprehension(
        self, world: World, node: ast.DictComp, module: _Module, loc: Location
    ) -> Value:
        pairs: list[tuple[str, Value]] = []
        failed: list[bool] = []

        def emit(w: World) -> None:
            key = force(w, self.eval(w, node.key, module))
            if isinstance(key, Str):
                pairs.append((key.value, self.eval(w, node.value, module)))
            else:
                failed.append(True)

        ok = self._generate(world, node.generators, 0, module, emit)
        if not ok or failed:
            return Unknown(f"`{ast.unparse(node)}` is only known at run time", loc)
        return Mapping_(tuple(pairs), loc)

    def _generate(
        self,
        world: World,
        generators: list[ast.comprehension],
        index: int,
        module: _Module,
        emit: Callable[[World], None],
    ) -> bool:
        if index == len(generators):
            emit(world)
            return True
        gen = generators[index]
        iterable = force(world, self.eval(world, gen.iter, module))
        items = self.iterate(world, iterable)
        if items is None:
            return False
        # one scope for the loop variable, rebound per item (a copy per item costs O(n*names))
        inner = World(world.assumptions, dict(world.namespace), world.environ)
        where = self.loc(module.path, gen.target)
        for item in items:
            self.assign(inner, gen.target, item, where, module)
            if all(self.decide(inner, cond, module) for cond in gen.ifs) and not self._generate(
                inner, generators, index + 1, module, emit
            ):
                return False
        return True


# -- helpers -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Module:
    name: str
    path: Path


_OPERATORS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Mod: "%",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
}


def _compare_values(world: World, op: ast.cmpop, left: Value, right: Value) -> bool | None:
    if isinstance(op, ast.In | ast.NotIn):
        found = _contains(world, right, left)
        if found is None:
            return None
        return found if isinstance(op, ast.In) else not found
    if first_unknown(left) is not None or first_unknown(right) is not None:
        return None
    if not all(isinstance(v, Str | Const | Seq | Mapping_) for v in (left, right)):
        return None
    a, b = python_value(left), python_value(right)
    try:
        if isinstance(op, ast.Eq):
            return bool(a == b)
        if isinstance(op, ast.NotEq):
            return bool(a != b)
        if isinstance(op, ast.Is):
            return a is b if a is None or b is None else bool(a == b)
        if isinstance(op, ast.IsNot):
            return a is not b if a is None or b is None else bool(a != b)
        if isinstance(op, ast.Lt):
            return bool(a < b)  # type: ignore[operator]
        if isinstance(op, ast.LtE):
            return bool(a <= b)  # type: ignore[operator]
        if isinstance(op, ast.Gt):
            return bool(a > b)  # type: ignore[operator]
        if isinstance(op, ast.GtE):
            return bool(a >= b)  # type: ignore[operator]
    except TypeError:
        return None
    return None


def _contains(world: World, container: Value, item: Value) -> bool | None:
    if first_unknown(item) is not None or not isinstance(item, Str | Const):
        return None
    wanted = item.value
    if isinstance(container, Seq):
        unknown = False
        for element in container.items:
            element = force(world, element)
            if isinstance(element, Str | Const) and element.value == wanted:
                return True
            if not isinstance(element, Str | Const):
                unknown = True
        return None if unknown else False
    if isinstance(container, Mapping_):
        return any(k == wanted for k, _ in container.items) or (
            None if first_unknown(container) else False
        )
    if isinstance(container, Str) and isinstance(wanted, str):
        return wanted in container.value
    return None


def _concat(left: Value, right: Value, loc: Location, *, keep_origin: bool = False) -> Value:
    if isinstance(left, Unknown):
        return left
    if isinstance(right, Unknown):
        return right
    if not (isinstance(left, Seq) and isinstance(right, Seq)):
        if isinstance(left, Str) and isinstance(right, Str):
            return Str(left.value + right.value, loc)
        return Unknown("`+` of values that are not lists", loc)
    ordered = left.ordered and right.ordered
    items = (*left.items, *right.items)
    if keep_origin:  # `X += [...]`, `X.extend(...)`: additions still belong in X's literal
        return replace(left, items=items, ordered=ordered, derived=left.derived or right.derived)
    # `A + B` builds a new list; edits go to the first operand that is a literal of its own.
    first = next((s for s in (left, right) if not s.derived and s.origin), None)
    return Seq(
        items,
        loc,
        origin=first.origin if first else None,
        origin_name=first.origin_name if first else None,
        derived=True,
        ordered=ordered,
        kind=left.kind,
    )


def _unknown(node: ast.AST, loc: Location, cause: Value | None = None) -> Unknown:
    if isinstance(cause, Unknown):
        return cause
    return Unknown(f"`{ast.unparse(node)}` is only known at run time", loc)


def _forced_keys(world: World, args: list[Value]) -> list[Value]:
    # the variable name of an environment read must be known; the default stays lazy
    return [force(world, args[0]), *args[1:]] if args else []


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Subscript | ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _import_target(module: _Module, node: ast.ImportFrom) -> str | None:
    if not node.level:
        return node.module or ""
    package = module.name.split(".")
    base = package if module.path.name == "__init__.py" else package[:-1]
    up = node.level - 1
    if up > len(base):
        return None
    base = base[: len(base) - up]
    return ".".join([*base, *(node.module.split(".") if node.module else [])])


def _is_local(root: Path, module: _Module, node: ast.ImportFrom, target: str) -> bool:
    """A relative import, or one inside a package of the project: it would be a project file."""
    if node.level:
        return True
    top = target.partition(".")[0]
    return top == module.name.partition(".")[0] or module_file(root, top) is not None


def _handler_names(handler: ast.ExceptHandler) -> Iterator[str | None]:
    if handler.type is None:
        yield None
    elif isinstance(handler.type, ast.Tuple):
        for elt in handler.type.elts:
            yield _exception_name(elt)
    else:
        yield _exception_name(handler.type)


def _exception_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return "Exception"


def _names_in(target: ast.expr) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


def _assigned_names(stmt: ast.stmt) -> list[str]:
    names: list[str] = []
    for node in ast.walk(stmt):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                names.extend(_names_in(t))
        elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For):
            names.extend(_names_in(node.target))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.attr in {"append", "extend", "insert", "remove", "update", "add"}
        ):
            names.append(node.func.value.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.extend(a.asname or a.name for a in node.names if a.name != "*")
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.append(node.name)
    return names


def _ns_key(namespace: dict[str, Value]) -> tuple[object, ...]:
    out: list[object] = []
    for name in sorted(namespace):
        value = namespace[name]
        try:
            hash(value)
            out.append((name, value))
        except TypeError:
            out.append((name, id(value)))
    return tuple(out)


def _collapse(worlds: list[World], between: str) -> World:
    """One configuration standing for many: names equal in all keep their value, others are
    unknown; only assumptions shared by all remain."""
    first = worlds[0]
    shared = {
        k: c for k, c in first.assumptions.items() if all(w.assumptions.get(k) == c for w in worlds)
    }
    names = set().union(*(w.namespace for w in worlds))
    namespace: dict[str, Value] = {}
    for name in names:
        values = [w.namespace.get(name) for w in worlds]
        head = values[0]
        if head is not None and all(v == head for v in values):
            namespace[name] = head
        else:
            where = next(v for v in values if v is not None)
            location = getattr(where, "location", Location("?", 1))
            namespace[name] = Unknown(f"{name} differs between {between} of the settings", location)
    return World(shared, namespace, first.environ)


__all__ = ["RAISED", "WILDCARD", "Evaluator"]
