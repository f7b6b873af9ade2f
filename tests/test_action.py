"""The GitHub Action's shell steps and the pre-commit hook, run for real.

The steps are read from action.yml with a YAML parser and run the way the runner runs a
composite step (``bash --noprofile --norc -eo pipefail``), with ``${{ }}`` expressions filled
from the inputs. The job's Python is a virtualenv that cannot see the test environment's
packages (tests/support_core_venv.py): it holds tenantfix's core and [bot] dependencies and
hatchling, cached under the temp dir, so the Action's own install step pip-installs this
checkout into it without an index; tenantfix itself is removed before every run. The remote is
the fake forge's smart-HTTP git and its GitHub API.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support_core_venv import cached_venv, clean_env, core_dependencies, extra, importable
from support_forge import REPO, git, make_bare_remote

ROOT = Path(__file__).resolve().parents[1]
WRITEUP = ROOT / "tests" / "fixtures" / "writeup_project"
_EXPR = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def load_action() -> dict:
    return yaml.safe_load((ROOT / "action.yml").read_text())


def evaluate(text: str, context: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        return context[match.group(1)]

    return _EXPR.sub(value, str(text))


@pytest.fixture(scope="module")
def action_venv() -> Path:
    """The job's Python: tenantfix's dependencies ([bot] included), not tenantfix, no Django."""
    venv = cached_venv(
        "action", [*core_dependencies(), *extra("bot"), "hatchling>=1.25"], editable=False
    )
    assert not importable(venv, "django") and not importable(venv, "psycopg")
    return venv


@pytest.fixture
def job_python(action_venv: Path) -> Path:
    # every test installs tenantfix through the Action's own step
    subprocess.run(
        [
            str(action_venv / "bin" / "python"),
            "-m",
            "pip",
            "uninstall",
            "--quiet",
            "-y",
            "tenantfix",
        ],
        capture_output=True,
        env=clean_env(),
    )
    assert not importable(action_venv, "tenantfix")
    return action_venv


def run_step(
    step: dict, context: dict[str, str], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    step_env = {**env, **{k: evaluate(v, context) for k, v in (step.get("env") or {}).items()}}
    workdir = cwd / evaluate(step.get("working-directory", "."), context)
    assert step["shell"] == "bash"
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=workdir,
        env=step_env,
        capture_output=True,
        text=True,
    )


def job_env(venv: Path, tmp_path: Path) -> dict[str, str]:
    outputs = tmp_path / "github_output"
    outputs.touch()
    return {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/tmp"),
        "TENANTFIX_CACHE_DIR": os.environ["TENANTFIX_CACHE_DIR"],  # conftest: not the user's
        # what the runner provides
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(outputs),
        "RUNNER_TEMP": str(tmp_path),
        "CI": "true",
        "NO_COLOR": "1",
        # pip gets no index: the dependencies are in the job's venv already, and the wheel is
        # built with its hatchling
        "PIP_NO_INDEX": "1",
        "PIP_NO_BUILD_ISOLATION": "0",
    }


def read_outputs(env: dict[str, str]) -> dict[str, str]:
    lines = Path(env["GITHUB_OUTPUT"]).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def action_context(inputs: dict[str, str], fake_forge=None, token: str = "") -> dict[str, str]:
    action = load_action()
    github = {
        "github.token": token,
        "github.action_path": str(ROOT),
        "github.api_url": fake_forge.github_api_url if fake_forge else "https://api.github.com",
    }
    values = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    values = {k: evaluate(v, github) for k, v in values.items()}
    values.update(inputs)
    return {**github, **{f"inputs.{k}": v for k, v in values.items()}}


def steps_by_name() -> dict[str, dict]:
    return {s["name"]: s for s in load_action()["runs"]["steps"] if "run" in s}


@pytest.fixture
def action_repo(tmp_path, fake_forge):
    work = tmp_path / "checkout"
    shutil.copytree(WRITEUP, work / "app")
    work.mkdir(exist_ok=True)
    git(work, "init", "--quiet", "--initial-branch", "main")
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "-m", "initial")
    make_bare_remote(fake_forge.git_root / f"{REPO}.git", work, url=fake_forge.git_url(REPO))
    return work


def test_every_third_party_action_is_pinned_by_commit_sha():
    for step in load_action()["runs"]["steps"]:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
    text = (ROOT / "action.yml").read_text()
    assert "upload-sarif@" in text and "# v" in text  # the version a SHA stands for is named


def test_action_opens_then_keeps_one_pull_request(
    job_python, action_repo, fake_forge, forge_token, tmp_path
):
    inputs = {
        "working-directory": "app",
        "labels": "tenantfix, django",
        "draft": "true",
        # the project's interpreter (Django and the write-up's apps), as `.venv/bin/python`
        # of a job that installed the project; tenantfix itself runs in the job's Python
        "python": sys.executable,
    }
    context = action_context(inputs, fake_forge, forge_token)
    env = job_env(job_python, tmp_path)
    steps = [s for s in load_action()["runs"]["steps"] if "run" in s]
    assert [s["name"] for s in steps] == [
        "Install the project's dependencies",
        "Install tenantfix",
        "tenantfix check",
        "tenantfix check (SARIF)",
        "tenantfix apply --push --open-pr",
        "tenantfix findings the pull request cannot fix",
    ]
    # steps guarded by an `if:` on an input left at its default do not run
    steps = [
        s
        for s in steps
        if s["name"] not in ("Install the project's dependencies", "tenantfix check (SARIF)")
    ]

    outputs: list[str] = []
    for round_ in (1, 2):
        Path(env["GITHUB_OUTPUT"]).write_text("")
        for step in steps:
            if round_ == 2 and step["name"] == "Install tenantfix":
                continue
            proc = run_step(step, context, action_repo, env)
            outputs.append(proc.stdout + proc.stderr)
            assert proc.returncode == 0, f"{step['name']}:\n{proc.stdout}\n{proc.stderr}"
        result = read_outputs(env)
        if round_ == 1:
            installed = subprocess.run(
                [
                    str(job_python / "bin" / "python"),
                    "-c",
                    "import tenantfix; print(tenantfix.__file__)",
                ],
                capture_output=True,
                text=True,
                check=True,
                env=clean_env(),
            ).stdout
            # the action's own copy was installed into the job's Python, not the dev checkout
            assert str(job_python) in installed
            pulls = fake_forge.github.pulls(REPO)
            assert len(pulls) == 1 and pulls[0]["state"] == "open" and pulls[0]["draft"] is True
            assert [x["name"] for x in pulls[0]["labels"]] == ["tenantfix", "django"]
            assert "app/accreditation_portal/settings.py" in pulls[0]["body"]
            # the check step annotated the finding (workflow command of --format github)
            assert re.search(r"^::error .*TF001", outputs[1], re.MULTILINE), outputs[1]
            assert result == {
                "result": "created",
                "pull-request-number": str(pulls[0]["number"]),
                "pull-request-url": pulls[0]["html_url"],
            }
            writes = len(fake_forge.writes())
        else:
            assert result["result"] == "up-to-date"
            assert result["pull-request-number"] == str(fake_forge.github.pulls(REPO)[0]["number"])
    assert "up to date" in outputs[-2].lower()  # the apply step of the second round
    assert len(fake_forge.writes()) == writes
    assert len(fake_forge.github.pulls(REPO)) == 1
    everything = "\n".join(outputs) + (action_repo / ".git" / "config").read_text()
    assert forge_token not in everything


def test_core_only_action_check_finds_tf001_without_the_project_interpreter(job_python, tmp_path):
    """No `python`, no `install`, no pull request: the job's Python holds only the core."""
    work = Path(shutil.copytree(WRITEUP, tmp_path / "app"))
    env = job_env(job_python, tmp_path)
    context = action_context({"open-pr": "false"})
    steps = steps_by_name()
    install = run_step(steps["Install tenantfix"], context, work, env)
    assert install.returncode == 0, install.stdout + install.stderr
    assert not importable(job_python, "django")
    check = run_step(steps["tenantfix check"], context, work, env)
    assert check.returncode == 0, check.stdout + check.stderr
    assert re.search(r"^::error file=.*settings\.py,line=\d+.*TF001", check.stdout, re.MULTILINE), (
        check.stdout
    )
    final = run_step(steps["tenantfix findings the pull request cannot fix"], context, work, env)
    assert final.returncode == 0, (
        final.stdout + final.stderr
    )  # TF001's fix is safe: the PR fixes it


def test_check_args_are_words_not_globs(job_python, tmp_path):
    work = Path(shutil.copytree(WRITEUP, tmp_path / "app"))
    env = job_env(job_python, tmp_path)
    steps = steps_by_name()
    install = run_step(steps["Install tenantfix"], action_context({"open-pr": "false"}), work, env)
    assert install.returncode == 0, install.stderr
    # quotes group; the settings module reaches tenantfix as one word
    quoted = action_context({"check-args": '--settings "accreditation_portal.settings"'})
    proc = run_step(steps["tenantfix check"], quoted, work, env)
    assert proc.returncode == 0 and "TF001" in proc.stdout, proc.stdout + proc.stderr
    # a pattern is passed as written: with globbing, this file would make it a valid module
    (work / "accreditation_portal.settings").write_text("")
    globbed = action_context({"check-args": "--settings accreditation_portal.setting?"})
    proc = run_step(steps["tenantfix check"], globbed, work, env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "accreditation_portal.setting?" in proc.stderr
    broken = action_context({"check-args": "--settings 'unbalanced"})
    proc = run_step(steps["tenantfix check"], broken, work, env)
    assert (
        proc.returncode == 2 and "::error title=tenantfix::cannot parse check-args" in proc.stdout
    )


def test_sarif_step_writes_a_report_for_upload(job_python, tmp_path):
    work = Path(shutil.copytree(WRITEUP, tmp_path / "app"))
    env = job_env(job_python, tmp_path)
    context = action_context({"open-pr": "false", "sarif": "true"})
    steps = steps_by_name()
    assert run_step(steps["Install tenantfix"], context, work, env).returncode == 0
    proc = run_step(steps["tenantfix check (SARIF)"], context, work, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = Path(read_outputs(env)["file"])
    sarif = json.loads(report.read_text())
    assert "TF001" in {r["ruleId"] for r in sarif["runs"][0]["results"]}
    upload = [s for s in load_action()["runs"]["steps"] if "upload-sarif@" in s.get("uses", "")]
    assert upload[0]["if"] == "inputs.sarif == 'true'"
    assert upload[0]["with"]["sarif_file"] == "${{ steps.sarif.outputs.file }}"


def test_install_step_adds_only_the_extras_used(job_python, tmp_path):
    """open-pr adds [bot], verify adds [db]; a plain check installs the core only."""
    steps = steps_by_name()
    env = job_env(job_python, tmp_path)
    # pip resolves offline: [db] is not in the job's venv, so asking for it must fail
    proc = run_step(steps["Install tenantfix"], action_context({"verify": "true"}), tmp_path, env)
    assert proc.returncode != 0 and "psycopg" in (proc.stdout + proc.stderr).lower()
    proc = run_step(steps["Install tenantfix"], action_context({}), tmp_path, env)
    assert proc.returncode == 0, proc.stderr


def test_action_defaults_to_fail_level_error():
    action = load_action()
    assert action["inputs"]["fail-level"]["default"] == "error"
    steps = {s.get("name"): s for s in action["runs"]["steps"]}
    for name in ("tenantfix check", "tenantfix apply --push --open-pr"):
        assert steps[name]["env"]["TF_FAIL_LEVEL"] == "${{ inputs.fail-level }}"
        assert '--fail-level "$TF_FAIL_LEVEL"' in steps[name]["run"]


@pytest.mark.parametrize(
    ("case", "fail_level", "args", "expected"),
    [
        # a warning whose only fix is unsafe (the user app in both lists): advice at "error"
        ("tf011_user_app_in_both_lists__users_in_both", "error", "", 0),
        ("tf011_user_app_in_both_lists__users_in_both", "warning", "", 1),
        # an error whose only fix is unsafe: the pull request fixes it only with --unsafe-fixes
        ("tf004_shared_model_references_tenant_model__shared_fk", "error", "", 1),
        ("tf004_shared_model_references_tenant_model__shared_fk", "error", "--unsafe-fixes", 0),
        # errors the pull request fixes (safe fixes): the job passes
        ("tf009_django_tenants_not_first__missing", "error", "", 0),
    ],
)
def test_action_fails_only_for_findings_the_pull_request_cannot_fix(
    tmp_path, case, fail_level, args, expected
):
    action = load_action()
    step = next(
        s
        for s in action["runs"]["steps"]
        if s.get("name") == "tenantfix findings the pull request cannot fix"
    )
    work = tmp_path / "app"
    shutil.copytree(ROOT / "tests" / "fixtures" / case / "before", work)
    context = action_context(
        {"working-directory": ".", "fail-level": fail_level, "apply-args": args}
    )
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    proc = run_step(step, context, work, env)
    assert proc.returncode == expected, proc.stdout + proc.stderr
    if expected:
        assert "need a human decision" in proc.stdout


def test_pre_commit_hook_passes_a_project_with_only_warnings(tmp_path):
    """Warnings are advice, as in Django's `manage.py check`: the hook fails only on errors."""
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "tenantfix-check")
    work = tmp_path / "repo"
    shutil.copytree(
        ROOT / "tests" / "fixtures" / "tf009_django_tenants_not_first__not_first" / "before", work
    )
    git(work, "init", "--quiet", "--initial-branch", "main")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    proc = subprocess.run(
        hook["entry"], shell=True, cwd=work, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "TF009 [*] warning:" in proc.stdout
    strict = subprocess.run(
        f"{hook['entry']} --fail-level warning",
        shell=True,
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert strict.returncode == 1, strict.stdout + strict.stderr


def test_pre_commit_hook_is_read_only_and_fails_on_findings(tmp_path):
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "tenantfix-check")
    assert hook["pass_filenames"] is False and hook["language"] == "python"
    work = tmp_path / "repo"
    shutil.copytree(WRITEUP, work)
    git(work, "init", "--quiet", "--initial-branch", "main")
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "-m", "initial")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}

    proc = subprocess.run(
        hook["entry"], shell=True, cwd=work, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 1, proc.stderr
    assert "TF001" in proc.stdout + proc.stderr
    assert git(work, "status", "--porcelain", "--untracked-files=all") == ""

    # after the fix the same hook passes
    subprocess.run(
        [str(bin_dir / "tenantfix"), "apply", "."],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
    )
    git(work, "switch", "--quiet", "tenantfix/shared-user-app")
    proc = subprocess.run(
        hook["entry"], shell=True, cwd=work, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
