"""--fail-level: `check` and `apply` exit 1 only for findings at or above it, as Django's
`manage.py check --fail-level` (warnings alone pass at the default `error`)."""

from __future__ import annotations

import json

import pytest
from fixture_trees import check_json, copy_before
from typer.testing import CliRunner

from tenantfix.cli import app
from tenantfix.fail_level import failing, parse_fail_level
from tenantfix.graph.model import Location
from tenantfix.plan import Diagnostic

runner = CliRunner()
# a healthy project whose only finding is a warning: django_tenants installed, not first
WARNINGS_ONLY = "tf009_django_tenants_not_first__not_first"
# an error: django_tenants missing from INSTALLED_APPS (Unknown command: 'migrate_schemas')
ERROR = "tf009_django_tenants_not_first__missing"
# a warning whose only fix is unsafe (not applied by default): the user app in both lists
UNFIXABLE_WARNING = "tf011_user_app_in_both_lists__users_in_both"


def _check(project, *args):
    return runner.invoke(app, ["check", *args, str(project)])


def test_warnings_alone_exit_0_and_fail_at_warning_level(tmp_path):
    project = copy_before(WARNINGS_ONLY, tmp_path / "p")
    code, findings = check_json(project)
    assert [(f["code"], f["severity"]) for f in findings] == [("TF009", "warning")]
    assert code == 0
    result = _check(project)
    assert result.exit_code == 0, result.output
    assert "TF009 [*] warning:" in result.stdout
    assert "1 finding (0 errors, 1 warning)" in result.stdout
    for level in ("warning", "WARNING"):
        assert _check(project, "--fail-level", level).exit_code == 1
    assert _check(project, "--fail-level", "warning", "--exit-zero").exit_code == 0


def test_errors_fail_at_either_level(tmp_path):
    project = copy_before(ERROR, tmp_path / "p")
    assert _check(project).exit_code == 1
    assert _check(project, "--fail-level", "error").exit_code == 1
    assert _check(project, "--fail-level", "warning").exit_code == 1
    assert _check(project, "--exit-zero").exit_code == 0


def test_fail_level_from_pyproject_and_flag_overrides_it(tmp_path):
    project = copy_before(WARNINGS_ONLY, tmp_path / "p")
    (project / "pyproject.toml").write_text('[tool.tenantfix]\nfail-level = "warning"\n')
    assert _check(project).exit_code == 1
    assert _check(project, "--fail-level", "error").exit_code == 0


def test_bad_fail_level_is_a_usage_error(tmp_path):
    project = copy_before(WARNINGS_ONLY, tmp_path / "p")
    assert _check(project, "--fail-level", "info").exit_code == 2
    (project / "pyproject.toml").write_text('[tool.tenantfix]\nfail-level = "info"\n')
    result = _check(project)
    assert result.exit_code == 2
    assert "pyproject.toml: [tool.tenantfix]: `fail-level`" in result.stderr


def test_sarif_and_github_levels_follow_severity(tmp_path):
    project = copy_before(WARNINGS_ONLY, tmp_path / "p")
    sarif = json.loads(_check(project, "--format", "sarif").stdout)
    assert [r["level"] for r in sarif["runs"][0]["results"]] == ["warning"]
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["TF013"]["properties"]["defaultSelection"] is False
    assert rules["TF013"]["defaultConfiguration"]["level"] == "warning"
    assert rules["TF001"]["properties"]["defaultSelection"] is True
    github = _check(project, "--format", "github").stdout
    assert github.startswith("::warning file=")
    error_project = copy_before(ERROR, tmp_path / "e")
    assert _check(error_project, "--format", "github").stdout.startswith("::error file=")


def test_apply_unfixable_warning_exits_0_unless_fail_level_warning(tmp_path):
    project = copy_before(UNFIXABLE_WARNING, tmp_path / "p")
    result = runner.invoke(app, ["apply", "--no-commit", str(project)])
    assert result.exit_code == 0, result.output
    assert "need a human decision" in result.stderr
    result = runner.invoke(app, ["apply", "--no-commit", "--fail-level", "warning", str(project)])
    assert result.exit_code == 1, result.output


def test_apply_unfixable_error_exits_1(tmp_path):
    # TF004's fix is unsafe: without --unsafe-fixes the error stays, and apply says so
    project = copy_before("tf004_shared_model_references_tenant_model__shared_fk", tmp_path / "p")
    result = runner.invoke(app, ["apply", "--no-commit", str(project)])
    assert result.exit_code == 1, result.output


def _diag(severity):
    return Diagnostic("TF999", "m", Location("s.py", 1), "why", "fix", severity=severity)


def test_failing_orders_levels_as_django():
    both = [_diag("warning"), _diag("error")]
    assert [d.severity for d in failing(both, "error")] == ["error"]
    assert [d.severity for d in failing(both, "warning")] == ["warning", "error"]
    assert parse_fail_level(" Error ") == "error"
    with pytest.raises(ValueError):
        parse_fail_level("critical")
