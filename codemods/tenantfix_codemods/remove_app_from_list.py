"""Remove an app from an app list (moving the user app out of TENANT_APPS, say).

Why: with ``apply`` (not ``--keep-in-tenant-apps``) the user app moves to SHARED_APPS; keeping
it in TENANT_APPS too would give every tenant its own ``users_user`` table that shadows the
public one (TF011). Edits every literal, ``+=`` and ``.append()`` of the list in the file.
Fix safety: safe (list entries only; no table is dropped by a settings change).
"""

from __future__ import annotations

import libcst as cst

from tenantfix.codemod import CodemodContext, TenantCodemod, register
from tenantfix_codemods import _list_edit


@register
class RemoveAppFromList(TenantCodemod):
    DESCRIPTION = __doc__.splitlines()[0] if __doc__ else ""

    def __init__(
        self, context: CodemodContext, *, list_name: str, app: str, key_path: str = ""
    ) -> None:
        super().__init__(context)
        self.list_name = list_name
        self.app = app
        self.key_path = tuple(k for k in key_path.split("/") if k)

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        return self._edit(updated_node)

    def leave_AnnAssign(
        self, original_node: cst.AnnAssign, updated_node: cst.AnnAssign
    ) -> cst.AnnAssign:
        return self._edit(updated_node)

    def leave_AugAssign(
        self, original_node: cst.AugAssign, updated_node: cst.AugAssign
    ) -> cst.AugAssign:
        return self._edit(updated_node)

    def _edit(self, node: _list_edit.AssignNode) -> _list_edit.AssignNode:
        if _list_edit.assigned_name(node) != self.list_name or node.value is None:
            return node
        literal = _list_edit.literal_in(node.value, self.key_path)
        if literal is None or not _list_edit.contains(literal, self.app):
            return node
        return node.with_changes(
            value=_list_edit.replace_literal(
                node.value, self.key_path, _list_edit.remove(literal, self.app)
            )
        )

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        # `TENANT_APPS.append("users")` and an emptied `+= [...]` disappear as whole statements.
        body = [
            s
            for s in updated_node.body
            if not (self._is_append_of_app(s) or self._is_empty_extension(s))
        ]
        if len(body) == len(updated_node.body):
            return updated_node
        return updated_node.with_changes(body=body) if body else cst.RemoveFromParent()

    def _is_empty_extension(self, stmt: cst.BaseSmallStatement) -> bool:
        # `TENANT_APPS += ["users"]` whose only entry was removed goes away entirely.
        return (
            isinstance(stmt, cst.AugAssign)
            and _list_edit.assigned_name(stmt) == self.list_name
            and isinstance(stmt.value, cst.List | cst.Tuple)
            and not stmt.value.elements
        )

    def _is_append_of_app(self, stmt: cst.BaseSmallStatement) -> bool:
        if not (isinstance(stmt, cst.Expr) and isinstance(stmt.value, cst.Call)):
            return False
        func = stmt.value.func
        return (
            not self.key_path
            and isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == self.list_name
            and func.attr.value == "append"
            and len(stmt.value.args) == 1
            and _list_edit.string_value(stmt.value.args[0].value) == self.app
        )
