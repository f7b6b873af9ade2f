"""The user-app fix on every settings layout: before/ -> after/, byte for byte, then a no-op."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fixture_trees import tree
from typer.testing import CliRunner

from tenantfix.cli import app

LAYOUTS = Path(__file__).parent / "fixtures" / "layouts"
CASES = sorted(p.name for p in LAYOUTS.iterdir() if (p / "after").is_dir())


@pytest.mark.parametrize("case", CASES)
def test_fix_matches_expected_tree_and_is_idempotent(case, tmp_path):
    project = tmp_path / case
    shutil.copytree(LAYOUTS / case / "before", project)
    runner = CliRunner()
    first = runner.invoke(app, ["apply", "--no-commit", str(project)])
    assert first.exit_code == 0, first.output
    assert tree(project) == tree(LAYOUTS / case / "after")
    second = runner.invoke(app, ["apply", "--no-commit", str(project)])
    assert second.exit_code == 0, second.output
    assert "Nothing to fix" in second.output
    assert tree(project) == tree(LAYOUTS / case / "after")
    assert runner.invoke(app, ["check", str(project)]).exit_code == 0


def test_every_layout_has_an_expected_tree():
    assert CASES == [
        "appconfig_paths",
        "lists_module",
        "settings_package",
        "single_list",
        "tuples_concat",
    ]


def test_legacy_django_tenant_schemas_project_is_understood_the_same_way(tmp_path):
    # django-tenant-schemas (`tenant_schemas`) names its app, router and backend differently;
    # the user-app mistake and its fix are the same.
    project = tmp_path / "legacy"
    shutil.copytree(LAYOUTS / "single_list" / "before", project)
    settings = project / "proj" / "settings.py"
    settings.write_text(settings.read_text().replace("django_tenants", "tenant_schemas"))
    runner = CliRunner()
    check = runner.invoke(app, ["check", "--format", "json", str(project)])
    assert [f["code"] for f in json.loads(check.stdout)["findings"]] == ["TF001"]
    assert runner.invoke(app, ["apply", "--no-commit", str(project)]).exit_code == 0
    expected = (LAYOUTS / "single_list" / "after" / "proj" / "settings.py").read_text()
    assert settings.read_text() == expected.replace("django_tenants", "tenant_schemas")
