"""``check --statistics``: one line per rule code with its count, as ``ruff --statistics``."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from tenantfix.plan import Diagnostic
from tenantfix.report._common import fix_state


def rows(diagnostics: Sequence[Diagnostic]) -> list[dict[str, object]]:
    """Codes by count (most first, then code), each with its severity and how many are fixable."""
    from tenantfix.checks import load_checks
    from tenantfix.report._common import rule_summary

    checks = load_checks()
    counts = Counter(d.code for d in diagnostics)
    out: list[dict[str, object]] = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        mine = [d for d in diagnostics if d.code == code]
        chk = checks.get(code)
        out.append(
            {
                "code": code,
                "name": chk.slug if chk else "",
                "count": count,
                "errors": sum(d.severity == "error" for d in mine),
                "warnings": sum(d.severity != "error" for d in mine),
                "fixable": sum(fix_state(d) != "none" for d in mine),
                "summary": rule_summary(chk.doc, chk.slug) if chk else "",
            }
        )
    return out


def render_text(diagnostics: Sequence[Diagnostic]) -> str:
    table = rows(diagnostics)
    if not table:
        return ""
    width = max(len(str(r["count"])) for r in table)
    lines = []
    for r in table:
        # "[*]" when every finding of the code is fixable, as ruff marks it
        mark = "[*]" if r["fixable"] == r["count"] else "[ ]" if not r["fixable"] else "[-]"
        lines.append(f"{str(r['count']).rjust(width)}\t{r['code']}\t{mark} {r['name']}")
    return "\n".join(lines) + "\n"


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    return json.dumps(rows(diagnostics), indent=2) + "\n"
