"""``--format sarif``: validated against the official SARIF 2.1.0 schema (vendored, see
SCHEMA_SOURCE.md), plus the parts GitHub code scanning relies on."""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import libcst as cst
import pytest
from report_samples import sample

from tenantfix.checks import Check
from tenantfix.codemod import CODEMODS, TenantCodemod, register
from tenantfix.graph.model import Location
from tenantfix.plan import Diagnostic, Fix
from tenantfix.report import render

SCHEMA_PATH = Path(__file__).with_name("sarif-schema-2.1.0.json")
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    raw = SCHEMA_PATH.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256, "vendored schema was modified"
    schema = json.loads(raw)
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


class UppercaseAppName(TenantCodemod):
    """Upper-cases one string literal: enough to produce a real edit for the SARIF fix."""

    DESCRIPTION = "upper-case a string"

    def __init__(self, context: cst.codemod.CodemodContext, **kwargs: object) -> None:
        super().__init__(context)
        self.value = str(kwargs["value"])

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.SimpleString:
        if original_node.evaluated_value == self.value:
            return updated_node.with_changes(value=repr(self.value.upper()))
        return updated_node


@pytest.fixture
def upper_codemod() -> Iterator[str]:
    register(UppercaseAppName)
    name = UppercaseAppName.__module__.rpartition(".")[2]
    try:
        yield name
    finally:
        CODEMODS.pop(name, None)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "repo" / "proj"
    (root / "accreditation_portal").mkdir(parents=True)
    (root / "accreditation_portal" / "settings.py").write_text(
        "SHARED_APPS = [\n    'django_tenants',\n    'core',\n]\nTENANT_APPS = ['users']\n"
    )
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    return root


def _log(diags: list[Diagnostic], root: Path) -> dict[str, object]:
    return json.loads(
        render(diags, "sarif", root=str(root), graph_source="static", tool_version="0.1.0")
    )


def test_sample_log_is_valid_sarif(validator, project: Path, sample_check: Check) -> None:
    log = _log(sample(), project)
    errors = sorted(validator.iter_errors(log), key=str)
    assert not errors, [e.message for e in errors]
    run = log["runs"][0]
    assert log["version"] == "2.1.0"
    assert run["tool"]["driver"]["name"] == "tenantfix"
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        loc = result["locations"][0]["physicalLocation"]
        # relative to the git work tree (GitHub resolves URIs against the repository root)
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert loc["artifactLocation"]["uri"].startswith("proj/")
        assert loc["region"]["startLine"] >= 1
        assert result["partialFingerprints"]["tenantfix/v1"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == (project.parent.as_uri() + "/")
    first = run["results"][0]
    assert first["level"] == "error"
    assert 'relation "users_user" does not exist' in first["message"]["text"]
    warning = next(r for r in run["results"] if r["ruleId"] == "TF011")
    assert warning["level"] == "warning"


def test_registered_rule_carries_docstring(validator, project: Path, sample_check: Check) -> None:
    log = _log([], project)
    assert not list(validator.iter_errors(log))
    rule = next(r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "TF999")
    assert rule["name"] == "sample-problem"
    assert rule["shortDescription"]["text"] == "Sample problem used by the report tests."
    assert rule["fullDescription"]["text"].startswith("Explains, in a second paragraph, why")
    assert "Fix (unsafe): share the sample app" in rule["help"]["text"]
    assert rule["defaultConfiguration"]["level"] == "warning"
    assert log["runs"][0]["results"] == []


def test_codemod_fix_becomes_replacements(validator, project: Path, upper_codemod: str) -> None:
    settings = "accreditation_portal/settings.py"
    diag = Diagnostic(
        "TF001",
        "user app not shared",
        Location(settings, 3),
        "why",
        "upper-case core",
        fixes=(
            Fix("codemod", upper_codemod, settings, (("value", "core"),), description="shout"),
            Fix("makemigrations", "makemigrations", None, (("app_label", "users"),)),
        ),
    )
    log = _log([diag], project)
    assert not list(validator.iter_errors(log))
    result = log["runs"][0]["results"][0]
    (fix,) = result["fixes"]  # the makemigrations fix has no replacement text: properties only
    assert fix["description"]["text"] == "shout"
    (change,) = fix["artifactChanges"]
    assert change["artifactLocation"] == {"uri": f"proj/{settings}", "uriBaseId": "%SRCROOT%"}
    before = (project / settings).read_text()
    after = before
    for rep in sorted(change["replacements"], key=lambda r: -r["deletedRegion"]["charOffset"]):
        start = rep["deletedRegion"]["charOffset"]
        end = start + rep["deletedRegion"]["charLength"]
        after = after[:start] + rep.get("insertedContent", {}).get("text", "") + after[end:]
    assert after == before.replace("'core'", "'CORE'")
    assert [f["kind"] for f in result["properties"]["fixes"]] == ["codemod", "makemigrations"]


def test_fix_without_replacement_would_be_invalid(validator) -> None:
    # why fixes are omitted when no replacement text exists: the schema rejects them
    log = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "x"}},
                "results": [
                    {
                        "message": {"text": "m"},
                        "fixes": [{"description": {"text": "d"}, "artifactChanges": []}],
                    }
                ],
            }
        ],
    }
    assert list(validator.iter_errors(log))


def test_outside_git_uses_project_root(validator, tmp_path: Path) -> None:
    diag = sample()[0]
    log = _log([diag], tmp_path)
    assert not list(validator.iter_errors(log))
    loc = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert loc == {"uri": "accreditation_portal/settings.py", "uriBaseId": "%SRCROOT%"}


WRITEUP = Path(__file__).resolve().parents[1] / "fixtures" / "writeup_project"


def test_check_on_writeup_project_emits_valid_sarif_with_fixes(validator, tmp_path: Path) -> None:
    project = tmp_path / "writeup"
    shutil.copytree(WRITEUP, project)
    proc = subprocess.run(
        [sys.executable, "-m", "tenantfix", "check", "--format", "sarif"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    log = json.loads(proc.stdout)
    errors = [e.message for e in validator.iter_errors(log)]
    assert not errors
    results = {r["ruleId"]: r for r in log["runs"][0]["results"]}
    assert {"TF001", "TF005"} <= set(results)
    tf001 = results["TF001"]
    assert 'relation "users_user" does not exist' in tf001["message"]["text"]
    (fix,) = tf001["fixes"]
    (change,) = fix["artifactChanges"]
    path = project / change["artifactLocation"]["uri"]
    text = path.read_text()
    for rep in sorted(change["replacements"], key=lambda r: -r["deletedRegion"]["charOffset"]):
        start = rep["deletedRegion"]["charOffset"]
        end = start + rep["deletedRegion"]["charLength"]
        text = text[:start] + rep.get("insertedContent", {}).get("text", "") + text[end:]
    lists = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.parse(text).body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id in {"SHARED_APPS", "TENANT_APPS"}
    }
    assert "users" in lists["SHARED_APPS"]
    # TF005's fix is a makemigrations run: no replacement text, so no SARIF fix
    assert "fixes" not in results["TF005"]
    assert results["TF005"]["properties"]["fixes"][0]["kind"] == "makemigrations"
