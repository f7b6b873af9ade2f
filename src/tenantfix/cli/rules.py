"""`tenantfix rules` lists every rule; `tenantfix explain TF001` prints one rule's documentation.

The documentation is the check module's docstring, so the code, the docs and these commands
cannot drift apart. As ``ruff rule`` does, both say whether a rule is in the default selection
(it runs without ``--select``) or opt-in (it runs only when ``--select`` names it).
"""

from __future__ import annotations

import json
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from tenantfix.checks._fix_kind import documented_fix
from tenantfix.cli._app import app
from tenantfix.cli._common import QuietOpt

if TYPE_CHECKING:
    from tenantfix.checks import Check

# the rule's automatic fix as its documentation says it (shared with SARIF's rule metadata)
fix_kind = documented_fix


def selection(chk: Check) -> str:
    return "default" if chk.default else "opt-in"


def _rows() -> list[dict[str, str]]:
    from tenantfix.checks import load_checks
    from tenantfix.report._common import rule_summary

    return [
        {
            "code": code,
            "slug": chk.slug,
            "severity": chk.levels,
            "selection": selection(chk),
            "fix": fix_kind(chk),
            "summary": rule_summary(chk.doc, chk.slug),
        }
        for code, chk in load_checks().items()
    ]


class RulesFormat(str, Enum):
    text = "text"
    json = "json"


@app.command()
def rules(
    output_format: Annotated[
        RulesFormat,
        typer.Option(
            "--format",
            case_sensitive=False,
            help="text (a table) or json.",
        ),
    ] = RulesFormat.text,
    quiet: QuietOpt = False,
) -> None:
    """List every rule: code, slug, severity, default or opt-in, automatic fix and summary."""
    rows = _rows()
    if output_format is RulesFormat.json:
        typer.echo(json.dumps(rows, indent=2))
        return
    headers = {
        "code": "CODE",
        "slug": "NAME",
        "severity": "LEVEL",
        "selection": "SELECTION",
        "fix": "FIX",
        "summary": "SUMMARY",
    }
    widths = {k: max([len(headers[k])] + [len(r[k]) for r in rows]) for k in headers}
    for row in [headers, *rows]:
        cells = [row[k].ljust(widths[k]) for k in ("code", "slug", "severity", "selection", "fix")]
        typer.echo("  ".join([*cells, row["summary"]]).rstrip())
    if quiet:
        return
    opt_in = [r["code"] for r in rows if r["selection"] == "opt-in"]
    typer.echo(f"\n{len(rows)} rules. `tenantfix explain <CODE>` prints a rule's documentation.")
    if opt_in:
        typer.echo(
            f"Without --select the default selection runs; opt-in rules ({', '.join(opt_in)}) run "
            "only when --select names them (--select TF selects every rule)."
        )


@app.command()
def explain(
    code: Annotated[
        str,
        typer.Argument(help="A rule code (TF001) or name (user-app-not-shared)."),
    ],
    quiet: QuietOpt = False,
) -> None:
    """Print a rule's documentation: what breaks, why, and the fix."""
    from tenantfix.checks import load_checks

    checks = load_checks()
    wanted = code.strip()
    chk = checks.get(wanted.upper()) or next(
        (c for c in checks.values() if c.slug == wanted.lower()), None
    )
    if chk is None:
        typer.echo(
            f"error: unknown rule {code!r}; `tenantfix rules` lists the {len(checks)} rules",
            err=True,
        )
        raise typer.Exit(2)
    if quiet:  # the documentation alone
        typer.echo(chk.doc or chk.summary)
        return
    typer.echo(f"{chk.code} ({chk.slug})")
    picked = (
        "default (runs without --select)"
        if chk.default
        else f"opt-in (runs only when --select names it: --select {chk.code})"
    )
    typer.echo(f"level: {chk.levels}, automatic fix: {fix_kind(chk)}, selection: {picked}\n")
    typer.echo(chk.doc or chk.summary)
