"""Helpers shared by the output formats: fix safety, paths, the summary counts."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from typing import Literal

from tenantfix.plan import Diagnostic

FixState = Literal["safe", "unsafe", "none"]


def fix_state(diagnostic: Diagnostic) -> FixState:
    """``safe`` when ``tenantfix apply`` fixes it, ``unsafe`` when it needs ``--unsafe-fixes``."""
    if not diagnostic.fixes:
        return "none"
    # apply drops unsafe fixes by default, so one unsafe fix makes the whole finding unsafe
    if any(f.safety == "unsafe" for f in diagnostic.fixes):
        return "unsafe"
    return "safe"


def summary(diagnostics: Sequence[Diagnostic]) -> dict[str, object]:
    states = Counter(fix_state(d) for d in diagnostics)
    levels = Counter(d.severity for d in diagnostics)
    return {
        "total": len(diagnostics),
        "errors": levels["error"],
        "warnings": levels["warning"],
        "fixable": states["safe"] + states["unsafe"],
        "fixable_safe": states["safe"],
        "fixable_unsafe": states["unsafe"],
        "by_code": dict(sorted(Counter(d.code for d in diagnostics).items())),
    }


def absolute_path(root: str, path: str) -> str:
    return os.path.normpath(os.path.join(root, path))


def display_path(root: str, path: str) -> str:
    """The finding's file relative to the working directory when below it (as ruff prints)."""
    full = absolute_path(os.path.abspath(root), path)
    cwd = os.getcwd()
    try:
        if os.path.commonpath([full, cwd]) == cwd:
            return os.path.relpath(full, cwd).replace(os.sep, "/")
    except ValueError:  # different drives on Windows
        pass
    return full.replace(os.sep, "/")


def rule_summary(doc: str, fallback: str) -> str:
    """A rule's one-sentence summary: the docstring's first paragraph, unwrapped."""
    first = doc.strip().split("\n\n", 1)[0]
    return " ".join(first.split()) or fallback
