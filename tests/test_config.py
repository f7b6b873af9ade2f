"""``[tool.tenantfix]``: found upwards, validated, merged with flags."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tenantfix.config import Config, ConfigError, find_pyproject, load_config


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_no_pyproject_gives_defaults(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert load_config(tmp_path) == Config()


def test_every_key(tmp_path: Path) -> None:
    pyproject = _write(
        tmp_path / "pyproject.toml",
        """
[project]
name = "portal"

[tool.tenantfix]
select = ["tf00", "TF011"]
ignore = ["TF008"]
unsafe-fixes = true
branch = "tenantfix/fix-shared-apps"
settings = "accreditation_portal.settings.dev"
python = ".venv/bin/python"
keep-in-tenant-apps = ["documents"]
fail-level = "Warning"
""",
    )
    cfg = load_config(tmp_path)
    assert cfg == Config(
        path=str(pyproject),
        select=("TF00", "TF011"),
        ignore=("TF008",),
        unsafe_fixes=True,
        branch="tenantfix/fix-shared-apps",
        settings="accreditation_portal.settings.dev",
        python=str((tmp_path / ".venv/bin/python").resolve()),
        keep_in_tenant_apps=("documents",),
        fail_level="warning",
    )


def test_closest_table_wins_and_search_stops_at_git_top(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", '[tool.tenantfix]\nbranch = "outside"\n')
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    project = repo / "src" / "portal"
    project.mkdir(parents=True)
    # outside the git work tree: not ours to read
    assert find_pyproject(project) is None
    # a pyproject without the table is skipped on the way up
    _write(project / "pyproject.toml", "[tool.ruff]\nline-length = 100\n")
    top = _write(repo / "pyproject.toml", '[tool.tenantfix]\nbranch = "top"\n')
    assert find_pyproject(project) == top
    assert load_config(project).branch == "top"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("selct = ['TF001']", "unknown key `selct`; did you mean `select`?"),
        ("colour = true", "unknown key `colour` (known keys: branch, fail-level, ignore"),
        ("select = 'TF001'", "`select` must be a list of strings"),
        ("ignore = ['E501']", "`ignore` has 'E501', which is not a rule code or prefix"),
        ("unsafe-fixes = 'yes'", "`unsafe-fixes` must be true or false"),
        ("branch = ''", "`branch` must be a non-empty string"),
        ("keep-in-tenant-apps = [1]", "`keep-in-tenant-apps` must be a list of strings"),
        ("fail-level = 'info'", '`fail-level` must be "error" or "warning", not \'info\''),
        ("fail-level = 1", '`fail-level` must be "error" or "warning", not 1'),
    ],
)
def test_bad_table_names_file_and_key(tmp_path: Path, body: str, expected: str) -> None:
    pyproject = _write(tmp_path / "pyproject.toml", f"[tool.tenantfix]\n{body}\n")
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path)
    assert exc.value.message.startswith(f"{pyproject}: [tool.tenantfix]: ")
    assert expected in exc.value.message
    assert exc.value.exit_code == 2


def test_invalid_toml_names_file(tmp_path: Path) -> None:
    pyproject = _write(tmp_path / "pyproject.toml", "[tool.tenantfix\n")
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path)
    assert exc.value.message.startswith(f"{pyproject}: invalid TOML")


def test_flags_override_file(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", '[tool.tenantfix]\nselect = ["TF001"]\nbranch = "b"\n')
    cfg = load_config(tmp_path).merged(select=["tf005"], unsafe_fixes=None, branch=None)
    assert cfg.select == ("TF005",)
    assert cfg.branch == "b"
    assert cfg.unsafe_fixes is False
    assert cfg.merged(unsafe_fixes=True, ignore=[]).unsafe_fixes is True
    assert cfg.merged(ignore=[]).ignore == ()
    assert cfg.fail_level == "error"
    assert cfg.merged(fail_level="warning").fail_level == "warning"
