"""Every rule fixture case end to end through the CLI (tests/fixtures/tf###_<slug>__<case>/).

Per case: `check --format json` reports exactly `diagnostics` from case.toml (and `exit_code`),
`apply --no-commit [apply_args]` turns before/ into after/ byte for byte (no after/: the tree
stays unchanged; `apply_exit_code`: the exit code apply must give), a second `apply` changes nothing,
and `check` no longer reports the fixed codes.
`select = [...]` in case.toml is passed as `--select` to every command (opt-in rules need it).
"""

from __future__ import annotations

import re

import pytest
import tomllib
from fixture_trees import FIXTURES, check_json, copy_before, select_args, tree
from typer.testing import CliRunner

from tenantfix.checks import load_checks
from tenantfix.cli import app

CASES = sorted(
    p.name
    for p in FIXTURES.iterdir()
    if re.match(r"tf\d{3}_", p.name) and (p / "case.toml").is_file()
)


@pytest.mark.parametrize("case", CASES)
def test_case(case, tmp_path):
    spec = tomllib.loads((FIXTURES / case / "case.toml").read_text())
    project = copy_before(case, tmp_path / case)
    select = select_args(spec)
    exit_code, findings = check_json(project, *select)
    assert sorted(f["code"] for f in findings) == sorted(spec["diagnostics"])
    if "exit_code" in spec:
        assert exit_code == spec["exit_code"]

    runner = CliRunner()
    args = ["apply", "--no-commit", *select, *spec.get("apply_args", []), str(project)]
    applied = runner.invoke(app, args)
    if "apply_exit_code" in spec:  # e.g. 3: apply refuses this project, nothing changed
        assert applied.exit_code == spec["apply_exit_code"], applied.output
    after = FIXTURES / case / "after"
    expected = tree(after if after.is_dir() else FIXTURES / case / "before")
    assert tree(project) == expected, applied.output
    again = runner.invoke(app, args)
    assert again.exit_code in (0, 1, spec.get("apply_exit_code", 0)), again.output
    assert tree(project) == expected, again.output
    if after.is_dir():
        fixed = {f["code"] for f in findings if f["fixable"]}
        _, remaining = check_json(project, *select)
        assert not fixed & {f["code"] for f in remaining}


def test_every_fixture_rule_has_a_finding_and_a_noop_case():
    codes = {c.split("_", 1)[0] for c in CASES}
    for code in codes:
        mine = [c for c in CASES if c.startswith(code + "_")]
        assert any(c.endswith("__noop") for c in mine), code
        assert any(not c.endswith("__noop") for c in mine), code
    assert {c.upper() for c in codes} >= {f"TF{n:03}" for n in (*range(1, 12), *range(13, 18))}
    assert {c.upper() for c in codes} <= set(load_checks())
