"""Layout-preserving edits of list/tuple literals in settings modules (shared by codemods).

libcst keeps the whitespace of a sequence in the commas: element *i*'s comma carries the
newline and indentation that lead to element *i+1* (or to the closing bracket). Inserting or
removing an element therefore means moving commas around, never re-printing the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import libcst as cst

SequenceNode = cst.List | cst.Tuple
AssignNode = TypeVar("AssignNode", cst.Assign, cst.AnnAssign, cst.AugAssign)


def string_value(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def contains(seq: SequenceNode, value: str) -> bool:
    return any(string_value(e.value) == value for e in seq.elements)


def quote_like(seq: SequenceNode, value: str) -> cst.SimpleString:
    """``value`` as a string literal in the quote style of the sequence's elements."""
    for element in seq.elements:
        if isinstance(element.value, cst.SimpleString):
            quote = element.value.quote
            if quote in {"'", '"'} and quote not in value:
                return cst.SimpleString(f"{quote}{value}{quote}")
    return cst.SimpleString(repr(value))


def _first_comma(seq: SequenceNode) -> cst.Comma:
    """The comma layout between two elements: a newline+indent in a multi-line literal."""
    for element in seq.elements[:-1]:
        if isinstance(element.comma, cst.Comma):
            return _plain(element.comma)
    if isinstance(seq, cst.List):
        lead = seq.lbracket.whitespace_after
    else:
        lead = seq.lpar[0].whitespace_after if seq.lpar else cst.SimpleWhitespace("")
    if isinstance(lead, cst.ParenthesizedWhitespace):
        return _plain(cst.Comma(whitespace_after=lead))
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def _plain(comma: cst.Comma, first_line: cst.TrailingWhitespace | None = None) -> cst.Comma:
    """``comma`` without the comment of the element before it and the comment lines after."""
    ws = comma.whitespace_after
    if not isinstance(ws, cst.ParenthesizedWhitespace):
        return comma
    return comma.with_changes(
        whitespace_after=ws.with_changes(
            first_line=first_line or cst.TrailingWhitespace(), empty_lines=[]
        )
    )


def _trailing(comma: cst.Comma | cst.MaybeSentinel) -> cst.TrailingWhitespace | None:
    if isinstance(comma, cst.Comma) and isinstance(
        comma.whitespace_after, cst.ParenthesizedWhitespace
    ):
        return comma.whitespace_after.first_line
    return None


def insert(seq: SequenceNode, value: str, after: Sequence[str] = ()) -> SequenceNode:
    """``seq`` with ``value`` added after the first element in ``after`` (else at the end).

    Comments stay with the element they follow; comment lines above the next element stay
    above it.
    """
    if contains(seq, value):
        return seq
    elements = list(seq.elements)
    new = cst.Element(quote_like(seq, value))
    if not elements:
        return seq.with_changes(elements=[new])
    last = len(elements) - 1
    index = next((i for i, e in enumerate(elements) if string_value(e.value) in set(after)), last)
    anchor = elements[index]
    between = _first_comma(seq)
    closing = _closing_whitespace(seq)
    if index == last and isinstance(closing, cst.ParenthesizedWhitespace):
        # Before a bracket on its own line the last element's comment sits in the bracket's
        # whitespace; it stays on the anchor's line.
        elements[index] = anchor.with_changes(comma=_plain(between, closing.first_line))
        new = new.with_changes(comma=anchor.comma)
        seq = _with_closing_whitespace(
            seq, closing.with_changes(first_line=cst.TrailingWhitespace())
        )
    elif isinstance(anchor.comma, cst.Comma):
        # The anchor's comma leads to what follows; the new element takes that over and the
        # anchor keeps only its own trailing comment.
        new = new.with_changes(comma=_strip_first_line(anchor.comma))
        own = _trailing(anchor.comma)
        base = between if index == last else anchor.comma
        elements[index] = anchor.with_changes(comma=_plain(base, own) if own else _plain(base))
    else:
        elements[index] = anchor.with_changes(comma=between)
    elements.insert(index + 1, new)
    return seq.with_changes(elements=elements)


def _closing_whitespace(seq: SequenceNode) -> cst.BaseParenthesizableWhitespace | None:
    if isinstance(seq, cst.List):
        return seq.rbracket.whitespace_before
    return seq.rpar[-1].whitespace_before if seq.rpar else None


def _with_closing_whitespace(
    seq: SequenceNode, ws: cst.BaseParenthesizableWhitespace
) -> SequenceNode:
    if isinstance(seq, cst.List):
        return seq.with_changes(rbracket=seq.rbracket.with_changes(whitespace_before=ws))
    rpar = [*seq.rpar[:-1], seq.rpar[-1].with_changes(whitespace_before=ws)]
    return seq.with_changes(rpar=rpar)


def _strip_first_line(comma: cst.Comma) -> cst.Comma:
    ws = comma.whitespace_after
    if isinstance(ws, cst.ParenthesizedWhitespace):
        return comma.with_changes(
            whitespace_after=ws.with_changes(first_line=cst.TrailingWhitespace())
        )
    return comma


def remove(seq: SequenceNode, value: str) -> SequenceNode:
    """``seq`` without any element equal to ``value``, keeping the others' layout."""
    elements = list(seq.elements)
    while True:
        index = next((i for i, e in enumerate(elements) if string_value(e.value) == value), None)
        if index is None:
            break
        removed = elements.pop(index)
        if index == len(elements) and index > 0:
            # The removed last element's comma (or its absence) leads to the bracket; the
            # previous element's own comment moves to the bracket's whitespace with it.
            own = _trailing(elements[index - 1].comma)
            elements[index - 1] = elements[index - 1].with_changes(comma=removed.comma)
            closing = _closing_whitespace(seq)
            if isinstance(closing, cst.ParenthesizedWhitespace):
                # The comment there was the removed element's own.
                first = own if own and own.comment else cst.TrailingWhitespace()
                seq = _with_closing_whitespace(seq, closing.with_changes(first_line=first))
        elif index > 0:
            # Comment lines above the next element live in the removed comma: keep them.
            lines = _comment_lines(removed.comma)
            prev = elements[index - 1]
            if (
                lines
                and isinstance(prev.comma, cst.Comma)
                and isinstance(prev.comma.whitespace_after, cst.ParenthesizedWhitespace)
            ):
                ws = prev.comma.whitespace_after
                elements[index - 1] = prev.with_changes(
                    comma=prev.comma.with_changes(
                        whitespace_after=ws.with_changes(empty_lines=[*ws.empty_lines, *lines])
                    )
                )
    if (
        isinstance(seq, cst.Tuple)
        and len(elements) == 1
        and not isinstance(elements[0].comma, cst.Comma)
    ):
        elements[0] = elements[0].with_changes(comma=cst.Comma())
    return seq.with_changes(elements=elements)


def _comment_lines(comma: cst.Comma | cst.MaybeSentinel) -> list[cst.EmptyLine]:
    if isinstance(comma, cst.Comma) and isinstance(
        comma.whitespace_after, cst.ParenthesizedWhitespace
    ):
        return [line for line in comma.whitespace_after.empty_lines if line.comment]
    return []


def literal_in(
    value: cst.BaseExpression, key_path: Sequence[str] = (), *, leading: bool = False
) -> SequenceNode | None:
    """The list/tuple literal an assignment's value holds (through ``key_path`` dict keys and
    the left-most literal of ``A + B``; with ``leading``, only a literal that starts the list)."""
    if key_path:
        if not isinstance(value, cst.Dict):
            return None
        for element in value.elements:
            if isinstance(element, cst.DictElement) and string_value(element.key) == key_path[0]:
                return literal_in(element.value, key_path[1:], leading=leading)
        return None
    if isinstance(value, cst.List | cst.Tuple):
        return value
    if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
        left = literal_in(value.left, leading=leading)
        return left if left is not None or leading else literal_in(value.right)
    return None


def replace_literal(
    value: cst.BaseExpression, key_path: Sequence[str], new: SequenceNode, *, leading: bool = False
) -> cst.BaseExpression:
    """``value`` with the literal :func:`literal_in` finds replaced by ``new``."""
    if key_path:
        assert isinstance(value, cst.Dict)
        elements = [
            e.with_changes(value=replace_literal(e.value, key_path[1:], new, leading=leading))
            if isinstance(e, cst.DictElement) and string_value(e.key) == key_path[0]
            else e
            for e in value.elements
        ]
        return value.with_changes(elements=elements)
    if isinstance(value, cst.List | cst.Tuple):
        return new
    if isinstance(value, cst.BinaryOperation):
        if leading or literal_in(value.left) is not None:
            return value.with_changes(left=replace_literal(value.left, (), new, leading=leading))
        return value.with_changes(right=replace_literal(value.right, (), new))
    return value


def assigned_name(stmt: cst.BaseSmallStatement) -> str | None:
    if isinstance(stmt, cst.Assign) and len(stmt.targets) == 1:
        target = stmt.targets[0].target
        return target.value if isinstance(target, cst.Name) else None
    if isinstance(stmt, cst.AnnAssign | cst.AugAssign) and isinstance(stmt.target, cst.Name):
        return stmt.target.value
    return None
