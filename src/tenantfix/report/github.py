"""``--format github``: GitHub Actions workflow commands, one annotation per finding.

Escaping follows the runner's rules (actions/toolkit ``command.ts``): in the message ``%``,
``\\r`` and ``\\n`` are percent-encoded; in property values ``:`` and ``,`` are too.
"""

from __future__ import annotations

from collections.abc import Sequence

from tenantfix.plan import Diagnostic
from tenantfix.report._common import display_path, fix_state


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _message(d: Diagnostic) -> str:
    lines = [d.message]
    if d.prediction is not None:
        lines.append(f"What breaks: {d.prediction.sentence()}")
    if d.why.strip():
        lines.append(f"Why: {' '.join(d.why.split())}")
    state = fix_state(d)
    fix = d.fix_summary.strip() or "no automatic fix"
    if state == "safe":
        fix += " (fixable with `tenantfix apply`)"
    elif state == "unsafe":
        fix += " (unsafe fix: `tenantfix apply --unsafe-fixes`)"
    lines.append(f"Fix: {fix}")
    return "\n".join(lines)


def annotation(d: Diagnostic, root: str) -> str:
    command = "error" if d.severity == "error" else "warning"
    props = [
        f"file={escape_property(display_path(root, d.location.path))}",
        f"line={max(d.location.line, 1)}",
    ]
    if d.location.column:
        props.append(f"col={d.location.column + 1}")
    props.append(f"title={escape_property(d.code)}")
    return f"::{command} {','.join(props)}::{escape_data(_message(d))}"


def render(
    diagnostics: Sequence[Diagnostic],
    *,
    root: str,
    graph_source: str,
    tool_version: str,
    color: bool = False,
) -> str:
    return "".join(annotation(d, root) + "\n" for d in diagnostics)
