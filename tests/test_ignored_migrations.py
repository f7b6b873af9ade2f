"""Migrations kept out of git on purpose are unknown, not absent.

rakibulislam8226/django-tenants-with-graphql commits only ``migrations/__init__.py`` and makes
the rest where it deploys (its .gitignore below). ``check`` reported TF005 errors for every app
and ``apply`` force-committed migration files the project ignores. Git's own answer (``git
check-ignore``) now decides: such apps are not judged by TF005, and a note names the rule.
"""

from __future__ import annotations

import json
from pathlib import Path

from support_git import FIXTURES, copy_project, git, init_repo, snapshot
from typer.testing import CliRunner

from tenantfix.cli import app

EMPTY_PACKAGE = FIXTURES / "tf005_app_without_migrations__empty_package" / "before"
# the real project's lines, verbatim
REAL_GITIGNORE = """
**/migrations/**
!**/migrations
!**/migrations/__init__.py
*migrations/*
!migrations/__init__.py
"""


def _project(tmp_path: Path, gitignore: str | None) -> Path:
    repo = init_repo(copy_project(EMPTY_PACKAGE, tmp_path / "proj"))
    if gitignore is not None:
        with (repo / ".gitignore").open("a") as f:
            f.write(gitignore)
        git(repo, "add", ".gitignore")
        git(repo, "commit", "-q", "-m", "keep migrations out of git")
    return repo


def _check(repo: Path) -> tuple[int, list[str], str]:
    result = CliRunner().invoke(app, ["check", "--format", "json", str(repo)])
    codes = [d["code"] for d in json.loads(result.stdout)["findings"]]
    return result.exit_code, codes, result.stderr


def test_without_an_ignore_rule_the_empty_package_is_an_error(tmp_path: Path) -> None:
    code, codes, _ = _check(_project(tmp_path, None))
    assert (code, codes) == (1, ["TF005"])


def test_ignored_migrations_are_not_judged_and_a_note_names_the_rule(tmp_path: Path) -> None:
    code, codes, stderr = _check(_project(tmp_path, REAL_GITIGNORE))
    assert "TF005" not in codes and code == 0, (codes, stderr)
    note = next(ln for ln in stderr.splitlines() if "git ignores the migration files" in ln)
    assert "'accounts'" in note and ".gitignore:" in note and "**/migrations/**" in note
    assert "git add --force" in note


def test_a_negation_that_keeps_the_migration_files_keeps_the_finding(tmp_path: Path) -> None:
    code, codes, stderr = _check(_project(tmp_path, "**/migrations/*.py\n!**/migrations/0*.py\n"))
    assert (code, codes) == (1, ["TF005"]), stderr
    assert "git ignores" not in stderr


def test_apply_does_not_commit_files_the_project_ignores(tmp_path: Path) -> None:
    repo = _project(tmp_path, REAL_GITIGNORE)
    before = snapshot(repo)
    result = CliRunner().invoke(app, ["apply", str(repo)])
    assert result.exit_code == 0, result.output
    assert snapshot(repo) == before
    assert "tenantfix/" not in git(repo, "branch", "--list")


def test_apply_fixing_something_else_still_leaves_ignored_migrations_alone(tmp_path: Path) -> None:
    """apply re-checks its result in a scratch copy outside the repository: git's ignore rules
    are read in the user's repository, or the re-check finds TF005 and a second pass commits
    the ignored migrations (seen with TF011's fix on rakibulislam8226's project)."""
    repo = _project(tmp_path, REAL_GITIGNORE)
    settings = repo / "proj" / "settings.py"
    text = settings.read_text()
    router = 'DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)\n'
    assert router in text
    settings.write_text(text.replace(router, ""))
    git(repo, "commit", "-q", "-am", "no router")
    result = CliRunner().invoke(app, ["apply", str(repo)])
    assert result.exit_code == 0, result.output
    changed = git(repo, "diff", "--name-only", "main", "tenantfix/shared-user-app").split()
    assert changed == ["proj/settings.py"], changed
