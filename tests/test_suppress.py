"""``# tenantfix: ignore[...]``: on the reported line or the statement's first line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantfix.graph.model import Location
from tenantfix.plan import Diagnostic
from tenantfix.suppress import filter_suppressed, parse_suppressions, split_suppressed

SETTINGS = """\
SHARED_APPS = [  # tenantfix: ignore[TF001]
    "django_tenants",
    "core",
]
TENANT_APPS = [
    "users",  # tenantfix: ignore[tf011, TF008]
    "docs",
]
NOTE = "# tenantfix: ignore[TF009]"
ROUTERS = ()  # tenantfix: ignore
ENGINE = "x"  # tenantfix: ignored-typo[TF010]
"""


def _diag(code: str, line: int, path: str = "proj/settings.py") -> Diagnostic:
    return Diagnostic(code, f"{code} at {line}", Location(path, line), "why", "fix")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "settings.py").write_text(SETTINGS)
    return tmp_path


@pytest.mark.parametrize(
    ("code", "line", "suppressed"),
    [
        ("TF001", 1, True),  # on the reported line
        ("TF001", 3, True),  # inside the statement whose first line carries the comment
        ("TF003", 3, False),  # another code
        ("TF011", 6, True),  # case-insensitive, one of several codes
        ("TF008", 6, True),
        ("TF011", 7, False),  # the comment on line 6 covers line 6 only, not its neighbour
        ("TF009", 9, False),  # a `#` inside a string is not a comment
        ("TF010", 10, True),  # bare ignore: every code
        ("TF004", 10, True),
        ("TF010", 11, False),  # not our syntax
    ],
)
def test_rules(root: Path, code: str, line: int, suppressed: bool) -> None:
    diag = _diag(code, line)
    kept, dropped = split_suppressed([diag], root)
    assert (dropped == [diag]) is suppressed
    assert (kept == [diag]) is not suppressed


def test_filter_keeps_order_and_unreadable_files(root: Path) -> None:
    diags = [_diag("TF003", 2), _diag("TF001", 2), _diag("TF005", 1, "missing/models.py")]
    assert filter_suppressed(diags, root) == [diags[0], diags[2]]


def test_statement_start_is_the_innermost_statement() -> None:
    source = "class Org:\n    owner = ForeignKey(  # tenantfix: ignore[TF004]\n        'docs.Doc',\n    )\n"
    sup = parse_suppressions(source, {3})
    assert sup.suppresses(3, "TF004")
    # the class statement starts on line 1, which carries no comment
    assert not parse_suppressions("class Org:  # tenantfix: ignore\n    x = 1\n", {2}).suppresses(
        2, "TF004"
    )


def test_unparsable_file_still_honours_line_comments() -> None:
    sup = parse_suppressions('x = "unterminated  # tenantfix: ignore[TF001]\n', {1})
    assert sup.suppresses(1, "TF001")
