"""Move an app to the front of an app list (inserting it there when the list lacks it).

Why: ``django_tenants`` must come first in SHARED_APPS and INSTALLED_APPS (TF009). Django
finds management commands and templates in INSTALLED_APPS order, so when another app comes
first ``migrate_schemas`` is unknown (``Unknown command: 'migrate_schemas'``) or the admin
renders with the wrong templates. The app's own trailing comment moves with it, a comment block
that belongs to it alone moves too, and section-header comments stay where they are.
Fix safety: safe (one entry changes place; the list keeps the same apps). The codemod refuses
(SkipFile) when the entry is added outside the list's literal (``+=``, ``.append``) or the list
is built by an expression whose first item is not a literal: moving it there could duplicate it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from tenantfix.codemod import CodemodContext, SkipFile, TenantCodemod, register
from tenantfix_codemods import _list_edit

SequenceNode = _list_edit.SequenceNode


@dataclass(frozen=True)
class _Item:
    value: cst.BaseExpression
    lead: Sequence[cst.EmptyLine]  # comment/blank lines above the element
    own: cst.TrailingWhitespace  # the rest of the element's line (its trailing comment)


@register
class MoveAppFirstInList(TenantCodemod):
    DESCRIPTION = __doc__.splitlines()[0] if __doc__ else ""

    def __init__(
        self,
        context: CodemodContext,
        *,
        list_name: str,
        app: str,
        key_path: str = "",
        insert_if_missing: str = "",
    ) -> None:
        super().__init__(context)
        self.list_name = list_name
        self.app = app
        self.key_path = tuple(k for k in key_path.split("/") if k)
        self.insert_if_missing = insert_if_missing.lower() in {"1", "true", "yes"}

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        body = list(updated_node.body)
        target: tuple[int, int] | None = None
        outside = False
        for i, line in enumerate(body):
            if not isinstance(line, cst.SimpleStatementLine):
                continue
            for j, stmt in enumerate(line.body):
                if isinstance(stmt, cst.Assign | cst.AnnAssign) and (
                    _list_edit.assigned_name(stmt) == self.list_name and stmt.value is not None
                ):
                    # The last assignment is the one Django sees; additions before it are gone.
                    target, outside = (i, j), False
                elif target is not None and self._adds_app(stmt):
                    outside = True
        if target is None:
            raise SkipFile(f"no module-level assignment of {self.list_name} in this file")
        i, j = target
        line = body[i]
        assert isinstance(line, cst.SimpleStatementLine)
        stmt = line.body[j]
        assert isinstance(stmt, cst.Assign | cst.AnnAssign) and stmt.value is not None
        literal = _list_edit.literal_in(stmt.value, self.key_path, leading=True)
        if literal is None:
            raise SkipFile(
                f"{self._label()} does not start with a list or tuple literal; "
                f"put {self.app!r} first by hand"
            )
        index = next(
            (
                k
                for k, e in enumerate(literal.elements)
                if _list_edit.string_value(e.value) == self.app
            ),
            None,
        )
        if index == 0:
            return updated_node
        if index is None:
            if outside or self._in_expression(stmt.value):
                raise SkipFile(
                    f"{self.app!r} is added to {self._label()} outside its literal; "
                    "move that line into the literal, first"
                )
            if not self.insert_if_missing:
                raise SkipFile(f"{self.app!r} is not in the literal of {self._label()}")
            new_literal = _move_first(literal, None, self.app)
        else:
            new_literal = _move_first(literal, index, self.app)
        new_stmt = stmt.with_changes(
            value=_list_edit.replace_literal(stmt.value, self.key_path, new_literal, leading=True)
        )
        statements = list(line.body)
        statements[j] = new_stmt
        body[i] = line.with_changes(body=statements)
        return updated_node.with_changes(body=body)

    def _label(self) -> str:
        return self.list_name + "".join(f"[{k!r}]" for k in self.key_path)

    def _adds_app(self, stmt: cst.BaseSmallStatement) -> bool:
        """``LIST += [..app..]`` / ``LIST.append(app)`` / ``.insert`` / ``.extend``."""
        if self.key_path:
            return False
        if isinstance(stmt, cst.AugAssign) and _list_edit.assigned_name(stmt) == self.list_name:
            return self._in_expression(stmt.value)
        if isinstance(stmt, cst.Expr) and isinstance(stmt.value, cst.Call):
            func = stmt.value.func
            return (
                isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.value.value == self.list_name
                and any(self._in_expression(a.value) for a in stmt.value.args)
            )
        return False

    def _in_expression(self, node: cst.CSTNode) -> bool:
        found = False
        app = self.app

        class _Find(cst.CSTVisitor):
            def visit_SimpleString(self, node: cst.SimpleString) -> None:
                nonlocal found
                found = found or _list_edit.string_value(node) == app

        node.visit(_Find())
        return found


def _brackets(
    seq: SequenceNode,
) -> tuple[cst.BaseParenthesizableWhitespace, cst.BaseParenthesizableWhitespace] | None:
    if isinstance(seq, cst.List):
        return seq.lbracket.whitespace_after, seq.rbracket.whitespace_before
    if seq.lpar and seq.rpar:
        return seq.lpar[0].whitespace_after, seq.rpar[-1].whitespace_before
    return None


def _with_brackets(
    seq: SequenceNode,
    opening: cst.BaseParenthesizableWhitespace,
    closing: cst.BaseParenthesizableWhitespace,
) -> SequenceNode:
    if isinstance(seq, cst.List):
        return seq.with_changes(
            lbracket=seq.lbracket.with_changes(whitespace_after=opening),
            rbracket=seq.rbracket.with_changes(whitespace_before=closing),
        )
    lpar = [seq.lpar[0].with_changes(whitespace_after=opening), *seq.lpar[1:]]
    rpar = [*seq.rpar[:-1], seq.rpar[-1].with_changes(whitespace_before=closing)]
    return seq.with_changes(lpar=lpar, rpar=rpar)


def _move_first(seq: SequenceNode, index: int | None, app: str) -> SequenceNode:
    """``seq`` with element ``index`` (or a new ``app`` string when None) first."""
    elements = list(seq.elements)
    if not elements:
        new = cst.Element(_list_edit.quote_like(seq, app))
        if isinstance(seq, cst.Tuple):
            new = new.with_changes(comma=cst.Comma())
        return seq.with_changes(elements=[new])
    brackets = _brackets(seq)
    gaps: list[cst.BaseParenthesizableWhitespace] = []
    if brackets is not None:
        gaps = [brackets[0]] + [
            e.comma.whitespace_after for e in elements[:-1] if isinstance(e.comma, cst.Comma)
        ]
    one_per_line = (
        brackets is not None
        and len(gaps) == len(elements)
        and all(isinstance(g, cst.ParenthesizedWhitespace) for g in gaps)
        and isinstance(brackets[1], cst.ParenthesizedWhitespace)
    )
    if not one_per_line:
        return _move_values(seq, index, app)
    assert brackets is not None
    opening = brackets[0]
    closing = brackets[1]
    assert isinstance(opening, cst.ParenthesizedWhitespace)
    assert isinstance(closing, cst.ParenthesizedWhitespace)
    layouts = [g for g in gaps if isinstance(g, cst.ParenthesizedWhitespace)]
    owns = [g.first_line for g in layouts[1:]] + [closing.first_line]
    items = [_Item(e.value, layouts[k].empty_lines, owns[k]) for k, e in enumerate(elements)]
    if index is None:
        moved = _Item(_list_edit.quote_like(seq, app), (), cst.TrailingWhitespace())
        layouts.insert(0, layouts[0])
        items.insert(0, moved)
    else:
        moved = items.pop(index)
        lead = moved.lead
        attached = _has_comment(lead) and (index == len(items) or _has_comment(items[index].lead))
        if attached:
            items.insert(0, moved)
        else:
            # A header above the moved app belongs to the apps below it: they inherit it.
            items.insert(0, _Item(moved.value, (), moved.own))
            if index < len(items) - 1:
                follower = items[index + 1]
                items[index + 1] = _Item(follower.value, (*lead, *follower.lead), follower.own)
            else:
                closing = closing.with_changes(empty_lines=[*lead, *closing.empty_lines])
    comma_before = next(
        (e.comma.whitespace_before for e in elements if isinstance(e.comma, cst.Comma)),
        cst.SimpleWhitespace(""),
    )
    last_comma = elements[-1].comma
    new_elements: list[cst.Element] = []
    for p, item in enumerate(items):
        if p < len(items) - 1:
            after = layouts[p + 1].with_changes(first_line=item.own, empty_lines=items[p + 1].lead)
            comma: cst.Comma | cst.MaybeSentinel = cst.Comma(
                whitespace_before=comma_before, whitespace_after=after
            )
        else:
            comma = last_comma
        new_elements.append(cst.Element(item.value, comma=comma))
    opening = opening.with_changes(empty_lines=items[0].lead)
    closing = closing.with_changes(first_line=items[-1].own)
    return _with_brackets(seq.with_changes(elements=new_elements), opening, closing)


def _move_values(seq: SequenceNode, index: int | None, app: str) -> SequenceNode:
    """Single-line (or irregular) layout: permute values, keep every comma where it is."""
    elements = list(seq.elements)
    if index is None:
        between = (
            elements[0].comma
            if len(elements) > 1 and isinstance(elements[0].comma, cst.Comma)
            else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
        elements.insert(0, cst.Element(_list_edit.quote_like(seq, app), comma=between))
        return seq.with_changes(elements=elements)
    values = [e.value for e in elements]
    values.insert(0, values.pop(index))
    return seq.with_changes(
        elements=[e.with_changes(value=v) for e, v in zip(elements, values, strict=True)]
    )


def _has_comment(lines: Sequence[cst.EmptyLine]) -> bool:
    return any(line.comment is not None for line in lines)
