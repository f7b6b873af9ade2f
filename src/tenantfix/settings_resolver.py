"""Resolve SHARED_APPS, TENANT_APPS and friends from settings files without executing them.

A small abstract interpreter over the settings module's top-level statements (read with
``ast``): assignments, ``+=``, ``X = X + (...)``, ``.append/.extend/.insert/.remove``,
``from .base import *`` and ``from .apps import SHARED_APPS`` of local modules, and the
``list(SHARED_APPS) + [a for a in TENANT_APPS if a not in SHARED_APPS]`` idiom. Anything else
becomes an :class:`Unknown` that remembers the name, file and line, so we report instead of guess.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from pathlib import Path

from tenantfix.discover import ProjectLocation, module_file
from tenantfix.errors import SettingsError
from tenantfix.graph.model import AppList, AppListEntry, Location, ProjectSettings, SettingValue

APP_LIST_NAMES = ("SHARED_APPS", "TENANT_APPS", "INSTALLED_APPS")


@dataclass(frozen=True, slots=True)
class Unknown:
    reason: str
    location: Location


@dataclass(frozen=True, slots=True)
class Str:
    value: str
    location: Location


@dataclass(frozen=True, slots=True)
class Const:
    value: object
    location: Location


@dataclass(frozen=True, slots=True)
class Seq:
    items: tuple[Value, ...]
    location: Location
    origin: Location | None  # the literal that first built this sequence
    origin_name: str | None = None  # the variable that literal was assigned to
    assigned_at: Location | None = None  # the statement that last bound the name
    derived: bool = False
    ordered: bool = True


@dataclass(frozen=True, slots=True)
class Mapping_:
    items: tuple[tuple[str, Value], ...]
    location: Location

    def get(self, key: str) -> Value | None:
        return next((v for k, v in self.items if k == key), None)


Value = Unknown | Str | Const | Seq | Mapping_


@dataclass(slots=True)
class _Module:
    name: str
    path: Path
    namespace: dict[str, Value] = field(default_factory=dict)


class _Resolver:
    def __init__(self, project: ProjectLocation) -> None:
        self.project = project
        self.files: list[str] = []
        self._cache: dict[str, dict[str, Value]] = {}
        self._stack: list[str] = []

    def loc(self, path: Path, node: ast.AST) -> Location:
        return Location(
            self.project.rel(path), getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
        )

    # -- modules -------------------------------------------------------------------------
    def run_module(self, name: str, path: Path) -> dict[str, Value]:
        if name in self._cache:
            return self._cache[name]
        if name in self._stack:
            raise SettingsError(
                f"circular import between settings modules: {' -> '.join([*self._stack, name])}"
            )
        self._stack.append(name)
        rel = self.project.rel(path)
        self.files.append(rel)
        try:
            source = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise SettingsError(f"{rel} is not UTF-8 text ({exc.reason})") from None
        try:
            tree = ast.parse(source, filename=str(path))
        except SyntaxError as exc:
            raise SettingsError(
                f"{rel}:{exc.lineno}: the settings file does not parse ({exc.msg}); fix the syntax "
                "error first (python -m py_compile shows it)"
            ) from None
        module = _Module(name, path)
        self.exec_body(module, tree.body)
        self._stack.pop()
        self._cache[name] = module.namespace
        return module.namespace

    def resolve_import(self, module: _Module, node: ast.ImportFrom) -> tuple[str, Path] | None:
        if node.level:
            package = module.name.split(".")
            is_package = module.path.name == "__init__.py"
            base = package if is_package else package[:-1]
            up = node.level - 1
            if up > len(base):
                return None
            base = base[: len(base) - up]
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
        else:
            target = node.module or ""
        path = module_file(self.project.root, target)
        return (target, path) if path else None

    # -- statements ----------------------------------------------------------------------
    def exec_body(
        self, module: _Module, body: list[ast.stmt], conditional: str | None = None
    ) -> None:
        for stmt in body:
            self.exec_stmt(module, stmt, conditional)

    def exec_stmt(self, module: _Module, stmt: ast.stmt, conditional: str | None) -> None:
        ns = module.namespace
        loc = self.loc(module.path, stmt)
        if conditional is not None:
            for name in _assigned_names(stmt):
                ns[name] = Unknown(f"{name} is changed inside {conditional}", loc)
            return
        if isinstance(stmt, ast.ImportFrom):
            self.exec_import_from(module, stmt)
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                bound = alias.asname or alias.name.partition(".")[0]
                ns[bound] = Unknown(f"{bound} is the module {alias.name}", loc)
        elif isinstance(stmt, ast.Assign):
            value = self.eval(module, stmt.value)
            for target in stmt.targets:
                self.assign(module, target, value, loc)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            self.assign(module, stmt.target, self.eval(module, stmt.value), loc)
        elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
            name = stmt.target.id
            current = ns.get(name, Unknown(f"{name} is extended before it is defined", loc))
            if isinstance(stmt.op, ast.Add):
                ns[name] = _concat(current, self.eval(module, stmt.value), loc, keep_origin=True)
            else:
                ns[name] = Unknown(
                    f"{name} is changed with an operator tenantfix cannot follow", loc
                )
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            self.exec_method_call(module, stmt.value, loc)
        elif isinstance(stmt, ast.If):
            test = self.eval(module, stmt.test)
            if isinstance(test, Const) and not isinstance(test.value, Unknown):
                self.exec_body(module, stmt.body if test.value else stmt.orelse)
            else:
                why = f"an `if` at {loc} whose condition is only known at run time"
                self.exec_body(module, stmt.body, why)
                self.exec_body(module, stmt.orelse, why)
        elif isinstance(stmt, ast.For) and isinstance(stmt.target, ast.Name) and not stmt.orelse:
            self.exec_for(module, stmt, loc)
        elif isinstance(stmt, ast.Try):
            # settings commonly do `try: from .local import * except ImportError: pass`
            self.exec_body(module, stmt.body)
            self.exec_body(module, stmt.orelse)
            self.exec_body(module, stmt.finalbody)
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            ns[stmt.name] = Unknown(f"{stmt.name} is a function or class", loc)
        else:
            for name in _assigned_names(stmt):
                ns[name] = Unknown(f"{name} is set by a statement tenantfix cannot follow", loc)

    def exec_for(self, module: _Module, stmt: ast.For, loc: Location) -> None:
        """Unroll a loop over a known list or dict (django-tenants' multi-type idiom:
        ``for schema in TENANT_TYPES: INSTALLED_APPS += [...]``)."""
        assert isinstance(stmt.target, ast.Name)
        iterable = self.eval(module, stmt.iter)
        if isinstance(iterable, Mapping_):
            items: list[Value] = [Str(key, loc) for key, _ in iterable.items]
        elif isinstance(iterable, Seq):
            items = list(iterable.items)
        else:
            self.exec_body(
                module, stmt.body, f"a `for` loop at {loc} over a value only known at run time"
            )
            return
        for item in items:
            module.namespace[stmt.target.id] = item
            self.exec_body(module, stmt.body)

    def exec_import_from(self, module: _Module, stmt: ast.ImportFrom) -> None:
        ns = module.namespace
        loc = self.loc(module.path, stmt)
        resolved = self.resolve_import(module, stmt)
        if resolved is None:
            for alias in stmt.names:
                if alias.name != "*":
                    bound = alias.asname or alias.name
                    ns[bound] = Unknown(f"{bound} is imported from {stmt.module or '.'}", loc)
            return
        imported = self.run_module(*resolved)
        for alias in stmt.names:
            if alias.name == "*":
                ns.update({k: v for k, v in imported.items() if not k.startswith("_")})
            else:
                bound = alias.asname or alias.name
                ns[bound] = imported.get(
                    alias.name, Unknown(f"{alias.name} is not defined in {resolved[0]}", loc)
                )

    def exec_method_call(self, module: _Module, call: ast.Call, loc: Location) -> None:
        func = call.func
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            return
        name, method = func.value.id, func.attr
        current = module.namespace.get(name)
        if not isinstance(current, Seq):
            return
        args = [self.eval(module, a) for a in call.args]
        if method == "append" and len(args) == 1:
            module.namespace[name] = replace(current, items=(*current.items, args[0]))
        elif method == "extend" and len(args) == 1:
            module.namespace[name] = _concat(current, args[0], loc, keep_origin=True)
        elif (
            method == "insert"
            and len(args) == 2
            and isinstance(args[0], Const)
            and isinstance(args[0].value, int)
        ):
            items = list(current.items)
            items.insert(args[0].value, args[1])
            module.namespace[name] = replace(current, items=tuple(items))
        elif method == "remove" and len(args) == 1 and isinstance(args[0], Str):
            value = args[0].value
            items = list(current.items)
            for i, item in enumerate(items):
                if isinstance(item, Str) and item.value == value:
                    del items[i]
                    break
            module.namespace[name] = replace(current, items=tuple(items))
        elif method in {"append", "extend", "insert", "remove", "pop", "sort", "reverse", "clear"}:
            module.namespace[name] = Unknown(
                f"{name}.{method}(...) cannot be followed statically", loc
            )

    def assign(self, module: _Module, target: ast.expr, value: Value, loc: Location) -> None:
        if isinstance(target, ast.Name):
            if (
                isinstance(value, Seq)
                and value.origin == value.location
                and value.origin_name is None
            ):
                value = replace(value, origin_name=target.id)
            if isinstance(value, Seq):
                value = replace(value, assigned_at=loc)
            module.namespace[target.id] = value
        elif isinstance(target, ast.Tuple | ast.List):
            for name in _names_in(target):
                module.namespace[name] = Unknown(f"{name} is unpacked from a tuple", loc)
        elif isinstance(target, ast.Subscript):
            root = target
            while isinstance(root, ast.Subscript):
                root = root.value  # type: ignore[assignment]
            if isinstance(root, ast.Name):
                module.namespace[root.id] = Unknown(f"{root.id}[...] is assigned item by item", loc)

    # -- expressions ---------------------------------------------------------------------
    def eval(self, module: _Module, node: ast.expr) -> Value:
        loc = self.loc(module.path, node)
        ns = module.namespace
        if isinstance(node, ast.Constant):
            return Str(node.value, loc) if isinstance(node.value, str) else Const(node.value, loc)
        if isinstance(node, ast.List | ast.Tuple):
            items: list[Value] = []
            for elt in node.elts:
                if isinstance(elt, ast.Starred):
                    inner = self.eval(module, elt.value)
                    if isinstance(inner, Seq):
                        items.extend(inner.items)
                    else:
                        items.append(inner)
                else:
                    items.append(self.eval(module, elt))
            return Seq(tuple(items), loc, origin=loc)
        if isinstance(node, ast.Set):
            return Seq(
                tuple(self.eval(module, e) for e in node.elts), loc, origin=loc, ordered=False
            )
        if isinstance(node, ast.Dict):
            pairs: list[tuple[str, Value]] = []
            for k, v in zip(node.keys, node.values, strict=True):
                if isinstance(k, ast.Constant) and isinstance(k.value, str):
                    pairs.append((k.value, self.eval(module, v)))
            return Mapping_(tuple(pairs), loc)
        if isinstance(node, ast.Name):
            return ns.get(
                node.id,
                Unknown(f"{node.id} is not defined in {self.project.rel(module.path)}", loc),
            )
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return _concat(self.eval(module, node.left), self.eval(module, node.right), loc)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            fname = node.func.id
            if fname in {"list", "tuple"} and len(node.args) == 1 and not node.keywords:
                inner = self.eval(module, node.args[0])
                return replace(inner, derived=True) if isinstance(inner, Seq) else inner
            if fname == "set" and len(node.args) == 1:
                inner = self.eval(module, node.args[0])
                return (
                    replace(inner, derived=True, ordered=False) if isinstance(inner, Seq) else inner
                )
        if isinstance(node, ast.ListComp):
            return self.eval_comprehension(module, node, loc)
        if isinstance(node, ast.Subscript):
            base = self.eval(module, node.value)
            key = self.eval(module, node.slice)
            if isinstance(base, Mapping_) and isinstance(key, Str):
                got = base.get(key.value)
                if got is not None:
                    return got
        return Unknown(f"`{ast.unparse(node)}` is only known at run time", loc)

    def eval_comprehension(self, module: _Module, node: ast.ListComp, loc: Location) -> Value:
        """``[a for a in TENANT_APPS if a not in SHARED_APPS]`` and plain ``[a for a in X]``."""
        if len(node.generators) != 1:
            return Unknown(f"`{ast.unparse(node)}` is only known at run time", loc)
        gen = node.generators[0]
        if not (
            isinstance(gen.target, ast.Name)
            and isinstance(node.elt, ast.Name)
            and node.elt.id == gen.target.id
        ):
            return Unknown(f"`{ast.unparse(node)}` is only known at run time", loc)
        source = self.eval(module, gen.iter)
        if not isinstance(source, Seq):
            return (
                source
                if isinstance(source, Unknown)
                else Unknown("comprehension over a non-list", loc)
            )
        items = list(source.items)
        for cond in gen.ifs:
            if not (
                isinstance(cond, ast.Compare)
                and len(cond.ops) == 1
                and isinstance(cond.ops[0], ast.In | ast.NotIn)
                and isinstance(cond.left, ast.Name)
                and cond.left.id == gen.target.id
            ):
                return Unknown(f"`{ast.unparse(node)}` is only known at run time", loc)
            other = self.eval(module, cond.comparators[0])
            if not isinstance(other, Seq):
                return other if isinstance(other, Unknown) else Unknown("comprehension filter", loc)
            members = {i.value for i in other.items if isinstance(i, Str)}
            keep_in = isinstance(cond.ops[0], ast.In)
            items = [i for i in items if isinstance(i, Str) and ((i.value in members) == keep_in)]
        return Seq(tuple(items), loc, origin=None, derived=True)


def _concat(left: Value, right: Value, loc: Location, *, keep_origin: bool = False) -> Value:
    if isinstance(left, Unknown):
        return left
    if isinstance(right, Unknown):
        return right
    if not (isinstance(left, Seq) and isinstance(right, Seq)):
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
    )


def _names_in(target: ast.expr) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


def _assigned_names(stmt: ast.stmt) -> list[str]:
    names: list[str] = []
    for node in ast.walk(stmt):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                names.extend(_names_in(t))
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            names.extend(_names_in(node.target))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.attr in {"append", "extend", "insert", "remove"}
        ):
            names.append(node.func.value.id)
        elif isinstance(node, ast.ImportFrom):
            names.extend(a.asname or a.name for a in node.names if a.name != "*")
    return names


# -- public API ------------------------------------------------------------------------------
def _app_list(name: str, value: Value, key_path: tuple[str, ...] = ()) -> AppList:
    label = name + "".join(f"[{k!r}]" for k in key_path)
    if isinstance(value, Unknown):
        raise SettingsError(
            f"{value.location}: cannot resolve {label} statically: {value.reason}. tenantfix reads "
            "settings without running them; write the list literally (or in a module the settings "
            "import), or pass --settings with a module that defines it"
        )
    if not isinstance(value, Seq):
        raise SettingsError(f"{value.location}: {label} is not a list or tuple")
    entries: list[AppListEntry] = []
    for item in value.items:
        if not isinstance(item, Str):
            where = item.location if isinstance(item, Unknown | Const) else value.location
            reason = item.reason if isinstance(item, Unknown) else "not a string"
            raise SettingsError(
                f"{where}: an entry of {label} cannot be resolved statically: {reason}"
            )
        entries.append(AppListEntry(item.value, item.location))
    return AppList(
        name=name,
        entries=tuple(entries),
        origin=value.origin,
        origin_name=value.origin_name,
        assigned_at=value.assigned_at,
        key_path=key_path,
        derived=value.derived,
        ordered=value.ordered,
    )


def _setting(ns: dict[str, Value], name: str) -> SettingValue | None:
    value = ns.get(name)
    if value is None:
        return None
    if isinstance(value, Str):
        return SettingValue(value.value, value.location)
    where = value.location
    raise SettingsError(f"{where}: cannot resolve {name} statically; write it as a string literal")


def resolve_settings(project: ProjectLocation) -> ProjectSettings:
    """Statically evaluate the settings module; raise SettingsError naming file and name."""
    resolver = _Resolver(project)
    ns = resolver.run_module(project.settings_module, project.settings_path)
    lists: dict[str, AppList | None] = {
        name: (_app_list(name, ns[name]) if name in ns else None) for name in APP_LIST_NAMES
    }
    tenant_types: list[tuple[str, AppList]] = []
    multi = ns.get("HAS_MULTI_TYPE_TENANTS")
    has_multi = isinstance(multi, Const) and multi.value is True
    types_value = ns.get("TENANT_TYPES")
    if has_multi:
        if not isinstance(types_value, Mapping_):
            where = (
                types_value.location
                if types_value
                else Location(project.rel(project.settings_path), 1)
            )
            raise SettingsError(
                f"{where}: HAS_MULTI_TYPE_TENANTS is set but TENANT_TYPES cannot be resolved statically"
            )
        for type_name, spec in types_value.items:
            apps = spec.get("APPS") if isinstance(spec, Mapping_) else None
            if apps is not None:
                tenant_types.append(
                    (type_name, _app_list("TENANT_TYPES", apps, (type_name, "APPS")))
                )
    engine = None
    databases = ns.get("DATABASES")
    if isinstance(databases, Mapping_):
        default = databases.get("default")
        if isinstance(default, Mapping_):
            raw = default.get("ENGINE")
            if isinstance(raw, Str):
                engine = SettingValue(raw.value, raw.location)
    routers_value = ns.get("DATABASE_ROUTERS")
    routers = None
    if isinstance(routers_value, Seq):
        routers = tuple(
            SettingValue(i.value, i.location) for i in routers_value.items if isinstance(i, Str)
        )
    all_values = [e.value for lst in lists.values() if lst for e in lst.entries]
    return ProjectSettings(
        module=project.settings_module,
        path=project.rel(project.settings_path),
        files=tuple(resolver.files),
        shared_apps=lists["SHARED_APPS"],
        tenant_apps=lists["TENANT_APPS"],
        installed_apps=lists["INSTALLED_APPS"],
        tenant_types=tuple(tenant_types),
        has_multi_type_tenants=has_multi,
        auth_user_model=_setting(ns, "AUTH_USER_MODEL"),
        tenant_model=_setting(ns, "TENANT_MODEL"),
        tenant_domain_model=_setting(ns, "TENANT_DOMAIN_MODEL"),
        database_routers=routers,
        database_engine=engine,
        legacy_tenant_schemas="tenant_schemas" in all_values,
    )
