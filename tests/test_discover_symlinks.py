"""Discovery never follows a directory symlink out of or back into the tree it walks."""

from __future__ import annotations

import os
from pathlib import Path

from support_git import FIXTURES, copy_project, init_repo
from support_snapshot import full_snapshot, tenantfix

from tenantfix.discover import find_manage_py


def _repo_with_project_in(tmp_path: Path, sub: str) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    copy_project(FIXTURES / "writeup_project", repo / sub)
    return repo


def test_a_loop_symlink_at_the_root_does_not_multiply_manage_py(tmp_path: Path) -> None:
    repo = _repo_with_project_in(tmp_path, "backend")
    os.symlink(".", repo / "loop")
    init_repo(repo)
    assert find_manage_py(repo) == repo.resolve() / "backend" / "manage.py"
    tmp = tmp_path / "tmp"
    before = full_snapshot(repo, tmp)
    ran = tenantfix("check", ".", cwd=repo, tmpdir=tmp)
    assert ran.code == 1, ran.output  # the project's findings, not "several Django projects"
    assert "several Django projects" not in ran.output
    assert "TF001" in ran.stdout
    assert "Traceback" not in ran.output
    assert full_snapshot(repo, tmp) == before


def test_a_symlink_out_of_the_tree_is_not_followed(tmp_path: Path) -> None:
    outside = copy_project(FIXTURES / "writeup_project", tmp_path / "outside")
    repo = _repo_with_project_in(tmp_path, "backend")
    os.symlink(outside, repo / "vendored")
    os.symlink(repo / "backend", repo / "alias")  # back into the tree
    init_repo(repo)
    assert find_manage_py(repo) == repo.resolve() / "backend" / "manage.py"
