"""One libcst parse per file, and megabyte settings modules rewritten without parsing it all.

The fixes of one file run on one tree (``run_codemods``); a large module is reduced to its
relevant statements and restored byte for byte. The result must equal what the codemods give
on the whole module, on a real git repository whose checkout stays untouched.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from support_git import FIXTURES, copy_project, git, init_repo
from support_snapshot import full_snapshot, tenantfix

from tenantfix.codemod import run_codemod, run_codemods
from tenantfix.pipeline import Options, analyse, selected_fixes
from tenantfix.rewrite import SPARSE_FROM_BYTES, _reduce, rewrite_file

SETTINGS = "accreditation_portal/settings.py"
BRANCH = "tenantfix/shared-user-app"


def _padding(size: int) -> str:
    lines = ["\n# generated: per-tenant feature flags\n"]
    total, i = 0, 0
    while total < size:
        line = (
            f"FEATURE_{i:05d} = {{'enabled': {i % 2 == 0}, 'owner': 'team-{i % 7}'}}  # flag {i}\n"
        )
        if i % 500 == 0:
            line = f"\n# block {i // 500}\n" + line
        lines.append(line)
        total += len(line)
        i += 1
    return "".join(lines)


def _big_project(tmp_path: Path) -> Path:
    project = copy_project(FIXTURES / "writeup_project", tmp_path / "portal")
    settings = project / SETTINGS
    text = settings.read_text()
    # django_tenants second: a third codemod (move first) on the same file
    text = text.replace(
        "SHARED_APPS = [\n    'django_tenants',\n    'django.contrib.admin',\n",
        "SHARED_APPS = [\n    'django.contrib.admin',\n    'django_tenants',\n",
    )
    head, sep, tail = text.partition("TENANT_MODEL =")
    # padding before and after the lists the codemods edit
    settings.write_text(
        head + _padding(SPARSE_FROM_BYTES // 2) + sep + tail + _padding(SPARSE_FROM_BYTES)
    )
    return project


def _settings_fixes(project: Path):
    analysis = analyse(project, Options())
    fixes = [
        fix
        for d in analysis.diagnostics
        for fix in selected_fixes(d, Options())
        if fix.path == SETTINGS
    ]
    assert len({f.name for f in fixes}) >= 3, fixes
    return fixes


def test_large_module_gives_exactly_what_the_whole_module_gives(tmp_path: Path) -> None:
    project = _big_project(tmp_path)
    original = (project / SETTINGS).read_text()
    fixes = _settings_fixes(project)
    assert _reduce(original, frozenset({"SHARED_APPS", "TENANT_APPS"})) is not None
    sparse = rewrite_file(project, SETTINGS, fixes)
    whole = run_codemods([(f.name, dict(f.args)) for f in fixes], original, filename=SETTINGS)
    assert whole.failed_step is None
    assert sparse.new == whole.code
    changed = [
        (a, b)
        for a, b in zip(original.splitlines(), sparse.new.splitlines(), strict=False)
        if a != b
    ]
    assert changed  # the lists were edited; the padding is byte for byte the same
    assert sparse.new.count("FEATURE_") == original.count("FEATURE_")


def test_codemods_on_one_tree_equal_the_codemods_one_after_another(tmp_path: Path) -> None:
    project = copy_project(FIXTURES / "writeup_project", tmp_path / "portal")
    fixes = _settings_fixes(_big_project(tmp_path / "big"))
    code = (project / SETTINGS).read_text()
    one_by_one = code
    for fix in fixes:
        result = run_codemod(fix.name, one_by_one, dict(fix.args), filename=SETTINGS)
        assert result.failed_step is None
        one_by_one = result.code
    together = run_codemods([(f.name, dict(f.args)) for f in fixes], code, filename=SETTINGS)
    assert together.code == one_by_one != code


def test_apply_on_a_large_settings_module_in_a_git_repository(tmp_path: Path) -> None:
    repo = init_repo(_big_project(tmp_path))
    tmp = tmp_path / "tmp"
    before = full_snapshot(repo, tmp)
    ran = tenantfix("apply", str(repo), cwd=repo, tmpdir=tmp)
    assert ran.code == 0, ran.output
    after = full_snapshot(repo, tmp)
    assert after == {**before, "refs": after["refs"]}  # only the new branch
    diff = git(repo, "diff", "--numstat", f"main...{BRANCH}", "--", SETTINGS)
    added, removed, _ = diff.split("\t")
    assert (int(added), int(removed)) == (2, 2)  # users moved, django_tenants moved first


def test_crlf_line_ends_are_kept(tmp_path: Path) -> None:
    project = copy_project(FIXTURES / "writeup_project", tmp_path / "portal")
    settings = project / SETTINGS
    settings.write_bytes(settings.read_bytes().replace(b"\n", b"\r\n"))
    (project / ".gitattributes").write_text("* -text\n")
    repo = init_repo(project)
    ran = tenantfix("apply", str(repo), cwd=repo, tmpdir=tmp_path / "tmp")
    assert ran.code == 0, ran.output
    show = ["git", "show", f"{BRANCH}:{SETTINGS}"]
    new = subprocess.run(show, cwd=repo, capture_output=True, check=True).stdout
    assert new.count(b"\r\n") == new.count(b"\n") > 90  # every line still ends in CRLF
    numstat = git(repo, "diff", "--numstat", f"main...{BRANCH}", "--", SETTINGS)
    assert numstat.split("\t")[:2] == ["1", "1"]
