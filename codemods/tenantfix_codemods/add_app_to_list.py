"""Add an app to an app list (SHARED_APPS, TENANT_APPS, TENANT_TYPES[...]['APPS']) in place.

Why: django-tenants migrates an app in the public schema only when SHARED_APPS names it
(TF001, TF002, TF003); the entry goes into the literal that defines the list, after the app a
human would put it beside (the tenant app, say), in the list's own quote style and layout.
Fix safety: safe for TF001-TF003 (the app's tables are created in public, nothing is dropped).
"""

from __future__ import annotations

import libcst as cst

from tenantfix.codemod import CodemodContext, SkipFile, TenantCodemod, register
from tenantfix_codemods import _list_edit


@register
class AddAppToList(TenantCodemod):
    DESCRIPTION = __doc__.splitlines()[0] if __doc__ else ""

    def __init__(
        self,
        context: CodemodContext,
        *,
        list_name: str,
        app: str,
        after: str = "",
        key_path: str = "",
    ) -> None:
        super().__init__(context)
        self.list_name = list_name
        self.app = app
        self.after = tuple(a for a in after.split(",") if a)
        self.key_path = tuple(k for k in key_path.split("/") if k)
        self.done = False

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        return self._edit(updated_node)

    def leave_AnnAssign(
        self, original_node: cst.AnnAssign, updated_node: cst.AnnAssign
    ) -> cst.AnnAssign:
        return self._edit(updated_node)

    def _edit(self, node: _list_edit.AssignNode) -> _list_edit.AssignNode:
        if self.done or _list_edit.assigned_name(node) != self.list_name or node.value is None:
            return node
        literal = _list_edit.literal_in(node.value, self.key_path)
        if literal is None:
            return node
        self.done = True
        return node.with_changes(
            value=_list_edit.replace_literal(
                node.value, self.key_path, _list_edit.insert(literal, self.app, self.after)
            )
        )

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self.done:
            raise SkipFile(f"no literal assignment of {self.list_name} to add {self.app!r} to")
        return updated_node
