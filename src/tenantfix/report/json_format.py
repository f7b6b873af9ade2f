"""``--format json``: one JSON document, stable keys, ``version`` bumped on breaking changes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from tenantfix.plan import Diagnostic
from tenantfix.report._common import fix_state, summary

SCHEMA_VERSION = 1


def document(
    diagnostics: Sequence[Diagnostic],
    *,
    root: str,
    graph_source: str,
    tool_version: str,
    packages: Mapping[str, object] | None = None,
) -> dict[str, object]:
    findings = []
    for d in diagnostics:
        data = d.to_json()
        data["fix_safety"] = fix_state(d)
        findings.append(data)
    return {
        "version": SCHEMA_VERSION,
        "tool": {"name": "tenantfix", "version": tool_version},
        "root": root,
        "graph": graph_source,
        # where installed apps were looked for: {"source": "venv", "path": ".venv", ...}
        **({"packages": dict(packages)} if packages is not None else {}),
        "findings": findings,
        "summary": summary(diagnostics),
    }


def render(
    diagnostics: Sequence[Diagnostic],
    *,
    root: str,
    graph_source: str,
    tool_version: str,
    color: bool = False,
    packages: Mapping[str, object] | None = None,
) -> str:
    doc = document(
        diagnostics,
        root=root,
        graph_source=graph_source,
        tool_version=tool_version,
        packages=packages,
    )
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
