"""TF008-TF011 fixture cases end to end: `check` reports exactly the expected codes, `apply`
turns before/ into after/ (or leaves it alone), a second run changes nothing, and the errors the
findings quote are the ones Django really prints."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from typer.testing import CliRunner

from tenantfix.cli import app

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(
    p.name for p in FIXTURES.iterdir() if re.match(r"tf0(08|09|10|11)_", p.name) and p.is_dir()
)


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def check_json(project: Path) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(app, ["check", "--format", "json", str(project)])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)["findings"]


def test_every_rule_has_a_finding_and_a_noop_case():
    for code in ("tf008", "tf009", "tf010", "tf011"):
        mine = [c for c in CASES if c.startswith(code)]
        assert any(c.endswith("__noop") for c in mine), code
        assert any(not c.endswith("__noop") for c in mine), code


@pytest.mark.parametrize("case", CASES)
def test_case(case, tmp_path):
    spec = tomllib.loads((FIXTURES / case / "case.toml").read_text())
    project = tmp_path / case
    shutil.copytree(FIXTURES / case / "before", project)
    exit_code, findings = check_json(project)
    assert sorted(f["code"] for f in findings) == sorted(spec["diagnostics"])
    assert exit_code == spec["exit_code"]

    runner = CliRunner()
    applied = runner.invoke(app, ["apply", "--no-commit", str(project)])
    expected = FIXTURES / case / ("after" if (FIXTURES / case / "after").is_dir() else "before")
    assert tree(project) == tree(expected), applied.output
    again = runner.invoke(app, ["apply", "--no-commit", str(project)])
    assert tree(project) == tree(expected), again.output
    if expected.name == "after":
        fixed = {f["code"] for f in findings if f["fixable"]}
        _, remaining = check_json(project)
        assert not fixed & {f["code"] for f in remaining}


def manage(project: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout + done.stderr


def test_tf010_quotes_what_django_tenants_raises(tmp_path):
    project = tmp_path / "p"
    shutil.copytree(
        FIXTURES / "tf010_tenant_router_or_backend_missing__router_and_engine" / "before", project
    )
    _, findings = check_json(project)
    router, engine = sorted(findings, key=lambda f: f["message"])
    printed = manage(project, "check")
    quoted = re.search(r"`(ImproperlyConfigured: [^`]+)`", router["why"]).group(1)
    assert quoted in printed

    # With the router in place, the plain ENGINE is what fails next, before any connection.
    settings = project / "proj" / "settings.py"
    settings.write_text(
        settings.read_text() + 'DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)\n'
    )
    printed = manage(project, "migrate_schemas", "--shared")
    quoted = re.search(r"`(AttributeError: [^`]+)`", engine["why"]).group(1)
    assert quoted in printed


def test_tf009_missing_app_quotes_what_django_prints(tmp_path):
    project = tmp_path / "p"
    shutil.copytree(FIXTURES / "tf009_django_tenants_not_first__noop" / "before", project)
    settings = project / "proj" / "settings.py"
    settings.write_text(settings.read_text().replace('    "django_tenants",\n', "", 1))
    _, findings = check_json(project)
    (finding,) = [f for f in findings if f["code"] == "TF009"]
    assert finding["message"] == "'django_tenants' is missing from SHARED_APPS"
    quoted = re.search(r"`(Unknown command: [^`]+)`", finding["why"]).group(1)
    assert quoted in manage(project, "migrate_schemas")
