"""Unified diffs that ``git apply`` (and ``patch -p1``) accept, new files included."""

from __future__ import annotations

import difflib
from collections.abc import Mapping


def unified_diff(
    originals: Mapping[str, bytes | None],
    changes: Mapping[str, bytes | None],
    *,
    prefix: str = "",
) -> str:
    """The diff from ``originals`` to ``changes`` (same keys; None = absent), paths under ``prefix``."""
    out: list[str] = []
    for rel in sorted(changes):
        path = f"{prefix}{rel}"
        before = originals.get(rel)
        after = changes[rel]
        old_lines = _lines(before)
        new_lines = _lines(after)
        out.append(f"diff --git a/{path} b/{path}\n")
        if before is None:
            out.append("new file mode 100644\n")
        elif after is None:
            out.append("deleted file mode 100644\n")
        body = list(
            difflib.unified_diff(
                old_lines,
                new_lines,
                fromfile="/dev/null" if before is None else f"a/{path}",
                tofile="/dev/null" if after is None else f"b/{path}",
            )
        )
        out.extend(_terminate(line) for line in body)
    return "".join(out)


def _lines(data: bytes | None) -> list[str]:
    return [] if data is None else data.decode("utf-8").splitlines(keepends=True)


def _terminate(line: str) -> str:
    # A last line without a newline needs git's marker, or `git apply` rejects the hunk.
    return line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
