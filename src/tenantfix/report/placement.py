"""Pictures of where a finding's apps live (public / tenant / each tenant type), before and
after the fix: a small aligned table for the terminal, a Markdown table and a Mermaid diagram of
the relation that crosses schemas for the pull request (GitHub and GitLab render Mermaid)."""

from __future__ import annotations

from collections.abc import Sequence

from tenantfix.plan import AppPlacement, Crossing, Diagnostic


def _cell(before: bool, after: bool, yes: str, no: str, arrow: str) -> str:
    word = {True: yes, False: no}
    return word[before] if before == after else f"{word[before]} {arrow} {word[after]}"


def text_table(placement: Sequence[AppPlacement]) -> list[str]:
    """``app  public  tenant`` rows, ``no -> yes`` where the fix moves the app."""
    if not placement:
        return []
    header = ["app", *placement[0].columns]
    rows = [header] + [
        [p.app, *(_cell(b, a, "yes", "no", "->") for b, a in zip(p.before, p.after, strict=True))]
        for p in placement
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def _where(placement: Sequence[AppPlacement], app: str, *, after: bool) -> str:
    found = next((p for p in placement if p.app == app), None)
    if found is None:
        return ""
    return found.describe(found.after if after else found.before)


def crossing_line(d: Diagnostic, arrow: str = "→") -> str:
    """``admin.LogEntry.user (public) → users.User (tenant only)``."""
    c = d.crossing
    if c is None:
        return ""
    src = _where(d.placement, c.source_app, after=False)
    dst = _where(d.placement, c.target_app, after=False)
    return f"{c.source}{f' ({src})' if src else ''} {arrow} {c.target}{f' ({dst})' if dst else ''}"


def markdown_table(placement: Sequence[AppPlacement]) -> list[str]:
    if not placement:
        return []
    columns = placement[0].columns
    out = [
        "| App | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for p in placement:
        cells = [
            _cell(b, a, "✓", "✗", "→") + (" (fix)" if a != b else "")
            for b, a in zip(p.before, p.after, strict=True)
        ]
        out.append(f"| `{p.app}` | " + " | ".join(cells) + " |")
    return out


def _node_label(name: str, placement: Sequence[AppPlacement], app: str) -> str:
    before = _where(placement, app, after=False)
    after = _where(placement, app, after=True)
    where = before if before == after else f"{before} → after the fix: {after}"
    text = f"{name}<br/>{where}" if where else name
    return text.replace('"', "#quot;")


def mermaid(d: Diagnostic) -> list[str]:
    """A ``flowchart`` of the crossing relation, each end labelled with where it lives."""
    c: Crossing | None = d.crossing
    if c is None:
        return []
    return [
        "```mermaid",
        "flowchart LR",
        f'    src["{_node_label(c.source, d.placement, c.source_app)}"]'
        f' -- "{c.kind}" --> '
        f'dst["{_node_label(c.target, d.placement, c.target_app)}"]',
        "```",
    ]
