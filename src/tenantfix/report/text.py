"""``--format text``: one block per finding, as ruff prints, then a summary line.

Each finding's head names its severity (``error:`` or ``warning:``, as compilers and Django's
check framework do) and the summary counts errors and warnings apart, because only findings at
or above ``--fail-level`` (default ``error``) make ``check`` fail.

Colours are plain ANSI escapes added only when the caller asks (a TTY); rich is not needed
for this little and would cost import time on every ``check``.
"""

from __future__ import annotations

from collections.abc import Sequence

from tenantfix.plan import Diagnostic
from tenantfix.report._common import display_path, fix_state

_BOLD, _RED, _YELLOW, _CYAN, _DIM, _RESET = (
    "\x1b[1m",
    "\x1b[31m",
    "\x1b[33m",
    "\x1b[36m",
    "\x1b[2m",
    "\x1b[0m",
)


def _paint(text: str, style: str, color: bool) -> str:
    return f"{style}{text}{_RESET}" if color else text


def _fix_line(d: Diagnostic) -> str:
    state = fix_state(d)
    if state == "safe":
        mark = "fixable with `tenantfix apply`"
    elif state == "unsafe":
        mark = "unsafe fix: `tenantfix apply --unsafe-fixes`"
    else:
        mark = "no automatic fix"
    summary = d.fix_summary.strip()
    return f"{summary} [{mark}]" if summary else f"[{mark}]"


def _finding(d: Diagnostic, root: str, color: bool) -> list[str]:
    where = f"{display_path(root, d.location.path)}:{d.location.line}:"
    code_style = _RED if d.severity == "error" else _YELLOW
    head = (
        f"{_paint(where, _BOLD, color)} {_paint(d.code, _BOLD + code_style, color)}"
        f"{' [*]' if fix_state(d) == 'safe' else ''} "
        f"{_paint(d.severity + ':', code_style, color)} {d.message}"
    )
    lines = [head]
    if d.prediction is not None:
        lines.append(f"  {_paint('what breaks:', _CYAN, color)} {d.prediction.sentence()}")
    if d.why.strip():
        lines.append(f"  {_paint('why:', _CYAN, color)} {' '.join(d.why.split())}")
    lines.append(f"  {_paint('fix:', _CYAN, color)} {_fix_line(d)}")
    if d.placement:
        from tenantfix.report.placement import crossing_line, text_table

        crossing = crossing_line(d, "->")
        if crossing:
            lines.append(f"  {_paint('crosses schemas:', _CYAN, color)} {crossing}")
        lines.append(f"  {_paint('where the apps live (before -> after the fix):', _CYAN, color)}")
        lines.extend(f"    {row}" for row in text_table(d.placement))
    return lines


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_line(diagnostics: Sequence[Diagnostic], graph_source: str) -> str:
    if not diagnostics:
        return f"No findings (graph: {graph_source})."
    states = [fix_state(d) for d in diagnostics]
    safe, unsafe = states.count("safe"), states.count("unsafe")
    errors = sum(d.severity == "error" for d in diagnostics)
    levels = [_plural(errors, "error"), _plural(len(diagnostics) - errors, "warning")]
    parts = [f"{_plural(len(diagnostics), 'finding')} ({', '.join(levels)})"]
    if safe:
        parts.append(f"{safe} fixable with `tenantfix apply`")
    if unsafe:
        parts.append(f"{unsafe} more with `tenantfix apply --unsafe-fixes`")
    if not safe and not unsafe:
        parts.append("none fixable automatically")
    return f"{', '.join(parts)} (graph: {graph_source})."


def render(
    diagnostics: Sequence[Diagnostic],
    *,
    root: str,
    graph_source: str,
    tool_version: str,
    color: bool = False,
) -> str:
    out: list[str] = []
    for d in diagnostics:
        out.extend(_finding(d, root, color))
        out.append("")
    out.append(
        _paint(summary_line(diagnostics, graph_source), _DIM if not diagnostics else _BOLD, color)
    )
    return "\n".join(out) + "\n"
