"""Helpers shared by the codemods that point relations at ``settings.AUTH_USER_MODEL``.

They answer three questions about a module: which name ``django.conf.settings`` is bound to
(and whether an import must be added), which import binds the root name of an expression we
replace (so it can be removed once unused), and whether a call creates a relation field.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodContext, SkipFile
from libcst.codemod.visitors import RemoveImportsVisitor
from libcst.helpers import get_absolute_module_from_package_for_import, get_full_name_for_node
from libcst.metadata import ImportAssignment, Scope

SETTING = "AUTH_USER_MODEL"
RELATION_FIELDS = ("ForeignKey", "OneToOneField", "ManyToManyField")

# libcst resolves relative imports against the file's package; the codemods do not know it,
# so both the scheduled removal and the removal pass use this stand-in package (deep enough
# for any realistic number of leading dots).
_STAND_IN_PACKAGE = ".".join(f"_tenantfix{i}" for i in range(12))

ImportKey = tuple[str, "str | None", "str | None"]


def settings_name(scope: Scope) -> tuple[str, bool]:
    """The name to write ``<name>.AUTH_USER_MODEL`` with, and whether it must be imported.

    Raises ``SkipFile`` when ``settings`` is already bound to something else: adding
    ``from django.conf import settings`` would shadow it.
    """
    for assignment in scope.assignments:
        if not isinstance(assignment, ImportAssignment):
            continue
        node = assignment.node
        if not isinstance(node, cst.ImportFrom):
            continue
        if (
            node.relative
            or node.module is None
            or get_full_name_for_node(node.module) != "django.conf"
        ):
            continue
        if isinstance(node.names, cst.ImportStar):
            continue
        for alias in node.names:
            if (
                alias.evaluated_name == "settings"
                and (alias.evaluated_alias or "settings") == assignment.name
            ):
                return assignment.name, False
    if scope.assignments["settings"]:
        raise SkipFile("`settings` is bound to something other than django.conf.settings here")
    return "settings", True


def setting_reference(name: str) -> cst.Attribute:
    return cst.Attribute(value=cst.Name(name), attr=cst.Name(SETTING))


def is_setting_reference(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Attribute) and node.attr.value == SETTING


def root_name(node: cst.BaseExpression) -> cst.Name | None:
    """``User`` → ``User``; ``auth_models.User`` → ``auth_models``; ``get_user_model()`` → its function."""
    while True:
        if isinstance(node, cst.Name):
            return node
        if isinstance(node, cst.Attribute):
            node = node.value
        elif isinstance(node, cst.Call):
            node = node.func
        else:
            return None


def import_binding(scope: Scope, name: str) -> ImportKey | None:
    """The ``(module, obj, asname)`` of the import that binds ``name`` in ``scope``, if any."""
    for assignment in scope[name]:
        if not isinstance(assignment, ImportAssignment):
            continue
        node = assignment.node
        if isinstance(node, cst.Import):
            for alias in node.names:
                bound = alias.evaluated_alias or alias.evaluated_name.partition(".")[0]
                if bound == name:
                    return (alias.evaluated_name, None, alias.evaluated_alias)
        elif isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar):
            module = get_absolute_module_from_package_for_import(_STAND_IN_PACKAGE, node)
            if module is None:
                return None
            for alias in node.names:
                if (alias.evaluated_alias or alias.evaluated_name) == name:
                    return (module, alias.evaluated_name, alias.evaluated_alias)
    return None


def remove_unused_imports(
    tree: cst.Module, imports: list[ImportKey], filename: str | None
) -> cst.Module:
    """Remove exactly these imports, each only if nothing in ``tree`` uses it any more."""
    if not imports:
        return tree
    context = CodemodContext(filename=filename, full_package_name=_STAND_IN_PACKAGE)
    return RemoveImportsVisitor(context, imports).transform_module(tree)


def is_relation_call(node: cst.Call) -> bool:
    name = get_full_name_for_node(node.func) or ""
    return name.rpartition(".")[2].endswith(RELATION_FIELDS)


def target_arg(node: cst.Call) -> cst.Arg | None:
    """The argument naming a relation's target: ``to=`` or the first positional argument."""
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == "to":
            return arg
    first = node.args[0] if node.args else None
    if first is not None and first.keyword is None and not first.star:
        return first
    return None


def string_value(node: cst.BaseExpression) -> str | None:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None
