"""``--format sarif``: a SARIF 2.1.0 log that GitHub code scanning accepts.

One run; ``tool.driver.rules`` holds every registered check (id = code, name = slug, help =
the check module's docstring). Paths are relative to ``%SRCROOT%``: the top of the git work
tree that holds the project when there is one (GitHub resolves relative URIs against the
repository root), else the project root.

A SARIF ``fix`` must carry at least one ``artifactChange`` with at least one ``replacement``
(schema: ``minItems: 1``), so a fix is listed only when its replacement text can be computed:
codemod fixes are run in memory on the file and the difference becomes the replacements.
``makemigrations`` fixes need the project's Django, so they are described in the result's
``properties`` only.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from tenantfix.plan import Diagnostic, Fix
from tenantfix.report._common import absolute_path, fix_state, rule_summary

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SRCROOT = "%SRCROOT%"

Json = dict[str, object]


def source_root(root: str) -> Path:
    """The git work tree containing ``root`` if any, else ``root`` itself (absolute)."""
    start = Path(root).resolve()
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return start


def _uri(root: str, srcroot: Path, path: str) -> Json:
    full = Path(absolute_path(str(Path(root).resolve()), path))
    try:
        return {"uri": full.relative_to(srcroot).as_posix(), "uriBaseId": SRCROOT}
    except ValueError:  # outside the source root: an absolute file URI
        return {"uri": full.as_uri()}


def _rules(diagnostics: Sequence[Diagnostic]) -> list[Json]:
    from tenantfix.checks import load_checks
    from tenantfix.checks._fix_kind import documented_fix

    rules: list[Json] = []
    checks = load_checks()
    for code, chk in checks.items():
        doc = chk.doc or chk.summary
        paragraphs = [p.strip() for p in doc.split("\n\n") if p.strip()]
        full = " ".join(paragraphs[1].split()) if len(paragraphs) > 1 else paragraphs[0]
        rules.append(
            {
                "id": code,
                "name": chk.slug,
                "shortDescription": {"text": rule_summary(doc, chk.slug)},
                "fullDescription": {"text": full},
                "help": {"text": doc, "markdown": doc},
                "defaultConfiguration": {"level": chk.severity},
                "properties": {
                    "tags": ["django-tenants", "migrations"],
                    "precision": "high",
                    "problem.severity": chk.severity,
                    # from the rule's documentation, as `tenantfix rules` says it
                    "fixSafety": documented_fix(chk),
                    # False: an opt-in rule, run only when --select names it (as ruff's)
                    "defaultSelection": chk.default,
                },
            }
        )
    # a finding from a rule that is not registered (a plugin gone missing) still needs a rule
    for code in sorted({d.code for d in diagnostics} - set(checks)):
        rules.append(
            {
                "id": code,
                "shortDescription": {"text": code},
                "defaultConfiguration": {"level": "error"},
            }
        )
    return rules


def _replacements(before: str, after: str) -> list[Json]:
    """Line-level replacements turning ``before`` into ``after`` (char offsets in ``before``)."""
    old = before.splitlines(keepends=True)
    new = after.splitlines(keepends=True)
    starts = [0]
    for line in old:
        starts.append(starts[-1] + len(line))
    out: list[Json] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        replacement: Json = {
            "deletedRegion": {"charOffset": starts[i1], "charLength": starts[i2] - starts[i1]}
        }
        if j2 > j1:
            replacement["insertedContent"] = {"text": "".join(new[j1:j2])}
        out.append(replacement)
    return out


def _codemod_fixes(d: Diagnostic, root: str, srcroot: Path) -> list[Json]:
    """Run the finding's codemods in memory, one ``fix`` per file they change."""
    codemod_fixes = [f for f in d.fixes if f.kind == "codemod" and f.path]
    if not codemod_fixes:
        return []
    from tenantfix.codemod import run_codemod  # libcst: paid only for SARIF with fixes

    by_path: dict[str, list[Fix]] = {}
    for f in codemod_fixes:
        by_path.setdefault(str(f.path), []).append(f)
    out: list[Json] = []
    for path, fixes in by_path.items():
        try:
            before = Path(absolute_path(root, path)).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        code = before
        for f in fixes:
            result = run_codemod(f.name, code, dict(f.args), filename=path)
            if result.error or result.skipped:
                break
            code = result.code
        else:
            replacements = _replacements(before, code)
            if replacements:
                out.append(
                    {
                        "description": {"text": "; ".join(f.description or f.name for f in fixes)},
                        "artifactChanges": [
                            {
                                "artifactLocation": _uri(root, srcroot, path),
                                "replacements": replacements,
                            }
                        ],
                    }
                )
    return out


def _fingerprint(d: Diagnostic) -> str:
    # line numbers are left out so that an alert survives edits above it
    key = "\0".join((d.code, d.location.path, d.message))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _result(d: Diagnostic, rule_index: int, root: str, srcroot: Path) -> Json:
    text = d.message
    if d.prediction is not None:
        text = f"{text}. {d.prediction.sentence()}."
    result: Json = {
        "ruleId": d.code,
        "ruleIndex": rule_index,
        "level": d.severity,
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": _uri(root, srcroot, d.location.path),
                    "region": {
                        "startLine": max(d.location.line, 1),
                        "startColumn": d.location.column + 1,
                    },
                }
            }
        ],
        "partialFingerprints": {"tenantfix/v1": _fingerprint(d)},
        "properties": {
            "why": d.why,
            "fixSummary": d.fix_summary,
            "fixSafety": fix_state(d),
            "prediction": None if d.prediction is None else d.prediction.sentence(),
            "fixes": [
                {"kind": f.kind, "name": f.name, "safety": f.safety, "description": f.description}
                for f in d.fixes
            ],
        },
    }
    fixes = _codemod_fixes(d, root, srcroot)
    if fixes:
        result["fixes"] = fixes
    return result


def log(
    diagnostics: Sequence[Diagnostic], *, root: str, graph_source: str, tool_version: str
) -> Json:
    """The SARIF log as a JSON-ready dict."""
    srcroot = source_root(root)
    rules = _rules(diagnostics)
    index = {str(rule["id"]): i for i, rule in enumerate(rules)}
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "tenantfix",
                        "version": tool_version,
                        "semanticVersion": tool_version,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": srcroot.as_uri() + "/"}},
                "results": [_result(d, index[d.code], root, srcroot) for d in diagnostics],
                "columnKind": "unicodeCodePoints",
                "properties": {"graph": graph_source, "root": os.path.abspath(root)},
            }
        ],
    }


def render(
    diagnostics: Sequence[Diagnostic],
    *,
    root: str,
    graph_source: str,
    tool_version: str,
    color: bool = False,
) -> str:
    doc = log(diagnostics, root=root, graph_source=graph_source, tool_version=tool_version)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
