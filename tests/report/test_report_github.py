"""``--format github``: workflow commands with the runner's escaping."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_samples import sample

from tenantfix.graph.model import Location
from tenantfix.plan import Diagnostic
from tenantfix.report import render
from tenantfix.report.github import escape_data, escape_property


def test_escaping() -> None:
    assert escape_data("50%\r\nnext: a, b") == "50%25%0D%0Anext: a, b"
    assert escape_property("a%b\nc:d,e") == "a%25b%0Ac%3Ad%2Ce"


def test_annotations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = render(sample(), "github", root="proj", tool_version="1")
    lines = out.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith(
        "::error file=proj/accreditation_portal/settings.py,line=13,title=TF001::"
        "user app `users` is not in SHARED_APPS, but `django.contrib.admin` is%0A"
        "What breaks: `migrate_schemas --shared` will fail at `admin.0001_initial`"
    )
    assert lines[0].endswith("%0AFix: add 'users' to SHARED_APPS (fixable with `tenantfix apply`)")
    assert lines[1].startswith("::error file=proj/core/models.py,line=7,col=5,title=TF004::")
    assert lines[3].startswith(
        "::warning file=proj/accreditation_portal/settings.py,line=30,col=5,"
    )
    # the multi-line why of TF011 is folded, so no raw newline splits the command
    assert "%0AWhy: each tenant gets its own users_user, which shadows" in lines[3]


def test_property_escaping_in_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    diag = Diagnostic("TF008", "odd, path", Location("a,b:c/settings.py", 2), "", "")
    (line,) = render([diag], "github", root=".", tool_version="1").splitlines()
    assert line.startswith("::error file=a%2Cb%3Ac/settings.py,line=2,title=TF008::odd, path%0A")


def test_no_findings_prints_nothing() -> None:
    assert render([], "github", root=".", tool_version="1") == ""
