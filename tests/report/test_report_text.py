"""``--format text``: ruff-like blocks, the summary line, and no ANSI unless asked."""

from __future__ import annotations

import os
import re

import pytest
from report_samples import sample

from tenantfix.report import render


@pytest.fixture
def in_root(tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    return str(tmp_path)


def test_text_blocks(in_root: str) -> None:
    out = render(sample(), "text", root=in_root, tool_version="1")
    assert "\x1b[" not in out
    blocks = out.split("\n\n")
    first = blocks[0].splitlines()
    assert first[0] == (
        "accreditation_portal/settings.py:13: TF001 [*] error: user app `users` is not in SHARED_APPS, "
        "but `django.contrib.admin` is"
    )
    assert first[1] == (
        "  what breaks: `migrate_schemas --shared` will fail at `admin.0001_initial` with "
        '`relation "users_user" does not exist`'
    )
    assert first[2].startswith("  why: admin.0001_initial creates django_admin_log")
    assert first[3] == "  fix: add 'users' to SHARED_APPS [fixable with `tenantfix apply`]"
    unsafe = blocks[1].splitlines()
    assert " [*] " not in unsafe[0]
    assert unsafe[-1].endswith("[unsafe fix: `tenantfix apply --unsafe-fixes`]")
    assert (
        unsafe[0]
        == "core/models.py:7: TF004 error: shared model `core.Org` references tenant-only `docs.Doc`"
    )
    warning = blocks[3].splitlines()
    assert warning[0] == (
        "accreditation_portal/settings.py:30: TF011 warning: user app `users` is in both "
        "SHARED_APPS and TENANT_APPS"
    )
    # a multi-line why is folded to one line so each finding stays grep-able
    assert (
        warning[1] == "  why: each tenant gets its own users_user, which shadows public.users_user"
    )
    assert warning[2] == "  fix: [no automatic fix]"
    assert out.rstrip("\n").splitlines()[-1] == (
        "4 findings (3 errors, 1 warning), 2 fixable with `tenantfix apply`, 1 more with `tenantfix apply "
        "--unsafe-fixes` (graph: static)."
    )


def test_text_paths_relative_to_cwd(
    tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = os.path.join(str(tmp_path), "proj")
    monkeypatch.chdir(tmp_path)
    out = render(sample()[:1], "text", root=project, tool_version="1")
    assert out.startswith("proj/accreditation_portal/settings.py:13: TF001")
    assert out.rstrip().endswith(
        "1 finding (1 error, 0 warnings), 1 fixable with `tenantfix apply` (graph: static)."
    )


def test_text_color_only_when_asked(in_root: str) -> None:
    plain = render(sample(), "text", root=in_root, tool_version="1")
    colored = render(sample(), "text", root=in_root, tool_version="1", color=True)
    assert "\x1b[" in colored
    assert re.sub(r"\x1b\[[0-9;]*m", "", colored) == plain


def test_text_no_findings() -> None:
    assert render([], "text", root=".", graph_source="probe", tool_version="1") == (
        "No findings (graph: probe).\n"
    )
