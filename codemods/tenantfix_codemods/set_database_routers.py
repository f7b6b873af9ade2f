"""Add django-tenants' TenantSyncRouter to DATABASE_ROUTERS, creating the setting if missing.

Why: without ``django_tenants.routers.TenantSyncRouter`` in DATABASE_ROUTERS,
``DjangoTenantsConfig.ready()`` raises ``ImproperlyConfigured: DATABASE_ROUTERS setting must
contain 'django_tenants.routers.TenantSyncRouter'`` and nothing starts; nothing else decides which
apps migrate in public and which in tenant schemas (TF010). An existing literal gets the router
appended (after the project's own routers, so their answers keep priority); a missing setting
is written right after the ``DATABASES`` assignment, in the file's quote style.
Fix safety: safe (the router only answers ``allow_migrate``). The codemod refuses (SkipFile)
when DATABASE_ROUTERS is built at run time.
"""

from __future__ import annotations

import libcst as cst

from tenantfix.codemod import CodemodContext, SkipFile, TenantCodemod, register
from tenantfix_codemods import _list_edit

SETTING = "DATABASE_ROUTERS"


@register
class SetDatabaseRouters(TenantCodemod):
    DESCRIPTION = __doc__.splitlines()[0] if __doc__ else ""

    def __init__(
        self,
        context: CodemodContext,
        *,
        router: str = "django_tenants.routers.TenantSyncRouter",
    ) -> None:
        super().__init__(context)
        self.router = router

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        body = list(updated_node.body)
        assignment: tuple[int, int] | None = None
        after_databases: int | None = None
        extended = False
        for i, line in enumerate(body):
            if not isinstance(line, cst.SimpleStatementLine):
                continue
            for j, stmt in enumerate(line.body):
                name = _list_edit.assigned_name(stmt)
                if name == SETTING:
                    if isinstance(stmt, cst.AugAssign):
                        if _mentions(stmt.value, self.router):
                            return updated_node
                        extended = True
                        continue
                    assignment = (i, j)
                elif name == "DATABASES" or _assigns_into(stmt, "DATABASES"):
                    after_databases = i
        if assignment is None and extended:
            raise SkipFile(
                f"{SETTING} is only extended here (+=); add {self.router!r} where it is defined"
            )
        if assignment is None:
            return self._create(updated_node, body, after_databases)
        i, j = assignment
        line = body[i]
        assert isinstance(line, cst.SimpleStatementLine)
        stmt = line.body[j]
        assert isinstance(stmt, cst.Assign | cst.AnnAssign)
        if stmt.value is None or not isinstance(stmt.value, cst.List | cst.Tuple):
            if stmt.value is not None and _mentions(stmt.value, self.router):
                return updated_node
            raise SkipFile(f"{SETTING} is not a list or tuple literal; add {self.router!r} by hand")
        if _list_edit.contains(stmt.value, self.router):
            return updated_node
        statements = list(line.body)
        statements[j] = stmt.with_changes(value=_list_edit.insert(stmt.value, self.router))
        body[i] = line.with_changes(body=statements)
        return updated_node.with_changes(body=body)

    def _create(
        self,
        module: cst.Module,
        body: list[cst.SimpleStatementLine | cst.BaseCompoundStatement],
        after: int | None,
    ) -> cst.Module:
        quote = _module_quote(module)
        new_line = cst.parse_statement(
            f"{SETTING} = ({quote}{self.router}{quote},)\n", config=module.config_for_parsing
        )
        new_line = new_line.with_changes(leading_lines=[cst.EmptyLine()])
        index = len(body) if after is None else after + 1
        body.insert(index, new_line)
        return module.with_changes(body=body)


def _assigns_into(stmt: cst.BaseSmallStatement, name: str) -> bool:
    """``DATABASES['default'] = ...`` / ``DATABASES['default']['ENGINE'] = ...``."""
    if not (isinstance(stmt, cst.Assign) and len(stmt.targets) == 1):
        return False
    node: cst.BaseExpression = stmt.targets[0].target
    while isinstance(node, cst.Subscript):
        node = node.value
    return isinstance(node, cst.Name) and node.value == name and node is not stmt.targets[0].target


def _mentions(node: cst.CSTNode, value: str) -> bool:
    found = False

    class _Find(cst.CSTVisitor):
        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            nonlocal found
            found = found or _list_edit.string_value(node) == value

    node.visit(_Find())
    return found


def _module_quote(module: cst.Module) -> str:
    """The quote most string literals of the module use (single quotes on a tie)."""
    counts = {"'": 0, '"': 0}

    class _Count(cst.CSTVisitor):
        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            if node.quote in counts:
                counts[node.quote] += 1

    module.visit(_Count())
    return '"' if counts['"'] > counts["'"] else "'"
