"""Read an app's migration files with ``ast``: dependencies, flags and table-making operations.

Django's loader takes every module of the ``migrations`` package whose name does not start with
``_`` or ``~``; we list ``*.py`` files the same way. Only the ``Migration`` class is read:
``dependencies`` (tuples and ``swappable_dependency(settings.X)``), ``initial``, ``replaces``,
``run_before`` and, from ``operations``, ``CreateModel`` (table, proxy/managed/swappable and relation
fields), ``AddField``/``AlterField`` relations, ``AlterModelTable``, what ``RunPython``/``RunSQL``
read (:mod:`tenantfix.graph.read_code_operations`) and every operation's class name.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tenantfix.graph.model import CodeOperation, CreatedModel, Dependency, Location, Migration
from tenantfix.graph.read_code_operations import (
    ModuleContext,
    code_operation,
    last_name,
    module_functions,
    resolve_imported,
    string_value,
)
from tenantfix.graph.read_models import (
    RELATION_KINDS,
    ImportMap,
    SourceText,
    TargetResolver,
    parse_source,
    relation_from_raw,
    relation_raw,
)

_CREATE_MODEL_ARGS = ("name", "fields", "options", "bases", "managers")
_FIELD_OP_ARGS = ("model_name", "name", "field")


def migration_files(directory: Path) -> list[Path]:
    """The files Django's MigrationLoader would load from ``directory``, sorted by name."""
    try:
        names = sorted(
            p for p in directory.iterdir() if p.suffix == ".py" and p.name[0] not in "_~"
        )
    except OSError:
        return []
    return [p for p in names if p.is_file()]


def read_migration(
    path: Path,
    rel: str,
    app_label: str,
    app_module: str,
    resolver: TargetResolver,
    swappable_labels: Mapping[str, str],
) -> Migration | None:
    """One migration file; ``None`` when it does not parse or holds no ``Migration`` class.

    ``swappable_labels`` maps a setting name (``AUTH_USER_MODEL``) to the app label its value
    names, so a swappable dependency points at the right app.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    raw = extract_migration(text, path, migration_module(app_module, path))
    if raw is None:
        return None
    return migration_from_raw(raw, path.stem, rel, app_label, resolver, swappable_labels)


def migration_module(app_module: str, path: Path) -> str:
    return f"{app_module}.migrations.{path.stem}"


def extract_migration(text: str, path: Path, module: str) -> dict[str, list[object]] | None:
    """What a migration file says by itself (plain lists for the cache, see
    :mod:`tenantfix.graph.read_models` for the raw relation form); ``None`` when it does not
    parse or holds no ``Migration`` class. Dependencies are ``[app, name, None]`` or, for
    ``swappable_dependency(settings.X)``, ``[None, "__first__", "X"]``."""
    tree = parse_source(text, path)
    if tree is None:
        return None
    cls = next(
        (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Migration"), None
    )
    if cls is None:
        return None
    source = SourceText(text)
    imports = ImportMap.of(tree, module, False)
    deps: list[object] = []
    run_before: list[object] = []
    replaces: list[object] = []
    initial = False
    created: list[object] = []
    added: list[object] = []
    altered: list[object] = []
    code_ops: list[object] = []
    kinds: list[object] = []
    # module_labels=None: imported model classes stay raw dotted paths, resolved per run below
    context = ModuleContext("", module_functions(tree), imports, None)
    for stmt in cls.body:
        if not (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            continue
        key, value = stmt.targets[0].id, stmt.value
        if key == "dependencies":
            deps.extend(_dependencies(value))
        elif key == "run_before":
            run_before.extend(_pairs(value))
        elif key == "replaces":
            replaces.extend(_pairs(value))
        elif key == "initial":
            initial = isinstance(value, ast.Constant) and value.value is True
        elif key == "operations" and isinstance(value, (ast.List, ast.Tuple)):
            for index, op in enumerate(value.elts):
                if not isinstance(op, ast.Call):
                    kinds.append("")  # an operation built elsewhere: not an autodetector one
                    continue
                kind = last_name(op.func)
                kinds.append(kind)
                if kind in ("RunPython", "RunSQL"):
                    read = code_operation(op, index, context)
                    if read is not None:
                        code_ops.append(_code_operation_raw(read))
                    continue
                args = _call_args(op)
                if kind == "CreateModel":
                    cm = _create_model(args, source, imports)
                    if cm is not None:
                        created.append(cm)
                elif kind in ("AddField", "AlterField"):
                    model_name = string_value(args.get("model_name"))
                    field_name = string_value(args.get("name"))
                    fld = args.get("field")
                    if model_name and field_name and isinstance(fld, ast.Call):
                        r = relation_raw(fld, field_name, imports, source, op.lineno, op.col_offset)
                        if r is not None:
                            added.append([model_name, r])
                elif kind == "AlterModelTable":
                    model_name = string_value(args.get("name"))
                    table = args.get("table")
                    if model_name and isinstance(table, ast.Constant):
                        altered.append(
                            [model_name, table.value if isinstance(table.value, str) else None]
                        )
    return {
        "at": [cls.lineno, cls.col_offset],
        "dependencies": deps,
        "run_before": run_before,
        "replaces": replaces,
        "initial": [initial],
        "created": created,
        "added": added,
        "altered": altered,
        "code": code_ops,
        "kinds": kinds,
    }


def migration_from_raw(
    raw: Mapping[str, list[Any]],
    name: str,
    rel: str,
    app_label: str,
    resolver: TargetResolver,
    swappable_labels: Mapping[str, str],
) -> Migration:
    """The :class:`Migration` of :func:`extract_migration`'s result, for this run's apps."""
    line, col = raw["at"]
    deps = tuple(
        Dependency(a, b)
        if setting is None
        else Dependency(swappable_labels.get(setting, ""), b, setting)
        for a, b, setting in raw["dependencies"]
    )
    created = tuple(
        CreatedModel(
            name=model,
            db_table=db_table,
            relations=tuple(relation_from_raw(r, resolver, model, rel) for r in relations),
            proxy=proxy,
            managed=managed,
            swappable=swappable,
        )
        for model, db_table, relations, proxy, managed, swappable in raw["created"]
    )
    return Migration(
        app_label=app_label,
        name=name,
        location=Location(rel, line, col),
        dependencies=deps,
        run_before=tuple((a, b) for a, b in raw["run_before"]),
        replaces=tuple((a, b) for a, b in raw["replaces"]),
        initial=raw["initial"][0] is True,
        created_models=created,
        added_relations=tuple(
            (model, relation_from_raw(r, resolver, model, rel)) for model, r in raw["added"]
        ),
        altered_tables=tuple((model, table) for model, table in raw["altered"]),
        code_operations=tuple(
            _code_operation(op, rel, resolver.module_labels) for op in raw["code"]
        ),
        operation_kinds=tuple(raw["kinds"]),
    )


def _code_operation_raw(op: CodeOperation) -> list[object]:
    # read with an empty path: the file's path is the run's (a scratch copy has another root)
    return [
        op.kind,
        op.location.line,
        op.location.column,
        op.index,
        [[ref, at.line, at.column] for ref, at in op.models],
        [[table, at.line, at.column] for table, at in op.tables],
        op.schemas,
        op.complete,
        op.function,
    ]


def _code_operation(raw: list[Any], rel: str, module_labels: Mapping[str, str]) -> CodeOperation:
    kind, line, col, index, models, tables, schemas, complete, function = raw
    refs = [
        (resolve_imported(ref, module_labels), at_line, at_col) for ref, at_line, at_col in models
    ]
    return CodeOperation(
        kind,
        Location(rel, line, col),
        index,
        models=tuple(
            (ref, Location(rel, at_line, at_col))
            for ref, at_line, at_col in refs
            if ref is not None
        ),
        tables=tuple((name, Location(rel, at_line, at_col)) for name, at_line, at_col in tables),
        schemas=schemas,
        complete=complete,
        function=function,
    )


def _call_args(call: ast.Call) -> dict[str, ast.expr]:
    names = _CREATE_MODEL_ARGS if last_name(call.func) == "CreateModel" else _FIELD_OP_ARGS
    args: dict[str, ast.expr] = dict(zip(names, call.args, strict=False))
    args.update({kw.arg: kw.value for kw in call.keywords if kw.arg})
    return args


def _pairs(node: ast.expr) -> list[list[str]]:
    out: list[list[str]] = []
    if isinstance(node, (ast.List, ast.Tuple)):
        for item in node.elts:
            if isinstance(item, (ast.Tuple, ast.List)) and len(item.elts) == 2:
                a, b = (string_value(e) for e in item.elts)
                if a is not None and b is not None:
                    out.append([a, b])
    return out


def _dependencies(node: ast.expr) -> list[list[str | None]]:
    deps: list[list[str | None]] = []
    if not isinstance(node, (ast.List, ast.Tuple)):
        return deps
    for item in node.elts:
        if isinstance(item, (ast.Tuple, ast.List)) and len(item.elts) == 2:
            a, b = (string_value(e) for e in item.elts)
            if a is not None and b is not None:
                deps.append([a, b, None])
        elif isinstance(item, ast.Call) and last_name(item.func) == "swappable_dependency":
            arg = item.args[0] if item.args else None
            if isinstance(arg, ast.Attribute):
                deps.append([None, "__first__", arg.attr])
            elif isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                # swappable_dependency("users.User"): a plain dependency on that app
                deps.append([arg.value.partition(".")[0], "__first__", None])
    return deps


def _create_model(
    args: dict[str, ast.expr], source: SourceText, imports: ImportMap
) -> list[object] | None:
    name = string_value(args.get("name"))
    if name is None:
        return None
    relations: list[object] = []
    fields = args.get("fields")
    if isinstance(fields, (ast.List, ast.Tuple)):
        for item in fields.elts:
            if not (isinstance(item, ast.Tuple) and len(item.elts) == 2):
                continue
            field_name = string_value(item.elts[0])
            call = item.elts[1]
            if field_name and isinstance(call, ast.Call) and last_name(call.func) in RELATION_KINDS:
                r = relation_raw(call, field_name, imports, source, item.lineno, item.col_offset)
                if r is not None:
                    relations.append(r)
    db_table: str | None = None
    proxy = False
    managed = True
    swappable: str | None = None
    options = args.get("options")
    if isinstance(options, ast.Dict):
        for k, v in zip(options.keys, options.values, strict=False):
            key = string_value(k) if k is not None else None
            if key == "db_table":
                db_table = string_value(v)
            elif key == "proxy":
                proxy = isinstance(v, ast.Constant) and v.value is True
            elif key == "managed":
                managed = not (isinstance(v, ast.Constant) and v.value is False)
            elif key == "swappable":
                swappable = string_value(v)
    return [name, db_table, relations, proxy, managed, swappable]
