"""``--format gitlab``: a GitLab Code Quality report (a JSON array), for merge request widgets.

GitLab reads ``description``, ``check_name``, ``fingerprint``, ``severity`` and
``location.path``/``location.lines.begin`` (docs.gitlab.com, "Code Quality", implement a custom
tool). The path is relative to the current directory, as in every other output: GitLab wants it
relative to the repository root, which is where CI jobs run. The fingerprint leaves the line out
so that a finding keeps its identity when lines move above it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from tenantfix.plan import Diagnostic
from tenantfix.report._common import display_path

# GitLab's levels: info, minor, major, critical, blocker
_SEVERITY = {"error": "major", "warning": "minor"}


def fingerprint(d: Diagnostic, path: str) -> str:
    identity = "\0".join((d.code, path, d.finding))
    return hashlib.sha256(identity.encode()).hexdigest()


def issue(d: Diagnostic, root: str) -> dict[str, object]:
    path = display_path(root, d.location.path)
    return {
        "type": "issue",
        "check_name": d.code,
        "description": f"{d.code} {d.message}",
        "categories": ["Bug Risk"],
        "severity": _SEVERITY.get(d.severity, "minor"),
        "fingerprint": fingerprint(d, path),
        "location": {"path": path, "lines": {"begin": max(d.location.line, 1)}},
    }


def render(
    diagnostics: Sequence[Diagnostic],
    *,
    root: str,
    graph_source: str,
    tool_version: str,
    color: bool = False,
) -> str:
    return json.dumps([issue(d, root) for d in diagnostics], indent=2, ensure_ascii=False) + "\n"
