"""Runs a TF006/TF007 fixture case (tests/fixtures/<code>_*/) through the real pipeline.

``check`` must report exactly the case's codes; applying the fixes in a copy must give
after/ byte for byte (or leave the tree unchanged when there is no after/); a second run
must change nothing and report none of the fixed codes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import tomllib

from tenantfix.pipeline import Options, analyse, compute_fixes

FIXTURES = Path(__file__).parent.parent / "fixtures"


def cases(prefix):
    return sorted(p.name for p in FIXTURES.iterdir() if p.name.startswith(prefix))


def tree(root):
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def copy_before(name, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / name / "before", project)
    return project


def run_case(name, tmp_path):
    case = tomllib.loads((FIXTURES / name / "case.toml").read_text())
    options = Options(unsafe_fixes="--unsafe-fixes" in case.get("apply_args", []))
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
