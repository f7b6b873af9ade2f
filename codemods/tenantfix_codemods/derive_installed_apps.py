"""Derive INSTALLED_APPS from SHARED_APPS and TENANT_APPS, as django-tenants' docs write it.

Why: django-tenants migrates only apps named in SHARED_APPS or TENANT_APPS, and Django loads only
apps in INSTALLED_APPS. A hand-kept INSTALLED_APPS drifts: an app listed but not installed never
gets its tables, and ``list(set(...))`` shuffles the order on every start (TF008, TF009). The
rewrite is ``INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in
SHARED_APPS]`` in place of the last INSTALLED_APPS assignment of the file (or after both lists
when the file has none); later ``INSTALLED_APPS += [...]`` lines are kept.
Fix safety: unsafe in general: INSTALLED_APPS takes SHARED_APPS' order (template, static file
and management command precedence can change) and an app installed but in neither list stops
being installed. The checks offer it as a safe fix only where it cannot change the set of apps
(replacing an unordered ``set()`` union) or where INSTALLED_APPS is missing. Refused (SkipFile)
for multi-type projects and when the two lists are not defined before INSTALLED_APPS; with
``create="no"`` also when the file has no INSTALLED_APPS assignment to replace.
"""

from __future__ import annotations

import ast

import libcst as cst

from tenantfix.codemod import CodemodContext, SkipFile, TenantCodemod, register
from tenantfix_codemods import _list_edit


@register
class DeriveInstalledApps(TenantCodemod):
    DESCRIPTION = __doc__.splitlines()[0] if __doc__ else ""

    def __init__(
        self,
        context: CodemodContext,
        *,
        shared_name: str = "SHARED_APPS",
        tenant_name: str = "TENANT_APPS",
        create: str = "yes",
    ) -> None:
        super().__init__(context)
        self.create = create.lower() in {"1", "true", "yes"}
        self.shared = shared_name
        self.tenant = tenant_name

    def expression(self) -> str:
        return f"list({self.shared}) + [app for app in {self.tenant} if app not in {self.shared}]"

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        body = list(updated_node.body)
        bound: dict[str, int] = {}
        star_import: int | None = None
        target: tuple[int, int] | None = None
        for i, line in enumerate(body):
            if not isinstance(line, cst.SimpleStatementLine):
                continue
            for j, stmt in enumerate(line.body):
                name = _list_edit.assigned_name(stmt)
                if name == "TENANT_TYPES":
                    raise SkipFile(
                        "multi-type tenants (TENANT_TYPES): INSTALLED_APPS is the union of every "
                        "TENANT_TYPES[...]['APPS']; write it by hand"
                    )
                if name == "INSTALLED_APPS" and isinstance(stmt, cst.Assign | cst.AnnAssign):
                    target = (i, j)
                elif name in {self.shared, self.tenant}:
                    bound.setdefault(name, i)
                elif isinstance(stmt, cst.ImportFrom):
                    if isinstance(stmt.names, cst.ImportStar):
                        star_import = i if star_import is None else star_import
                    else:
                        for alias in stmt.names:
                            as_name = alias.evaluated_alias or alias.evaluated_name
                            if as_name in {self.shared, self.tenant}:
                                bound.setdefault(as_name, i)

        def defined_at(name: str) -> int | None:
            return bound.get(name, star_import)

        shared_at, tenant_at = defined_at(self.shared), defined_at(self.tenant)
        if shared_at is None or tenant_at is None:
            missing = self.shared if shared_at is None else self.tenant
            raise SkipFile(f"{missing} is not defined in this file; derive INSTALLED_APPS by hand")
        ready = max(shared_at, tenant_at)
        value = cst.parse_expression(self.expression())
        if target is None and not self.create:
            raise SkipFile("no INSTALLED_APPS assignment in this file to rewrite")
        if target is None:
            new_line = cst.SimpleStatementLine(
                [cst.Assign([cst.AssignTarget(cst.Name("INSTALLED_APPS"))], value)],
                leading_lines=[cst.EmptyLine()],
            )
            body.insert(ready + 1, new_line)
            return updated_node.with_changes(body=body)
        i, j = target
        line = body[i]
        assert isinstance(line, cst.SimpleStatementLine)
        stmt = line.body[j]
        assert isinstance(stmt, cst.Assign | cst.AnnAssign) and stmt.value is not None
        if self._is_derived(updated_node.code_for_node(stmt.value)):
            return updated_node
        if i <= ready:
            raise SkipFile(
                f"INSTALLED_APPS is assigned before {self.shared}/{self.tenant} are defined; "
                "move it below them first"
            )
        statements = list(line.body)
        statements[j] = stmt.with_changes(value=value)
        body[i] = line.with_changes(body=statements)
        return updated_node.with_changes(body=body)

    def _is_derived(self, code: str) -> bool:
        """``list(SHARED) + [x for x in TENANT if x not in SHARED]`` in any spelling."""
        try:
            node = ast.parse(code.strip(), mode="eval").body
        except SyntaxError:
            return False
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)):
            return False
        left, right = node.left, node.right
        if isinstance(left, ast.Call) and isinstance(left.func, ast.Name):
            if left.func.id != "list" or len(left.args) != 1:
                return False
            left = left.args[0]
        if not (isinstance(left, ast.Name) and left.id == self.shared):
            return False
        if not (isinstance(right, ast.ListComp) and len(right.generators) == 1):
            return False
        gen = right.generators[0]
        return (
            isinstance(gen.target, ast.Name)
            and isinstance(right.elt, ast.Name)
            and right.elt.id == gen.target.id
            and isinstance(gen.iter, ast.Name)
            and gen.iter.id == self.tenant
            and len(gen.ifs) == 1
            and isinstance(gen.ifs[0], ast.Compare)
            and isinstance(gen.ifs[0].left, ast.Name)
            and gen.ifs[0].left.id == gen.target.id
            and [type(op) for op in gen.ifs[0].ops] == [ast.NotIn]
            and isinstance(gen.ifs[0].comparators[0], ast.Name)
            and gen.ifs[0].comparators[0].id == self.shared
        )
