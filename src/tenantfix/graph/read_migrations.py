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

from tenantfix.graph.model import (
    CodeOperation,
    CreatedModel,
    Dependency,
    Location,
    Migration,
    Relation,
)
from tenantfix.graph.read_code_operations import code_operation, module_functions
from tenantfix.graph.read_models import (
    RELATION_KINDS,
    ImportMap,
    SourceText,
    TargetResolver,
    relation_of,
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
        tree = ast.parse(text, filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    cls = next(
        (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Migration"), None
    )
    if cls is None:
        return None
    source = SourceText(text)
    imports = ImportMap.of(tree, f"{app_module}.migrations.{path.stem}", False)
    name = path.stem
    deps: list[Dependency] = []
    run_before: list[tuple[str, str]] = []
    replaces: list[tuple[str, str]] = []
    initial = False
    created: list[CreatedModel] = []
    added: list[tuple[str, Relation]] = []
    altered: list[tuple[str, str | None]] = []
    code_ops: list[CodeOperation] = []
    kinds: list[str] = []
    functions = module_functions(tree)
    for stmt in cls.body:
        if not (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            continue
        key, value = stmt.targets[0].id, stmt.value
        if key == "dependencies":
            deps.extend(_dependencies(value, swappable_labels))
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
                kind = _last(op.func)
                kinds.append(kind)
                if kind in ("RunPython", "RunSQL"):
                    read = code_operation(op, index, rel, functions)
                    if read is not None:
                        code_ops.append(read)
                    continue
                args = _call_args(op)
                if kind == "CreateModel":
                    cm = _create_model(args, rel, source, imports, resolver)
                    if cm is not None:
                        created.append(cm)
                elif kind in ("AddField", "AlterField"):
                    model_name = _str(args.get("model_name"))
                    field_name = _str(args.get("name"))
                    fld = args.get("field")
                    if model_name and field_name and isinstance(fld, ast.Call):
                        r = relation_of(
                            fld,
                            field_name,
                            resolver,
                            imports,
                            model_name,
                            source,
                            Location(rel, op.lineno, op.col_offset),
                        )
                        if r is not None:
                            added.append((model_name, r))
                elif kind == "AlterModelTable":
                    model_name = _str(args.get("name"))
                    table = args.get("table")
                    if model_name and isinstance(table, ast.Constant):
                        altered.append(
                            (model_name, table.value if isinstance(table.value, str) else None)
                        )
    return Migration(
        app_label=app_label,
        name=name,
        location=Location(rel, cls.lineno, cls.col_offset),
        dependencies=tuple(deps),
        run_before=tuple(run_before),
        replaces=tuple(replaces),
        initial=initial,
        created_models=tuple(created),
        added_relations=tuple(added),
        altered_tables=tuple(altered),
        code_operations=tuple(code_ops),
        operation_kinds=tuple(kinds),
    )


def _last(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _str(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _call_args(call: ast.Call) -> dict[str, ast.expr]:
    names = _CREATE_MODEL_ARGS if _last(call.func) == "CreateModel" else _FIELD_OP_ARGS
    args: dict[str, ast.expr] = dict(zip(names, call.args, strict=False))
    args.update({kw.arg: kw.value for kw in call.keywords if kw.arg})
    return args


def _pairs(node: ast.expr) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if isinstance(node, (ast.List, ast.Tuple)):
        for item in node.elts:
            if isinstance(item, (ast.Tuple, ast.List)) and len(item.elts) == 2:
                a, b = (_str(e) for e in item.elts)
                if a is not None and b is not None:
                    out.append((a, b))
    return out


def _dependencies(node: ast.expr, swappable_labels: Mapping[str, str]) -> list[Dependency]:
    deps: list[Dependency] = []
    if not isinstance(node, (ast.List, ast.Tuple)):
        return deps
    for item in node.elts:
        if isinstance(item, (ast.Tuple, ast.List)) and len(item.elts) == 2:
            a, b = (_str(e) for e in item.elts)
            if a is not None and b is not None:
                deps.append(Dependency(a, b))
        elif isinstance(item, ast.Call) and _last(item.func) == "swappable_dependency":
            arg = item.args[0] if item.args else None
            if isinstance(arg, ast.Attribute):
                setting = arg.attr
                deps.append(Dependency(swappable_labels.get(setting, ""), "__first__", setting))
            elif isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                # swappable_dependency("users.User"): a plain dependency on that app
                deps.append(Dependency(arg.value.partition(".")[0], "__first__"))
    return deps


def _create_model(
    args: dict[str, ast.expr],
    rel: str,
    source: SourceText,
    imports: ImportMap,
    resolver: TargetResolver,
) -> CreatedModel | None:
    name = _str(args.get("name"))
    if name is None:
        return None
    relations: list[Relation] = []
    fields = args.get("fields")
    if isinstance(fields, (ast.List, ast.Tuple)):
        for item in fields.elts:
            if not (isinstance(item, ast.Tuple) and len(item.elts) == 2):
                continue
            field_name = _str(item.elts[0])
            call = item.elts[1]
            if field_name and isinstance(call, ast.Call) and _last(call.func) in RELATION_KINDS:
                r = relation_of(
                    call,
                    field_name,
                    resolver,
                    imports,
                    name,
                    source,
                    Location(rel, item.lineno, item.col_offset),
                )
                if r is not None:
                    relations.append(r)
    db_table: str | None = None
    proxy = False
    managed = True
    swappable: str | None = None
    options = args.get("options")
    if isinstance(options, ast.Dict):
        for k, v in zip(options.keys, options.values, strict=False):
            key = _str(k) if k is not None else None
            if key == "db_table":
                db_table = _str(v)
            elif key == "proxy":
                proxy = isinstance(v, ast.Constant) and v.value is True
            elif key == "managed":
                managed = not (isinstance(v, ast.Constant) and v.value is False)
            elif key == "swappable":
                swappable = _str(v)
    return CreatedModel(
        name=name,
        db_table=db_table,
        relations=tuple(relations),
        proxy=proxy,
        managed=managed,
        swappable=swappable,
    )
