"""Point a model field's relation at settings.AUTH_USER_MODEL instead of a hard-coded user model.

Why: with a custom user model, ``'auth.User'`` or ``from django.contrib.auth.models import User``
targets the swapped-out model (``fields.E301``, and ``relation "auth_user" does not exist`` in
migrations made from it); ``'users.User'``, an imported ``User`` class or ``get_user_model()``
work only while the setting and the app import order stay as they are. Django's docs: "always
use settings.AUTH_USER_MODEL" when a field relates to the user model.

Fix safety: safe. Only the target argument (``to=`` or the first positional one) of the named
field of the named model class changes; ``from django.conf import settings`` is added when
missing; the import the old target used is removed only if nothing else uses it. Arguments:
``model`` (class name) and ``field`` (attribute name).
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.metadata import ScopeProvider

from tenantfix.codemod import TenantCodemod, register
from tenantfix_codemods import _user_model_refs as refs

_SUMMARY = (__doc__ or "").strip().splitlines()[0]


@register
class UseAuthUserModelSetting(TenantCodemod):
    """Replace the target of ``<model>.<field>`` with ``settings.AUTH_USER_MODEL``."""

    DESCRIPTION = _SUMMARY
    METADATA_DEPENDENCIES = (ScopeProvider,)

    def __init__(self, context: CodemodContext, *, model: str, field: str) -> None:
        super().__init__(context)
        self.model = model
        self.field = field
        self._scope_stack: list[str | None] = []  # class names; None for a function body
        self._field_call: cst.Call | None = None
        self._found = False
        self._settings: tuple[str, bool] | None = None
        self._module_scope: cst.metadata.Scope | None = None
        self._imports: list[refs.ImportKey] = []

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        tree = super().transform_module_impl(tree)
        if not self._found:
            self.warn(f"no relation field {self.model}.{self.field} in this file")
        return refs.remove_unused_imports(tree, self._imports, self.context.filename)

    def visit_Module(self, node: cst.Module) -> None:
        self._module_scope = self.get_metadata(ScopeProvider, node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._scope_stack.append(node.name.value)

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        self._scope_stack.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._scope_stack.append(None)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self._scope_stack.pop()
        return updated_node

    def _in_model_body(self) -> bool:
        return bool(self._scope_stack) and self._scope_stack[-1] == self.model

    def visit_Assign(self, node: cst.Assign) -> None:
        names = {t.target.value for t in node.targets if isinstance(t.target, cst.Name)}
        if self._in_model_body() and self.field in names and isinstance(node.value, cst.Call):
            self._field_call = node.value

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if (
            self._in_model_body()
            and isinstance(node.target, cst.Name)
            and node.target.value == self.field
            and isinstance(node.value, cst.Call)
        ):
            self._field_call = node.value

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if original_node is not self._field_call:
            return updated_node
        self._field_call = None
        if not refs.is_relation_call(original_node):
            return updated_node
        original_arg = refs.target_arg(original_node)
        if original_arg is None:
            return updated_node
        self._found = True
        target = original_arg.value
        if refs.is_setting_reference(target):
            return updated_node
        if not self._replaceable(target):
            self.warn(
                f"{self.model}.{self.field}: target {cst.Module([]).code_for_node(target)!r} "
                "is not a plain model reference; left unchanged"
            )
            return updated_node
        self._schedule_import_removal(target)
        name = self._settings_name()
        index = original_node.args.index(original_arg)
        args = list(updated_node.args)
        args[index] = args[index].with_changes(value=refs.setting_reference(name))
        return updated_node.with_changes(args=args)

    @staticmethod
    def _replaceable(target: cst.BaseExpression) -> bool:
        value = refs.string_value(target)
        if value is not None:
            return value != "self" and bool(value.strip())
        if isinstance(target, cst.Call):  # get_user_model()
            func = cst.Module([]).code_for_node(target.func)
            return not target.args and func.rpartition(".")[2] == "get_user_model"
        return isinstance(target, (cst.Name, cst.Attribute))

    def _settings_name(self) -> str:
        if self._settings is None:
            assert self._module_scope is not None
            self._settings = refs.settings_name(self._module_scope)
            if self._settings[1]:
                self.add_needed_import("django.conf", "settings")
        return self._settings[0]

    def _schedule_import_removal(self, target: cst.BaseExpression) -> None:
        root = refs.root_name(target)
        if root is None:
            return
        scope = self.get_metadata(ScopeProvider, root, None)
        if scope is None:
            return
        binding = refs.import_binding(scope, root.value)
        if binding is not None:
            self._imports.append(binding)
