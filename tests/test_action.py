"""The GitHub Action's shell steps and the pre-commit hook, run for real.

The steps are read from action.yml with a YAML parser and run the way the runner runs a
composite step (``bash --noprofile --norc -eo pipefail``), with ``${{ }}`` expressions filled
from the inputs. tenantfix is pip-installed from this checkout into a throwaway virtualenv
(dependencies come from the test environment, so nothing is downloaded); the remote is the
fake forge's smart-HTTP git and its GitHub API.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml
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
def action_venv(tmp_path_factory) -> Path:
    """A virtualenv that sees the test environment's packages but not tenantfix itself."""
    venv = tmp_path_factory.mktemp("action") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    # the dependencies (and pip, hatchling) from the test environment, after the venv's own
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


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


def test_action_opens_then_keeps_one_pull_request(
    action_venv, action_repo, fake_forge, forge_token
):
    action = load_action()
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    github = {
        "github.token": forge_token,
        "github.action_path": str(ROOT),
        "github.api_url": fake_forge.github_api_url,
    }
    inputs = {k: evaluate(v, github) for k, v in inputs.items()}
    inputs.update({"working-directory": "app", "labels": "tenantfix, django", "draft": "true"})
    context = {**github, **{f"inputs.{k}": v for k, v in inputs.items()}}
    env = {
        "PATH": f"{action_venv / 'bin'}:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/tmp"),
        "TENANTFIX_CACHE_DIR": os.environ["TENANTFIX_CACHE_DIR"],  # conftest: not the user's
        # what the runner provides; pip gets no index: everything is installed already
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "PIP_NO_INDEX": "1",
        "PIP_NO_BUILD_ISOLATION": "0",
        "PIP_NO_DEPS": "1",
    }
    steps = [s for s in action["runs"]["steps"] if "run" in s]
    assert [s["name"] for s in steps] == [
        "Install tenantfix",
        "tenantfix check",
        "tenantfix apply --push --open-pr",
        "tenantfix findings the pull request cannot fix",
    ]
    assert any(
        s.get("uses", "").startswith("actions/setup-python") for s in action["runs"]["steps"]
    )

    outputs = []
    for round_ in (1, 2):
        for step in steps:
            if round_ == 2 and step["name"] == "Install tenantfix":
                continue
            proc = run_step(step, context, action_repo, env)
            outputs.append(proc.stdout + proc.stderr)
            assert proc.returncode == 0, f"{step['name']}:\n{proc.stdout}\n{proc.stderr}"
        if round_ == 1:
            installed = subprocess.run(
                [
                    str(action_venv / "bin" / "python"),
                    "-c",
                    "import tenantfix; print(tenantfix.__file__)",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            # the action's own copy was installed into the job's Python, not the dev checkout
            assert str(action_venv) in installed
            pulls = fake_forge.github.pulls(REPO)
            assert len(pulls) == 1 and pulls[0]["state"] == "open" and pulls[0]["draft"] is True
            assert [x["name"] for x in pulls[0]["labels"]] == ["tenantfix", "django"]
            assert "app/accreditation_portal/settings.py" in pulls[0]["body"]
            assert "TF001" in outputs[1]  # the check step printed the finding
            writes = len(fake_forge.writes())
    assert "up to date" in outputs[-2].lower()  # the apply step of the second round
    assert len(fake_forge.writes()) == writes
    assert len(fake_forge.github.pulls(REPO)) == 1
    everything = "\n".join(outputs) + (action_repo / ".git" / "config").read_text()
    assert forge_token not in everything


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
        # a warning with no automatic fix (the user app in both lists): advice at "error"
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
    context = {
        "inputs.working-directory": ".",
        "inputs.fail-level": fail_level,
        "inputs.args": args,
    }
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
