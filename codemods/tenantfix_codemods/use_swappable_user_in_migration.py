"""Make a migration reference the user model through settings.AUTH_USER_MODEL and swappable_dependency.

Why: a migration that hard-codes ``to='auth.user'`` while a custom user model is configured
fails on every fresh schema with ``relation "auth_user" does not exist`` (the swapped-out
``auth_user`` table is never created); ``to='users.user'`` with a plain dependency on
``('users', '0001_initial')`` breaks as soon as AUTH_USER_MODEL changes, and a migration that
names the user model without any dependency on it may run before the user table exists.
``makemigrations`` itself writes ``to=settings.AUTH_USER_MODEL`` and
``migrations.swappable_dependency(settings.AUTH_USER_MODEL)``.

Fix safety: safe for the configured user model written literally (same target, same order).
For ``auth.user`` the plan marks it unsafe: on a database where the migration already ran, the
column's foreign key still points at ``auth_user`` and must be re-pointed by hand.
Argument ``target``: the hard-coded reference (``users.user``, ``auth.user``), matched without
regard to case; every ``to=`` of a relation field naming it is replaced. A dependency on the
target's app is replaced by the swappable dependency only when nothing else in the file refers
to that app; otherwise the swappable dependency is added in front and the old one kept.
Optional ``replace_only``: the name of the one migration of that app a dependency may be replaced
on (the one that creates the user model, e.g. ``0001_initial``); a dependency on any other
migration of the app (``('users', '0014_switch_pk_to_uuid')``) orders this migration after a
later state of the user table, so it is kept and the swappable dependency added in front.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodContext, SkipFile
from libcst.helpers import get_full_name_for_node
from libcst.metadata import ScopeProvider

from tenantfix.codemod import TenantCodemod, register
from tenantfix_codemods import _user_model_refs as refs

_SUMMARY = (__doc__ or "").strip().splitlines()[0]


@register
class UseSwappableUserInMigration(TenantCodemod):
    """Replace ``to='<target>'`` with ``to=settings.AUTH_USER_MODEL`` and fix the dependency."""

    DESCRIPTION = _SUMMARY
    METADATA_DEPENDENCIES = (ScopeProvider,)

    def __init__(self, context: CodemodContext, *, target: str, replace_only: str = "") -> None:
        super().__init__(context)
        self.target = target.lower()
        self.replace_only = replace_only
        self.app_label = self.target.partition(".")[0]
        if not self.app_label or "." not in self.target:
            raise SkipFile(f"target must be 'app_label.modelname', got {target!r}")
        self._module_scope: cst.metadata.Scope | None = None
        self._settings: tuple[str, bool] | None = None
        self._keep_dependency = False  # to_field= may need a later migration of the app

    def visit_Module(self, node: cst.Module) -> None:
        self._module_scope = self.get_metadata(ScopeProvider, node)

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        tree = super().transform_module_impl(tree)
        facts = _MigrationFacts(self.app_label)
        tree.visit(facts)
        if not facts.uses_setting or facts.has_swappable:
            return tree
        if facts.dependencies is None:
            self.warn("no `dependencies` list in class Migration; swappable dependency not added")
            return tree
        if facts.migrations_name is None:
            raise SkipFile("`migrations` is not imported from django.db")
        replace = not (facts.refers_to_app or self._keep_dependency)
        new_dep = cst.Call(
            func=cst.Attribute(cst.Name(facts.migrations_name), cst.Name("swappable_dependency")),
            args=[cst.Arg(refs.setting_reference(self._settings_name()))],
        )
        editor = _DependencyEditor(
            facts.dependencies, self.app_label, new_dep, replace, self.replace_only
        )
        return tree.visit(editor)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if not refs.is_relation_call(original_node):
            return updated_node
        arg = refs.target_arg(original_node)
        value = None if arg is None else refs.string_value(arg.value)
        if arg is None or value is None or value.lower() != self.target:
            return updated_node
        if any(a.keyword is not None and a.keyword.value == "to_field" for a in original_node.args):
            self._keep_dependency = True
        index = original_node.args.index(arg)
        args = list(updated_node.args)
        args[index] = args[index].with_changes(value=refs.setting_reference(self._settings_name()))
        return updated_node.with_changes(args=args)

    def _settings_name(self) -> str:
        if self._settings is None:
            assert self._module_scope is not None
            self._settings = refs.settings_name(self._module_scope)
            if self._settings[1]:
                self.add_needed_import("django.conf", "settings")
        return self._settings[0]


def _dependency_app(node: cst.BaseExpression) -> str | None:
    """``('users', '0001_initial')`` → ``users``; anything else → None."""
    if isinstance(node, (cst.Tuple, cst.List)) and len(node.elements) == 2:
        return refs.string_value(node.elements[0].value)
    return None


def _dependency_name(node: cst.BaseExpression) -> str | None:
    """``('users', '0001_initial')`` → ``0001_initial``; anything else → None."""
    if isinstance(node, (cst.Tuple, cst.List)) and len(node.elements) == 2:
        return refs.string_value(node.elements[1].value)
    return None


def _is_swappable_user(node: cst.BaseExpression) -> bool:
    return (
        isinstance(node, cst.Call)
        and (get_full_name_for_node(node.func) or "").endswith("swappable_dependency")
        and len(node.args) == 1
        and refs.is_setting_reference(node.args[0].value)
    )


class _MigrationFacts(cst.CSTVisitor):
    """What the dependency edit needs to know about the (already rewritten) migration."""

    def __init__(self, app_label: str) -> None:
        self.app_label = app_label
        self.dependencies: cst.List | cst.Tuple | None = None
        self.has_swappable = False
        self.uses_setting = False
        self.refers_to_app = False
        self.migrations_name: str | None = None
        self._class_depth = 0
        self._in_migration = False
        self._in_dependencies = False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.module is None or node.relative or isinstance(node.names, cst.ImportStar):
            return
        if get_full_name_for_node(node.module) == "django.db":
            for alias in node.names:
                if alias.evaluated_name == "migrations":
                    self.migrations_name = alias.evaluated_alias or "migrations"

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._class_depth += 1
        if self._class_depth == 1 and node.name.value == "Migration":
            self._in_migration = True

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._class_depth -= 1
        if self._class_depth == 0:
            self._in_migration = False

    def visit_Assign(self, node: cst.Assign) -> None:
        is_deps = any(
            isinstance(t.target, cst.Name) and t.target.value == "dependencies"
            for t in node.targets
        )
        if (
            self._in_migration
            and self._class_depth == 1
            and is_deps
            and isinstance(node.value, (cst.List, cst.Tuple))
        ):
            self.dependencies = node.value
            self._in_dependencies = True
            self.has_swappable = any(_is_swappable_user(e.value) for e in node.value.elements)

    def leave_Assign(self, original_node: cst.Assign) -> None:
        self._in_dependencies = False

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if refs.is_setting_reference(node) and not self._in_dependencies:
            self.uses_setting = True

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if self._in_dependencies:
            return
        value = node.evaluated_value
        if isinstance(value, str):
            lowered = value.lower()
            if lowered == self.app_label or lowered.startswith(self.app_label + "."):
                self.refers_to_app = True


class _DependencyEditor(cst.CSTTransformer):
    """Put the swappable dependency in place of the app's dependency, or in front of the list."""

    def __init__(
        self,
        deps: cst.List | cst.Tuple,
        app_label: str,
        new_dep: cst.Call,
        replace: bool,
        replace_only: str = "",
    ) -> None:
        self.deps = deps
        self.app_label = app_label
        self.new_dep = new_dep
        self.replace = replace
        self.replace_only = replace_only

    def leave_List(self, original_node: cst.List, updated_node: cst.List) -> cst.BaseExpression:
        return self._edit(original_node, updated_node)

    def leave_Tuple(self, original_node: cst.Tuple, updated_node: cst.Tuple) -> cst.BaseExpression:
        return self._edit(original_node, updated_node)

    def _edit(
        self, original_node: cst.List | cst.Tuple, updated_node: cst.List | cst.Tuple
    ) -> cst.List | cst.Tuple:
        if original_node is not self.deps:
            return updated_node
        elements = list(updated_node.elements)
        if self.replace:
            for index, element in enumerate(elements):
                if _dependency_app(element.value) == self.app_label and (
                    not self.replace_only
                    or _dependency_name(element.value) in (self.replace_only, "__first__")
                ):
                    elements[index] = element.with_changes(value=self.new_dep)
                    return updated_node.with_changes(elements=elements)
        if not elements and isinstance(updated_node, cst.List):
            return self._fill_empty(updated_node)
        return updated_node.with_changes(elements=[self._first(updated_node), *elements])

    def _fill_empty(self, node: cst.List) -> cst.List:
        lead = node.lbracket.whitespace_after
        if not isinstance(lead, cst.ParenthesizedWhitespace):
            return node.with_changes(elements=[cst.Element(self.new_dep)])
        # `[\n    ]` as makemigrations writes it: one indented line with a trailing comma
        indented = lead.with_changes(last_line=cst.SimpleWhitespace(lead.last_line.value + "    "))
        return node.with_changes(
            lbracket=node.lbracket.with_changes(whitespace_after=indented),
            elements=[cst.Element(self.new_dep, comma=cst.Comma(whitespace_after=lead))],
        )

    def _first(self, node: cst.List | cst.Tuple) -> cst.Element:
        if not node.elements:  # an empty tuple: `()`
            return cst.Element(self.new_dep, comma=cst.Comma())
        # The new first element's comma leads to the old first element: reuse the layout
        # that led there from the opening bracket (newline + indent in a multi-line list).
        if isinstance(node, cst.List):
            lead: cst.BaseParenthesizableWhitespace = node.lbracket.whitespace_after
        else:
            lead = node.lpar[0].whitespace_after if node.lpar else cst.SimpleWhitespace("")
        if not isinstance(lead, cst.ParenthesizedWhitespace):
            lead = cst.SimpleWhitespace(" ")
        return cst.Element(self.new_dep, comma=cst.Comma(whitespace_after=lead))
