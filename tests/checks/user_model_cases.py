"""Runs a TF006/TF007/TF013 fixture case through the library pipeline (the CLI route is
tests/test_fixtures.py) and hands back the analysis for case-specific assertions.

``check`` must report exactly the case's codes; applying the fixes in a copy must give
after/ byte for byte (or leave the tree unchanged when there is no after/); a second run
must change nothing and report none of the fixed codes.
"""

from __future__ import annotations

import fixture_trees
import tomllib
from fixture_trees import FIXTURES, tree

from tenantfix.pipeline import Options, analyse, compute_fixes


def copy_before(name, tmp_path):
    return fixture_trees.copy_before(name, tmp_path / "project")


def run_case(name, tmp_path):
    case = tomllib.loads((FIXTURES / name / "case.toml").read_text())
    options = Options(
        unsafe_fixes="--unsafe-fixes" in case.get("apply_args", []),
        select=tuple(case.get("select", ())),
    )
    project = copy_before(name, tmp_path)
    before = tree(project)

    analysis = analyse(project, options)
    assert sorted(d.code for d in analysis.diagnostics) == sorted(case["diagnostics"])

    result = compute_fixes(project, options)
    for rel, data in result.changes.items():
        assert data is not None
        (project / rel).write_bytes(data)
    after_dir = FIXTURES / name / "after"
    expected = tree(after_dir) if after_dir.is_dir() else before
    assert tree(project) == expected
    fixed_codes = {d.code for d in result.fixed}
    assert not fixed_codes & {d.code for d in result.remaining_after}

    again = compute_fixes(project, options)
    assert again.changes == {}  # idempotent
    assert not fixed_codes & {d.code for d in again.analysis.diagnostics}
    return analysis, project
