"""What a migration's ``RunPython`` and ``RunSQL`` operations read, with ``ast``.

``RunPython(forwards)``: the function is looked up among the migration module's top-level
``def``s (a lambda is read in place); every ``<x>.get_model("app", "Model")`` /
``<x>.get_model("app.Model")`` call in it is a model it uses, and a call to another top-level
function of the module is followed (``forwards`` calling ``_copy_rows(apps)``). A real model class
the migration module imports (``from shop.models import Order`` then ``Order.objects...``, or
``User = get_user_model()``) queries the same table and counts too (GeoSight-OS's data migrations
do this). A function imported from elsewhere, or ``get_model`` with a computed name, makes the read
incomplete: never a finding by itself. django-tenants' ``@tenant_migration`` (``tenant_schema=True, public_schema=False`` by
default) limits where the function body runs.

``RunSQL(sql)``: the tables named after ``FROM``, ``INTO``, ``UPDATE``, ``JOIN``, ``ALTER TABLE``,
``TRUNCATE`` and ``REFERENCES`` in constant SQL strings (schema-qualified names are skipped: they
do not depend on the search path).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from tenantfix.graph.model import USER_MODEL_SETTING, CodeOperation, Location
from tenantfix.graph.read_models import ImportMap

_SQL_TABLE = re.compile(
    r"""\b(?:from|into|update|join|alter\s+table(?:\s+only)?|truncate(?:\s+table)?|references)
        \s+(?:only\s+)?"?([a-z_][a-z0-9_$]*)"?(\s*\.)?""",
    re.IGNORECASE | re.VERBOSE,
)


def last_name(node: ast.expr) -> str:
    """``migrations.RunPython`` -> ``RunPython``; ``RunSQL`` -> ``RunSQL``; else ``""``."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def string_value(node: ast.expr | None) -> str | None:
    """The text of a string literal, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _arg(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    found = next((kw.value for kw in call.keywords if kw.arg == keyword), None)
    if found is not None:
        return found
    return call.args[position] if len(call.args) > position else None


Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True, slots=True)
class ModuleContext:
    """What a migration module binds: its top-level functions, imports, and the installed
    apps' module paths (``shop`` -> label ``shop``) to name imported model classes."""

    rel: str
    functions: dict[str, Function]
    imports: ImportMap
    module_labels: (
        Mapping[str, str] | None
    )  # None: keep imported classes raw (``@shop.models.Order``)


def code_operation(op: ast.Call, index: int, ctx: ModuleContext) -> CodeOperation | None:
    """The operation read from ``op`` (``None`` when it is neither RunPython nor RunSQL)."""
    kind = last_name(op.func)
    rel, functions = ctx.rel, ctx.functions
    location = Location(rel, op.lineno, op.col_offset)
    if kind == "RunSQL":
        tables, complete = _sql_tables(_arg(op, 0, "sql"), rel)
        return CodeOperation(kind, location, index, tables=tables, complete=complete)
    if kind != "RunPython":
        return None
    code = _arg(op, 0, "code")
    if isinstance(code, ast.Lambda):
        reader = _Reader(ctx)
        reader.scan(code.body)
        return CodeOperation(
            kind, location, index, models=tuple(reader.models), complete=reader.complete
        )
    if isinstance(code, ast.Name) and code.id in functions:
        func = functions[code.id]
        reader = _Reader(ctx)
        reader.follow(code.id)
        return CodeOperation(
            kind,
            location,
            index,
            models=tuple(reader.models),
            schemas=_schemas(func),
            complete=reader.complete,
            function=code.id,
        )
    return CodeOperation(kind, location, index, complete=False)


def module_functions(tree: ast.Module) -> dict[str, Function]:
    return {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


class _Reader:
    def __init__(self, ctx: ModuleContext) -> None:
        self.ctx = ctx
        self.rel = ctx.rel
        self.functions = ctx.functions
        self.models: list[tuple[str, Location]] = []
        self.complete = True
        self.seen: set[str] = set()

    def follow(self, name: str) -> None:
        if name in self.seen:
            return
        self.seen.add(name)
        for stmt in self.functions[name].body:
            self.scan(stmt)

    def scan(self, node: ast.AST) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                imported = self._imported_model(sub.id)
                if imported is not None and all(r != imported for r, _ in self.models):
                    self.models.append((imported, Location(self.rel, sub.lineno, sub.col_offset)))
                continue
            if not isinstance(sub, ast.Call):
                continue
            if isinstance(sub.func, ast.Attribute) and sub.func.attr == "get_model":
                ref = _model_ref(sub)
                if ref is None:
                    self.complete = False
                elif all(r != ref for r, _ in self.models):
                    self.models.append((ref, Location(self.rel, sub.lineno, sub.col_offset)))
            elif isinstance(sub.func, ast.Name) and sub.func.id in self.functions:
                self.follow(sub.func.id)

    def _imported_model(self, name: str) -> str | None:
        """``settings.AUTH_USER_MODEL`` for a ``get_user_model()`` alias, ``label.Class`` for a
        class imported from an installed app's ``models`` module."""
        if name in self.ctx.imports.user_model_aliases:
            return USER_MODEL_SETTING
        target = self.ctx.imports.names.get(name)
        if target is None or ".models" not in target or not target.rpartition(".")[2][:1].isupper():
            return None
        raw = IMPORTED + target
        if self.ctx.module_labels is None:
            return raw
        return resolve_imported(raw, self.ctx.module_labels)


IMPORTED = "@"  # marks a model reference still written as the imported dotted path


def resolve_imported(ref: str, module_labels: Mapping[str, str]) -> str | None:
    """``@shop.models.Order`` -> ``shop.Order`` (``None`` when no installed app has that models
    module); any other reference unchanged."""
    if not ref.startswith(IMPORTED):
        return ref
    module, _, cls = ref[len(IMPORTED) :].rpartition(".")
    label = module_labels.get(module.partition(".models")[0])
    return f"{label}.{cls}" if label is not None else None


def _model_ref(call: ast.Call) -> str | None:
    args = [string_value(a) for a in call.args]
    keywords = {kw.arg: string_value(kw.value) for kw in call.keywords if kw.arg}
    app = keywords.get("app_label") or (args[0] if args else None)
    model = keywords.get("model_name") or (args[1] if len(args) > 1 else None)
    if app and model is None and "." in app and len(call.args) + len(call.keywords) == 1:
        return app  # get_model("app.Model")
    if app and model and "." not in app:
        return f"{app}.{model}"
    return None


def _schemas(func: Function) -> str:
    for deco in func.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if last_name(target) != "tenant_migration":
            continue
        tenant, public = True, False
        if isinstance(deco, ast.Call):
            for kw in deco.keywords:
                if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, bool):
                    if kw.arg == "tenant_schema":
                        tenant = kw.value.value
                    elif kw.arg == "public_schema":
                        public = kw.value.value
        if tenant and public:
            return "all"
        return "tenant" if tenant else ("public" if public else "none")
    return "all"


def _sql_tables(node: ast.expr | None, rel: str) -> tuple[tuple[tuple[str, Location], ...], bool]:
    tables: list[tuple[str, Location]] = []
    complete = True
    for text, where in _sql_strings(node):
        if text is None:
            complete = False
            continue
        for match in _SQL_TABLE.finditer(text):
            if match.group(2):  # schema.table: not resolved through the search path
                continue
            name = match.group(1)
            if all(t != name for t, _ in tables):
                tables.append((name, Location(rel, where.lineno, where.col_offset)))
    return tuple(tables), complete


def _sql_strings(node: ast.expr | None) -> Iterator[tuple[str | None, ast.expr]]:
    if node is None:
        return
    if isinstance(node, (ast.List, ast.Tuple)):
        for item in node.elts:
            # [(sql, params)] pairs or plain strings
            if isinstance(item, (ast.List, ast.Tuple)) and item.elts:
                yield string_value(item.elts[0]), item
            else:
                yield string_value(item), item
        return
    yield string_value(node), node
