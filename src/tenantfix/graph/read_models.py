"""Read an app's model classes and their relation fields with ``ast`` (never importing them).

A class counts as a model when a base is ``models.Model`` (or a name imported from a
``models`` module that is not a manager/field/choices helper), another model of the project, or
when it has a base and a ``Meta`` class or field calls. Relation targets are resolved through the
file's imports to ``app_label.ModelName``; the inheritance of fields from abstract models (also
across apps, e.g. ``AbstractUser``) is applied by :func:`inherit_relations` once all apps are read.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from tenantfix.graph.model import USER_MODEL_SETTING, Location, Model, Relation

RELATION_KINDS = frozenset({"ForeignKey", "OneToOneField", "ManyToManyField"})
_NOT_MODEL_SUFFIXES = (
    "Manager",
    "QuerySet",
    "Field",
    "Choices",
    "Lookup",
    "Transform",
    "Func",
    "Expression",
    "Mixin",
    "Form",
    "Admin",
    "Config",
    "Serializer",
    "Enum",
)


@dataclass(slots=True)
class ImportMap:
    """Names bound by a file's imports: name -> dotted target (module or module.attr)."""

    module: str  # the file's own module, for relative imports
    names: dict[str, str] = field(default_factory=dict)
    user_model_aliases: set[str] = field(default_factory=set)  # User = get_user_model()

    @classmethod
    def of(cls, tree: ast.Module, module: str, is_package: bool) -> ImportMap:
        imports = cls(module)
        package = module if is_package else module.rpartition(".")[0]
        for node in tree.body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        imports.names[alias.asname] = alias.name
                    else:
                        top = alias.name.partition(".")[0]
                        imports.names[top] = top
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    keep = len(parts) - (node.level - 1)
                    prefix = ".".join(parts[: max(keep, 0)])
                    base = f"{prefix}.{base}" if base and prefix else (prefix or base)
                for alias in node.names:
                    if alias.name != "*":
                        imports.names[alias.asname or alias.name] = f"{base}.{alias.name}"
            elif (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and _dotted(node.value.func).endswith("get_user_model")
            ):
                imports.user_model_aliases.update(
                    t.id for t in node.targets if isinstance(t, ast.Name)
                )
        return imports

    def qualify(self, dotted: str) -> str | None:
        head, _, rest = dotted.partition(".")
        target = self.names.get(head)
        if target is None:
            return None
        return f"{target}.{rest}" if rest else target


class TargetResolver:
    """Turns a relation's target expression into ``app_label.Model`` / the user-model setting."""

    def __init__(
        self,
        app_label: str,
        local_classes: Mapping[str, str],
        module_labels: Mapping[str, str],
        setting_models: Mapping[str, str] | None = None,
    ) -> None:
        self.app_label = app_label
        self.local_classes = local_classes  # class name -> app label (this app's models)
        self.module_labels = module_labels  # app module path -> label
        # other model settings we know the value of (TENANT_MODEL -> "tenants.Tenant")
        self.setting_models = setting_models or {}

    def label_of_module(self, module: str) -> str | None:
        parts = module.split(".")
        for end in range(len(parts), 0, -1):
            label = self.module_labels.get(".".join(parts[:end]))
            if label is not None:
                return label
        return None

    def qualified_class(self, qualified: str) -> str | None:
        module, _, name = qualified.rpartition(".")
        label = self.label_of_module(module) if module else None
        return f"{label}.{name}" if label else None

    def resolve(self, node: ast.expr, imports: ImportMap, owner: str | None) -> str | None:
        return resolve_target(target_raw(node, imports), self, owner)


def _dotted(node: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


class SourceText:
    """A file's text with lines split once (``ast.get_source_segment`` re-splits on every call,
    which made it the top cost of a 500-app build)."""

    __slots__ = ("_lines", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._lines: list[bytes] | None = None

    def segment(self, node: ast.expr) -> str:
        end_line, end_col = node.end_lineno, node.end_col_offset
        if end_line is None or end_col is None:
            return ast.unparse(node)
        if self._lines is None:
            self._lines = [line.encode() for line in self.text.splitlines(keepends=True)]
        first, last = node.lineno - 1, end_line - 1
        if first == last:
            return self._lines[first][node.col_offset : end_col].decode()
        chunk = self._lines[first][node.col_offset :] + b"".join(self._lines[first + 1 : last])
        return (chunk + self._lines[last][:end_col]).decode()


# A file's reading is split in two: what depends only on its text and module (``extract_*``,
# plain lists so that the cache can store them as JSON) and the cheap resolution against the
# run's apps and settings (``*_from_raw``). Raw forms:
#   target   [dotted or string, tag, qualified, is_alias, in_imports]; tag "s" string constant,
#            "u" get_user_model(), "d" dotted name ("" when not a name: unresolvable)
#   relation [kind, field_name, target, written, line, column]
#   base     [dotted, qualified, in_imports, unparsed]
#   class    [name, line, column, bases, body_says_model, db_table, abstract, proxy, relations]
RawTarget = list[object]
RawRelation = list[object]


def target_raw(node: ast.expr, imports: ImportMap) -> RawTarget:
    """The part of a relation target that the file alone decides (see :meth:`TargetResolver.resolve`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value, "s", None, False, False]
    if isinstance(node, ast.Call) and _dotted(node.func).endswith("get_user_model"):
        return ["", "u", None, False, False]
    dotted = _dotted(node)
    if not dotted:
        return ["", "d", None, False, False]
    return [
        dotted,
        "d",
        imports.qualify(dotted),
        dotted in imports.user_model_aliases,
        dotted in imports.names,
    ]


def resolve_target(raw: RawTarget, resolver: TargetResolver, owner: str | None) -> str | None:
    value, tag, qualified, is_alias, in_imports = raw
    assert isinstance(value, str)
    if tag == "s":
        if value == "self":
            return f"{resolver.app_label}.{owner}" if owner else None
        if "." in value:
            return value
        return f"{resolver.app_label}.{value}"
    if tag == "u":
        return USER_MODEL_SETTING
    if not value:
        return None
    if value.endswith("AUTH_USER_MODEL"):
        return USER_MODEL_SETTING
    if value.startswith("settings."):
        return resolver.setting_models.get(value.partition(".")[2])
    if is_alias:
        return USER_MODEL_SETTING
    if "." not in value and value in resolver.local_classes and not in_imports:
        return f"{resolver.local_classes[value]}.{value}"
    if not isinstance(qualified, str):
        return None
    return resolver.qualified_class(qualified)


def relation_raw(
    call: ast.Call, field_name: str, imports: ImportMap, source: SourceText, line: int, col: int
) -> RawRelation | None:
    """A raw relation when ``call`` builds a ForeignKey/OneToOneField/ManyToManyField."""
    kind = _dotted(call.func).rpartition(".")[2]
    if kind not in RELATION_KINDS:
        return None
    target_node: ast.expr | None = call.args[0] if call.args else None
    for kw in call.keywords:
        if kw.arg == "to":
            target_node = kw.value
    if target_node is None:
        return None
    return [
        kind,
        field_name,
        target_raw(target_node, imports),
        source.segment(target_node),
        line,
        col,
    ]


def relation_from_raw(
    raw: RawRelation, resolver: TargetResolver, owner: str | None, path: str
) -> Relation:
    kind, field_name, target, written, line, col = raw
    assert isinstance(kind, str) and isinstance(field_name, str) and isinstance(written, str)
    assert isinstance(target, list) and isinstance(line, int) and isinstance(col, int)
    return Relation(
        kind=kind,
        field_name=field_name,
        target=resolve_target(target, resolver, owner),
        written=written,
        location=Location(path, line, col),
    )


def parse_source(text: str, path: Path) -> ast.Module | None:
    """``ast.parse``; ``None`` for a file Python cannot parse (it is skipped, never guessed)."""
    try:
        return ast.parse(text, filename=str(path))
    except (SyntaxError, ValueError):
        return None


def extract_model_file(text: str, path: Path, module: str) -> list[object] | None:
    """The raw classes of one model file (``None`` when it does not parse)."""
    tree = parse_source(text, path)
    if tree is None:
        return None
    imports = ImportMap.of(tree, module, path.name == "__init__.py")
    source = SourceText(text)
    return [
        _class_raw(node, imports, source)
        for node in tree.body
        if isinstance(node, ast.ClassDef) and node.bases
    ]


def read_models(
    files: Iterable[tuple[str, list[object]]],
    app_label: str,
    module_labels: Mapping[str, str],
    setting_models: Mapping[str, str] | None = None,
) -> tuple[Model, ...]:
    """Models of one app from its files' raw classes (``(relative path, raw classes)`` pairs)."""
    classes: list[tuple[str, list[object]]] = [
        (path, cls) for path, raw in files for cls in raw if isinstance(cls, list)
    ]
    # a fixpoint: a class deriving from a local model is a model too
    names: set[str] = set()
    changed = True
    while changed:
        changed = False
        for _, cls in classes:
            name = cls[0]
            assert isinstance(name, str)
            if name not in names and _is_model(cls, names):
                names.add(name)
                changed = True
    resolver = TargetResolver(
        app_label, dict.fromkeys(names, app_label), module_labels, setting_models
    )
    return tuple(
        _model_from_raw(path, cls, app_label, resolver) for path, cls in classes if cls[0] in names
    )


def _is_model(cls: list[object], local_models: set[str]) -> bool:
    bases, body_says_model = cls[3], cls[4]
    assert isinstance(bases, list)
    for dotted, qualified, _in_imports, _unparsed in bases:
        last = dotted.rpartition(".")[2]
        if dotted in local_models:
            return True
        if last == "Model":
            return True
        if ".models" in (qualified or "") and not last.endswith(_NOT_MODEL_SUFFIXES):
            return True
    # unknown bases (a third-party abstract model imported from elsewhere): the body decides
    return body_says_model is True


def _class_raw(node: ast.ClassDef, imports: ImportMap, source: SourceText) -> list[object]:
    db_table: str | None = None
    abstract = proxy = body_says_model = False
    relations: list[RawRelation] = []
    for stmt in node.body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == "Meta":
            body_says_model = True
            for meta in stmt.body:
                if not (
                    isinstance(meta, ast.Assign)
                    and len(meta.targets) == 1
                    and isinstance(meta.targets[0], ast.Name)
                    and isinstance(meta.value, ast.Constant)
                ):
                    continue
                key, value = meta.targets[0].id, meta.value.value
                if key == "db_table" and isinstance(value, str):
                    db_table = value
                elif key == "abstract":
                    abstract = value is True
                elif key == "proxy":
                    proxy = value is True
            continue
        if (
            isinstance(stmt, ast.Assign)
            and isinstance(stmt.value, ast.Call)
            and _dotted(stmt.value.func).endswith(("Field", "ForeignKey"))
        ):
            body_says_model = True
        target: ast.expr | None = None
        value_node: ast.expr | None = None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value_node = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign):
            target, value_node = stmt.target, stmt.value
        if isinstance(target, ast.Name) and isinstance(value_node, ast.Call):
            rel = relation_raw(value_node, target.id, imports, source, stmt.lineno, stmt.col_offset)
            if rel is not None:
                relations.append(rel)
    bases = []
    for base in node.bases:
        dotted = _dotted(base)
        bases.append(
            [
                dotted,
                imports.qualify(dotted),
                dotted in imports.names,
                "" if dotted else ast.unparse(base),
            ]
        )
    return [
        node.name,
        node.lineno,
        node.col_offset,
        bases,
        body_says_model,
        db_table,
        abstract,
        proxy,
        relations,
    ]


def _model_from_raw(
    path: str, cls: list[object], app_label: str, resolver: TargetResolver
) -> Model:
    name, line, col, bases, _, db_table, abstract, proxy, relations = cls
    assert isinstance(name, str) and isinstance(line, int) and isinstance(col, int)
    assert isinstance(bases, list) and isinstance(relations, list)
    assert db_table is None or isinstance(db_table, str)
    return Model(
        app_label=app_label,
        name=name,
        location=Location(path, line, col),
        db_table=db_table,
        abstract=abstract is True,
        proxy=proxy is True,
        bases=tuple(_base_ref(b, resolver) for b in bases),
        relations=tuple(relation_from_raw(r, resolver, name, path) for r in relations),
    )


def _base_ref(base: list[object], resolver: TargetResolver) -> str:
    dotted, qualified, in_imports, unparsed = base
    assert isinstance(dotted, str) and isinstance(unparsed, str)
    if not dotted:
        return unparsed
    if "." not in dotted and dotted in resolver.local_classes and not in_imports:
        return f"{resolver.app_label}.{dotted}"
    if isinstance(qualified, str):
        return resolver.qualified_class(qualified) or qualified
    return dotted


def inherit_relations(models_by_key: Mapping[str, Model]) -> dict[str, Model]:
    """Add the relations of abstract ancestors, and the parent link of multi-table inheritance.

    ``models_by_key`` maps ``app_label.Name`` (as written) of every model of every app.
    """
    result: dict[str, Model] = {}

    def ancestors_relations(model: Model, seen: frozenset[str]) -> list[Relation]:
        inherited: list[Relation] = []
        for base in model.bases:
            parent = models_by_key.get(base)
            if parent is None or base in seen:
                continue
            if parent.abstract:
                inherited.extend(ancestors_relations(parent, seen | {base}))
                inherited.extend(parent.relations)
            elif not model.abstract and not model.proxy:
                inherited.append(
                    Relation(
                        "OneToOneField",
                        f"{parent.name.lower()}_ptr",
                        f"{parent.app_label}.{parent.name}",
                        base,
                        model.location,
                    )
                )
        return inherited

    for key, model in models_by_key.items():
        extra = ancestors_relations(model, frozenset({key}))
        if extra:
            own = {r.field_name for r in model.relations}
            merged = tuple(r for r in extra if r.field_name not in own) + model.relations
            model = replace(model, relations=merged)
        result[key] = model
    return result
