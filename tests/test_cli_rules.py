"""`tenantfix rules` and `tenantfix explain`: every registered rule, its docstring, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from tenantfix.checks import Check, load_checks
from tenantfix.cli import app

runner = CliRunner()


def test_rules_table_lists_every_rule(sample_check: Check) -> None:
    result = runner.invoke(app, ["rules"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["CODE", "NAME", "LEVEL", "SELECTION", "FIX", "SUMMARY"]
    checks = load_checks()
    body = [line for line in lines[1:] if line.startswith("TF")]
    assert [line.split()[0] for line in body] == list(checks)
    sample = next(line for line in body if line.startswith("TF999"))
    assert sample.split()[:5] == ["TF999", "sample-problem", "warning", "default", "unsafe"]
    assert sample.endswith("Sample problem used by the report tests.")
    assert f"{len(checks)} rules." in result.stdout


def test_rules_show_both_levels_of_mixed_rules_and_opt_in() -> None:
    rows = {
        r["code"]: r for r in json.loads(runner.invoke(app, ["rules", "--format", "json"]).stdout)
    }
    assert rows["TF009"]["severity"] == "error/warning"
    assert rows["TF001"]["severity"] == "error"
    assert (rows["TF013"]["severity"], rows["TF013"]["selection"]) == ("warning", "opt-in")
    assert {r["selection"] for c, r in rows.items() if c != "TF013"} == {"default"}
    explained = runner.invoke(app, ["explain", "TF013"]).stdout
    assert "selection: opt-in (runs only when --select names it: --select TF013)" in explained


def test_rules_json(sample_check: Check) -> None:
    result = runner.invoke(app, ["rules", "--format", "json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert {r["code"] for r in rows} == set(load_checks())
    assert {
        "code": "TF999",
        "slug": "sample-problem",
        "severity": "warning",
        "selection": "default",
        "fix": "unsafe",
        "summary": "Sample problem used by the report tests.",
    } in rows


@pytest.mark.parametrize("code", sorted(load_checks()))
def test_every_real_rule_has_documentation(code: str) -> None:
    result = runner.invoke(app, ["explain", code])
    assert result.exit_code == 0
    chk = load_checks()[code]
    assert result.stdout.startswith(f"{code} ({chk.slug})\n")
    assert chk.doc and chk.doc in result.stdout


@pytest.mark.parametrize("code", sorted(load_checks()))
def test_explain_shows_a_before_after_example(code: str) -> None:
    """As ``ruff rule``: every rule's documentation carries a minimal example of the problem
    and of the fixed code, in a paragraph of its own before the fix's safety."""
    doc = load_checks()[code].doc
    example = next((p for p in doc.split("\n\n") if p.startswith("Example::")), None)
    assert example is not None, code
    block = doc.split("Example::", 1)[1].split("\nFix", 1)[0]
    assert "before" in block and "after" in block, code


@pytest.mark.parametrize("spelling", ["TF999", "tf999", "sample-problem"])
def test_explain_by_code_or_name(sample_check: Check, spelling: str) -> None:
    result = runner.invoke(app, ["explain", spelling])
    assert result.exit_code == 0
    assert result.stdout.startswith(
        "TF999 (sample-problem)\n"
        "level: warning, automatic fix: unsafe, selection: default (runs without --select)\n"
    )
    assert "Explains, in a second paragraph, why the sample problem breaks" in result.stdout


def test_explain_unknown_code_exits_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tenantfix", "explain", "TF0999"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "error: unknown rule 'TF0999'; `tenantfix rules` lists the" in proc.stderr


def test_a_rule_without_an_automatic_fix_is_not_called_safe_anywhere() -> None:
    """TF017 documents "Fix: none" and TF011 "Fix (unsafe, ...)": rules, explain and SARIF
    agree (TF011's fix is not applied without --unsafe-fixes)."""
    from tenantfix.report.sarif import render as sarif

    rows = {
        r["code"]: r for r in json.loads(runner.invoke(app, ["rules", "--format", "json"]).stdout)
    }
    assert rows["TF017"]["fix"] == "none" and rows["TF011"]["fix"] == "unsafe"
    assert rows["TF001"]["fix"] == "safe" and rows["TF004"]["fix"] == "unsafe"
    assert "automatic fix: none" in runner.invoke(app, ["explain", "TF017"]).stdout
    explained = runner.invoke(app, ["explain", "TF011"]).stdout
    assert "automatic fix: unsafe" in explained and "tenantfix move-users" in explained
    doc = json.loads(sarif([], root=".", graph_source="static", tool_version="0"))
    safety = {
        r["id"]: r["properties"]["fixSafety"] for r in doc["runs"][0]["tool"]["driver"]["rules"]
    }
    assert safety["TF017"] == "none" and safety["TF001"] == "safe"
    assert safety["TF004"] == "unsafe" and safety["TF011"] == "unsafe"
