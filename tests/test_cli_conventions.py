"""The CLI conventions users know from ruff and Django: --format as a listed choice (and
TENANTFIX_OUTPUT_FORMAT, gitlab), --select/--ignore checked, --statistics, -q everywhere,
--color with NO_COLOR/FORCE_COLOR/TERM=dumb, plain help and errors when piped, paths relative
to the current directory, one exit code per condition."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support_git import copy_project, init_repo
from typer.testing import CliRunner

from tenantfix.cli import app
from tenantfix.cli._common import color_enabled

REPO = Path(__file__).resolve().parent.parent
WRITEUP = REPO / "tests" / "fixtures" / "writeup_project"
COMMANDS = ("check", "apply", "verify", "repair-db", "rules", "explain")


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def piped(*args: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    """The real console entry point with stdout and stderr on pipes (as in CI or an editor)."""
    clean = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return subprocess.run(
        [sys.executable, "-m", "tenantfix", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**clean, "TERM": "xterm-256color", **env},
        timeout=300,
    )


# --format


def test_format_is_a_choice_listed_in_help_and_checked_before_the_analysis(tmp_path: Path) -> None:
    help_text = piped("check", "--help").stdout
    assert "<text|json|sarif|github|gitlab>" in help_text
    assert "TENANTFIX_OUTPUT_FORMAT" in help_text
    # a directory without a project: a bad --format is reported, not the missing manage.py
    bad = piped("check", "--format", "xml", str(tmp_path))
    assert bad.returncode == 2
    assert "'xml' is not one of" in bad.stderr and "manage.py" not in bad.stderr


def test_format_from_the_environment_and_the_flag_wins() -> None:
    from_env = run("check", str(WRITEUP), env={"TENANTFIX_OUTPUT_FORMAT": "json"})
    assert json.loads(from_env.stdout)["findings"][0]["code"] == "TF001"
    flag = run("check", "-f", "github", str(WRITEUP), env={"TENANTFIX_OUTPUT_FORMAT": "json"})
    assert flag.stdout.startswith("::error file=")


def test_gitlab_code_quality_report(tmp_path: Path) -> None:
    result = piped("check", "--format", "gitlab", "tests/fixtures/writeup_project")
    assert result.returncode == 1, result.stderr
    issues = json.loads(result.stdout)
    assert [i["check_name"] for i in issues] == ["TF001", "TF005"]
    first = issues[0]
    assert first["severity"] == "major" and first["type"] == "issue"
    assert first["description"].startswith("TF001 user app 'users'")
    # relative to the current directory, as every output
    assert first["location"] == {
        "path": "tests/fixtures/writeup_project/accreditation_portal/settings.py",
        "lines": {"begin": 36},
    }
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    # the fingerprint does not move with the line (GitLab matches findings across commits)
    moved = copy_project(WRITEUP, tmp_path / "moved")
    settings = moved / "accreditation_portal" / "settings.py"
    settings.write_text("# a comment on top\n" + settings.read_text())
    again = json.loads(piped("check", "--format", "gitlab", ".", cwd=moved).stdout)
    here = json.loads(
        piped("check", "--format", "gitlab", ".", cwd=copy_project(WRITEUP, tmp_path / "w")).stdout
    )
    assert again[0]["location"]["lines"]["begin"] == 37
    assert again[0]["fingerprint"] == here[0]["fingerprint"]


# --select / --ignore


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--select", "TF999", "unknown rule selector 'TF999'"),
        ("--select", "XYZ", "'XYZ' is not a rule code or prefix"),
        ("--ignore", "TF1234", "'TF1234' is not a rule code or prefix"),
        ("--select", "TF001,TF98", "unknown rule selector 'TF98'"),
    ],
)
def test_unknown_rule_selector_is_a_usage_error(option: str, value: str, said: str) -> None:
    result = piped("check", option, value, "tests/fixtures/writeup_project")
    assert result.returncode == 2
    assert said in result.stderr and option in result.stderr
    assert result.stdout == ""


def test_selectors_comma_separated_and_prefixes() -> None:
    both = run("check", "--select", "tf001,TF005", "-f", "json", str(WRITEUP))
    assert [f["code"] for f in json.loads(both.stdout)["findings"]] == ["TF001", "TF005"]
    ignored = run("check", "--select", "TF00", "--ignore", "TF001", "-f", "json", str(WRITEUP))
    assert [f["code"] for f in json.loads(ignored.stdout)["findings"]] == ["TF005"]


# --statistics


def test_statistics_text_and_json() -> None:
    text = run("check", "--statistics", str(WRITEUP))
    assert text.exit_code == 1  # findings still fail, as ruff --statistics
    assert text.stdout.splitlines() == [
        "1\tTF001\t[*] user-app-not-shared",
        "1\tTF005\t[*] app-without-migrations",
    ]
    data = json.loads(run("check", "--statistics", "-f", "json", str(WRITEUP)).stdout)
    assert [(r["code"], r["count"], r["fixable"], r["errors"]) for r in data] == [
        ("TF001", 1, 1, 1),
        ("TF005", 1, 1, 1),
    ]


# -q


def test_every_command_takes_quiet() -> None:
    for command in COMMANDS:
        assert "-q, --quiet" in piped(command, "--help").stdout, command


def test_quiet_check_prints_the_findings_only() -> None:
    loud = piped("check", "tests/fixtures/writeup_project")
    quiet = piped("check", "-q", "tests/fixtures/writeup_project")
    assert quiet.returncode == loud.returncode == 1
    assert "findings (" in loud.stdout.splitlines()[-1]
    assert quiet.stdout == loud.stdout.rsplit("\n\n", 1)[0] + "\n"
    assert loud.stderr and quiet.stderr == ""
    rules = run("rules", "-q").stdout
    assert rules.splitlines()[-1].startswith("TF") and "tenantfix explain" not in rules
    assert run("explain", "-q", "TF001").stdout.startswith(
        (sys.modules["tenantfix.checks.tf001_user_app_not_shared"].__doc__ or "").strip()[:40]
    )


# --color


def test_color_flag_and_environment_conventions() -> None:
    ansi = "\x1b["
    assert ansi in piped("check", "--color", "always", "tests/fixtures/writeup_project").stdout
    assert ansi not in piped("check", "tests/fixtures/writeup_project").stdout  # a pipe
    forced = piped("check", "tests/fixtures/writeup_project", FORCE_COLOR="1")
    assert ansi in forced.stdout
    assert ansi not in piped("check", "tests/fixtures/writeup_project", FORCE_COLOR="0").stdout
    assert (
        ansi
        not in piped(
            "check", "--color", "never", "tests/fixtures/writeup_project", FORCE_COLOR="1"
        ).stdout
    )


class _Tty:
    def isatty(self) -> bool:
        return True


def test_color_auto_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    assert color_enabled("auto", _Tty())
    monkeypatch.setenv("TERM", "dumb")
    assert not color_enabled("auto", _Tty())
    assert color_enabled("always", _Tty())
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("NO_COLOR", "1")
    assert not color_enabled("auto", _Tty())
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert not color_enabled("auto", _Tty())  # NO_COLOR wins over FORCE_COLOR
    monkeypatch.setenv("NO_COLOR", "")  # empty: not set (no-color.org)
    assert color_enabled("auto", _Tty())


# plain help and errors when not on a terminal


def test_piped_help_and_errors_are_plain() -> None:
    for command in COMMANDS:
        text = piped(command, "--help").stdout
        assert "╭" not in text and "│" not in text, command
        for odd in ("<bool>", "<list[str]>"):
            assert odd not in text, (command, odd)
        options = [line for line in text.splitlines() if line.lstrip().startswith("-")]
        assert not [line for line in options if "<str>" in line or "<int" in line], command
    bad = piped("check", "--bogus")
    assert bad.returncode == 2
    assert "╭" not in bad.stderr
    assert "Error: No such option: --bogus" in bad.stderr


# paths and exit codes


def _unresolvable(tmp_path: Path) -> Path:
    project = copy_project(WRITEUP, tmp_path / "portal")
    (project / "manage.py").write_text("import os\nos.environ.setdefault('X', 'Y')\n")
    return init_repo(project)


def test_unresolvable_settings_are_exit_2_in_every_command(tmp_path: Path) -> None:
    project = _unresolvable(tmp_path)
    for args in (
        ("check",),
        ("apply",),
        ("apply", "--dry-run"),
        ("repair-db", "--database-url", "postgresql://u@127.0.0.1:1/x"),
    ):
        result = run(*args, str(project))
        assert result.exit_code == 2, (args, result.output)
        assert "--settings" in result.output, (args, result.output)


def test_apply_names_files_relative_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_repo(copy_project(WRITEUP, tmp_path / "portal"))
    monkeypatch.chdir(tmp_path)
    result = run("apply", "--dry-run", "portal")
    assert result.exit_code == 1, result.output
    assert "TF001 portal/accreditation_portal/settings.py:36:" in result.stderr
    assert "Would change 3 file(s): portal/accreditation_portal/settings.py, " in result.stderr
    checked = run("check", "portal")
    assert "portal/accreditation_portal/settings.py:36:" in checked.stdout


# progress


def test_apply_shows_progress_lines_when_piped_and_none_with_quiet(tmp_path: Path) -> None:
    project = init_repo(copy_project(WRITEUP, tmp_path / "portal"))
    loud = piped("apply", "--dry-run", str(project))
    assert loud.returncode == 1, loud.stderr
    lines = [line for line in loud.stderr.splitlines() if line.startswith("tenantfix: [")]
    assert any(
        line.endswith("running makemigrations audit (the project's Django)") for line in lines
    )
    assert "\x1b[" not in loud.stderr  # plain lines, no live display, in a pipe
    quiet = piped("apply", "--dry-run", "-q", str(project))
    assert quiet.returncode == 1
    assert not [line for line in quiet.stderr.splitlines() if line.startswith("tenantfix: [")]
    assert quiet.stdout == loud.stdout  # the diff itself is the result


def test_relative_python_is_resolved_against_the_current_directory_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = init_repo(copy_project(WRITEUP, tmp_path / "portal"))
    # the project holds venv/bin/python; the current directory (tmp_path) does not
    (project / "venv" / "bin").mkdir(parents=True)
    wrapper = project / "venv" / "bin" / "python"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    for args in (
        ("check",),
        ("apply", "--dry-run"),
        ("verify",),
        ("repair-db", "--database-url", "postgresql://u@127.0.0.1:1/x"),
    ):
        result = run(*args, "--python", "venv/bin/python", "portal")
        assert result.exit_code == 2, (args, result.output)
        assert f"--python {tmp_path}/venv/bin/python: no such file" in result.output, args
    monkeypatch.chdir(project)
    assert run("check", "--python", "venv/bin/python", ".").exit_code == 1
