"""``--format json``: the document's shape and the summary counts."""

from __future__ import annotations

import json

import pytest
from report_samples import sample

from tenantfix.errors import TenantfixError
from tenantfix.report import FORMATS, render


def test_json_document_has_every_finding_and_counts() -> None:
    diags = sample()
    doc = json.loads(render(diags, "json", root="/proj", graph_source="probe", tool_version="9.9"))
    assert doc["version"] == 1
    assert doc["tool"] == {"name": "tenantfix", "version": "9.9"}
    assert doc["root"] == "/proj"
    assert doc["graph"] == "probe"
    assert [f["code"] for f in doc["findings"]] == ["TF001", "TF004", "TF005", "TF011"]
    first = doc["findings"][0]
    assert first["path"] == "accreditation_portal/settings.py"
    assert first["line"] == 13
    assert first["fixable"] is True
    assert first["fix_safety"] == "safe"
    assert first["prediction"]["migration"] == "admin.0001_initial"
    assert "admin.0001_initial" in first["prediction"]["text"]
    assert doc["findings"][1]["fix_safety"] == "unsafe"
    assert doc["findings"][3]["fixable"] is False
    assert doc["summary"] == {
        "total": 4,
        "errors": 3,
        "warnings": 1,
        "fixable": 3,
        "fixable_safe": 2,
        "fixable_unsafe": 1,
        "by_code": {"TF001": 1, "TF004": 1, "TF005": 1, "TF011": 1},
    }


def test_json_no_findings() -> None:
    doc = json.loads(render([], "json", root=".", tool_version="1"))
    assert doc["findings"] == []
    assert doc["summary"]["total"] == 0
    assert doc["graph"] == "static"


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(TenantfixError) as exc:
        render([], "xml", root=".", tool_version="1")
    assert exc.value.exit_code == 2
    assert all(name in exc.value.message for name in FORMATS)
