"""The pull request body: the report a reviewer needs, plus the bot's hidden fingerprint.

Sections: what fails today (in the words Django prints), the findings (code, file, line, why),
a per-file summary of the change, the verification result when ``--verify`` ran, and the
runbook for databases that already ran the failing migration.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tenantfix import __version__
from tenantfix.plan import Diagnostic

FINGERPRINT_COMMENT = "<!-- tenantfix:fingerprint={} -->"
_FINGERPRINT_RE = re.compile(r"<!--\s*tenantfix:fingerprint=([0-9a-f]+)\s*-->")


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of the real migration run on a throwaway PostgreSQL (``--verify``)."""

    passed: bool
    summary: str  # one line: "migrate_schemas --shared and --tenant passed on PostgreSQL 15"
    details: str = ""  # a log excerpt, shown folded


# TF011's fix takes the user app out of TENANT_APPS: existing tenant users stay in their schemas
# (and keep shadowing public's table) until move-users moves them.
MOVE_USERS_RUNBOOK = (
    "### Before deploying: move the existing tenant users (TF011)",
    "",
    "This branch takes the user app out of TENANT_APPS (users shared by every tenant). It changes "
    "no table: on a database that already has tenants, each tenant schema keeps its own user "
    "table, which still shadows the public one and which the tenant's rows reference. Move "
    'those users into public before deploying, on each such database (README: "Moving users '
    'from per-tenant to global: `tenantfix move-users`"):',
    "",
    "1. Back up the database and stop writes; check out this branch.",
    '2. `tenantfix move-users --database-url "$DATABASE_URL"`: the plan (read-only): users '
    "inserted or matched, every foreign key to rewrite, every clash.",
    '3. `tenantfix move-users --database-url "$DATABASE_URL" --verify`: the whole move and its '
    "proofs on a clone.",
    '4. `tenantfix move-users --database-url "$DATABASE_URL" --execute`, then deploy.',
    "",
    "A database without tenant users (a new one) needs nothing.",
)


def fingerprint_from_body(body: str) -> str | None:
    found = _FINGERPRINT_RE.findall(body or "")
    return found[-1] if found else None


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _change_summary(old: bytes | None, new: bytes | None) -> str:
    if new is None:
        return "deleted"
    if old is None:
        lines = len(new.decode("utf-8", "replace").splitlines())
        return f"new file, {lines} line{'s' if lines != 1 else ''}"
    added = removed = 0
    diff = difflib.unified_diff(
        old.decode("utf-8", "replace").splitlines(),
        new.decode("utf-8", "replace").splitlines(),
        lineterm="",
        n=0,
    )
    for line in diff:
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return f"modified, +{added} -{removed}"


# Only a fix of a finding that makes a migration fail can leave databases with phantom records.
REPAIR_RUNBOOK = (
    "### Databases that already ran the failing migration",
    "",
    "A database where `migrate_schemas --shared` already failed (or half-ran) keeps migration "
    "records for tables that do not exist. After merging, on each such database:",
    "",
    '1. `tenantfix repair-db --database-url "$DATABASE_URL"` — finds those phantom records and '
    "resets them (migration records only, never tables or rows).",
    "2. `python manage.py migrate_schemas --shared`",
    "3. `python manage.py migrate_schemas --tenant`",
    "",
    "New databases need nothing special.",
)


def _fails_a_migration(diagnostic: Diagnostic) -> bool:
    prediction = diagnostic.prediction
    return prediction is not None and prediction.step.startswith("migrate_schemas")


def render(
    *,
    title: str,
    fixed: Sequence[Diagnostic],
    unfixed: Sequence[Diagnostic] = (),
    changes: Mapping[str, bytes | None],
    originals: Mapping[str, bytes | None],
    base: str,
    base_sha: str,
    fingerprint: str,
    prefix: str = "",
    verification: Verification | None = None,
) -> str:
    """Markdown for GitHub and GitLab; ``prefix`` is the project's folder in the repository."""
    out: list[str] = [FINGERPRINT_COMMENT.format(fingerprint), f"## {title}", ""]
    count = len(fixed)
    out.append(
        f"`tenantfix check` found {count} problem{'s' if count != 1 else ''} in the "
        f"django-tenants configuration of `{base}` (`{base_sha[:12]}`); this branch fixes "
        f"{'them' if count != 1 else 'it'}."
    )
    predictions = list(dict.fromkeys(d.prediction.sentence() for d in fixed if d.prediction))
    if predictions:
        out += ["", "### What fails today", ""]
        out += [f"- {p}." for p in predictions]
    out += ["", "### Findings", "", "| Code | Where | What | Why |", "|---|---|---|---|"]
    for d in fixed:
        where = f"`{prefix}{d.location.path}:{d.location.line}`"
        out.append(f"| {d.code} | {where} | {_cell(d.message)} | {_cell(d.why)} |")
    pictured = [d for d in fixed if d.placement]
    if pictured:
        from tenantfix.report.placement import crossing_line, markdown_table, mermaid

        out += ["", "### Where the apps live, before and after this fix", ""]
        for d in pictured:
            crossing = crossing_line(d)
            out.append(f"**{d.code}**" + (f": `{crossing}`" if crossing else ""))
            out += ["", *markdown_table(d.placement), ""]
            out += [*mermaid(d), ""] if d.crossing else []
        out.pop()
    if unfixed:
        out += ["", "Not changed here (no automatic fix; a human decision is needed):", ""]
        out += [
            f"- {d.code} `{prefix}{d.location.path}:{d.location.line}`: {d.message} — {d.fix_summary}"
            for d in unfixed
        ]
    out += ["", "### Changes", "", "| File | Change |", "|---|---|"]
    for path in sorted(changes):
        out.append(f"| `{prefix}{path}` | {_change_summary(originals.get(path), changes[path])} |")
    fixes = list(dict.fromkeys(d.fix_summary for d in fixed))
    if fixes:
        out += [""] + [f"- {_cell(f)}" for f in fixes]
    out += ["", "### Verification", ""]
    if verification is None:
        out.append(
            "Static re-check passed: the fixed findings are gone from the changed tree. The real "
            "migration run was not part of this job; run `tenantfix apply --verify` to prove it "
            "on a throwaway PostgreSQL."
        )
    else:
        mark = "passed" if verification.passed else "FAILED"
        out.append(f"**{mark}**: {verification.summary}")
        if verification.details:
            out += [
                "",
                "<details><summary>Log</summary>",
                "",
                "```",
                verification.details.rstrip(),
                "```",
                "",
                "</details>",
            ]
    if any(d.code == "TF011" for d in fixed):
        out += ["", *MOVE_USERS_RUNBOOK]
    if any(_fails_a_migration(d) for d in fixed):
        out += ["", *REPAIR_RUNBOOK]
    out += [
        "",
        "---",
        f"<sub>Opened by tenantfix {__version__}. This pull request is kept up to date: when "
        f"`{base}` moves or the findings change, the branch is rebuilt and force-pushed; when "
        "the problem is gone from the base branch, it is closed. Commits pushed to this branch "
        "by anyone else stop the bot from overwriting it.</sub>",
        "",
    ]
    return "\n".join(out)
