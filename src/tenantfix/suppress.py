"""Inline suppression: ``# tenantfix: ignore[TF011]`` silences a finding where it is reported.

Syntax (one form, like mypy's ``# type: ignore[code]``; not ``# noqa``, so that ruff and
flake8 do not flag our codes as unknown)::

    SHARED_APPS = [  # tenantfix: ignore[TF001]
        ...
    ]
    TENANT_APPS = ["users", "docs"]  # tenantfix: ignore[TF011, TF008]
    owner = models.ForeignKey("docs.Doc", on_delete=models.CASCADE)  # tenantfix: ignore

The comment applies on the line the finding is reported at, or on the first line of the
statement that contains that line (so a finding inside a long ``SHARED_APPS = [...]`` can be
silenced on its ``SHARED_APPS = [`` line). Codes are exact and case-insensitive; without
brackets every code on that line is silenced. Only real comments count, not ``#`` in strings.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tenantfix.plan import Diagnostic

__all__ = ["FileSuppressions", "filter_suppressed", "parse_suppressions", "split_suppressed"]

_COMMENT = re.compile(r"#\s*tenantfix:\s*ignore(?:\[(?P<codes>[^\]]*)\])?(?=\s|$|#)", re.IGNORECASE)
ALL = frozenset({"*"})


@dataclass(frozen=True, slots=True)
class FileSuppressions:
    """Suppression comments of one file and the first line of each statement."""

    by_line: dict[int, frozenset[str]] = field(default_factory=dict)
    statement_start: dict[int, int] = field(default_factory=dict)

    def suppresses(self, line: int, code: str) -> bool:
        for candidate in {line, self.statement_start.get(line, line)}:
            codes = self.by_line.get(candidate)
            if codes is not None and (codes == ALL or code.upper() in codes):
                return True
        return False


def _comment_codes(comment: str) -> frozenset[str] | None:
    match = _COMMENT.search(comment)
    if match is None:
        return None
    if match.group("codes") is None:
        return ALL
    codes = frozenset(c.strip().upper() for c in match.group("codes").split(",") if c.strip())
    return codes or ALL


def _comments(source: str) -> dict[int, frozenset[str]]:
    found: dict[int, frozenset[str]] = {}
    if _COMMENT.search(source) is None:
        return found  # no such comment anywhere: skip tokenizing (megabyte settings modules)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                codes = _comment_codes(tok.string)
                if codes is not None:
                    found[tok.start[0]] = codes
    except (tokenize.TokenError, SyntaxError):
        # a file Python cannot tokenize: fall back to a plain scan of each line
        for number, text in enumerate(source.splitlines(), start=1):
            if "#" in text:
                codes = _comment_codes(text[text.index("#") :])
                if codes is not None:
                    found[number] = codes
    return found


def _statement_starts(source: str, lines: set[int]) -> dict[int, int]:
    """For each line that has a finding, the first line of the innermost statement holding it."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    best: dict[int, tuple[int, int]] = {}  # line -> (start, end) of the tightest statement
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt):
            continue
        start, end = node.lineno, node.end_lineno or node.lineno
        for line in lines:
            if start <= line <= end:
                current = best.get(line)
                if current is None or start >= current[0]:
                    best[line] = (start, end)
    return {line: span[0] for line, span in best.items()}


def parse_suppressions(source: str, lines: set[int] | None = None) -> FileSuppressions:
    """Read the suppression comments of ``source``; ``lines`` are where findings were reported."""
    by_line = _comments(source)
    if not by_line:
        return FileSuppressions()
    starts = _statement_starts(source, lines) if lines else {}
    return FileSuppressions(by_line, starts)


def split_suppressed(
    diagnostics: Sequence[Diagnostic], root: str | Path
) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """``(kept, suppressed)``: each file with findings is read once."""
    lines_by_path: dict[str, set[int]] = {}
    for d in diagnostics:
        lines_by_path.setdefault(d.location.path, set()).add(d.location.line)
    per_file: dict[str, FileSuppressions] = {}
    for path, lines in lines_by_path.items():
        try:
            source = (Path(root) / path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            per_file[path] = FileSuppressions()
            continue
        per_file[path] = parse_suppressions(source, lines)
    kept: list[Diagnostic] = []
    suppressed: list[Diagnostic] = []
    for d in diagnostics:
        target = (
            suppressed if per_file[d.location.path].suppresses(d.location.line, d.code) else kept
        )
        target.append(d)
    return kept, suppressed


def filter_suppressed(diagnostics: Sequence[Diagnostic], root: str | Path) -> list[Diagnostic]:
    """The diagnostics that no inline comment suppresses."""
    return split_suppressed(diagnostics, root)[0]
