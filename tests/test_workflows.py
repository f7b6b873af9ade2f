"""The repository's own workflows: every third-party action pinned by commit SHA; CI runs the
README's test command on the supported Pythons; release builds with hatchling and publishes
through trusted publishing on a tag."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
PINNED = re.compile(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}")


def uses(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text())
    return [s["uses"] for job in data["jobs"].values() for s in job["steps"] if "uses" in s]


def test_actions_are_pinned_by_sha():
    for path in [*WORKFLOWS.glob("*.yml"), ROOT / "action.yml"]:
        text = path.read_text()
        found = re.findall(r"^\s*(?:- )?uses:\s*(\S+)", text, re.MULTILINE)
        assert found, path
        for ref in found:
            if ref.startswith(("./", "OWNER/")):
                continue
            assert PINNED.fullmatch(ref), f"{path.name}: {ref} is not pinned by a commit SHA"
            # the release it stands for is named next to it
            assert re.search(re.escape(ref) + r" # v\d", text), f"{path.name}: {ref}"


def test_ci_runs_the_readme_test_command_on_supported_pythons():
    ci = yaml.safe_load((WORKFLOWS / "ci.yml").read_text())
    test = ci["jobs"]["test"]
    assert test["strategy"]["matrix"]["python"] == ["3.10", "3.11", "3.12", "3.13"]
    runs = " ".join(s.get("run", "") for s in test["steps"])
    assert "bash scripts/test.sh" in runs
    assert "bash scripts/test.sh" in (ROOT / "README.md").read_text()
    assert ci["env"]["CI"] == "true"


def test_release_builds_and_uses_trusted_publishing():
    release = yaml.safe_load((WORKFLOWS / "release.yml").read_text())
    # PyYAML reads the key `on` as True
    assert release[True]["push"]["tags"] == ["v*"]
    publish = release["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}
    assert any(
        u.startswith("pypa/gh-action-pypi-publish@") for u in uses(WORKFLOWS / "release.yml")
    )
    steps = release["jobs"]["build"]["steps"]
    assert any("python -m build" in s.get("run", "") for s in steps)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'build-backend = "hatchling.build"' in pyproject


def test_the_django_versions_job_runs_every_djversions_test_with_a_python36():
    """No test is deselected: the Python 3.6 syntax check gets its python3.6 from a container."""
    job = yaml.safe_load((WORKFLOWS / "ci.yml").read_text())["jobs"]["django-versions"]
    runs = [s.get("run", "") for s in job["steps"]]
    test_run = next(r for r in runs if "scripts/test.sh" in r)
    assert "-m djversions" in test_run and " -k " not in test_run
    shim = next(r for r in runs if "python3.6" in r)
    assert "docker run -i --rm python:3.6" in shim and "GITHUB_PATH" in shim
    assert runs.index(shim) < runs.index(test_run)


def test_dependabot_keeps_action_pins_current():
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    ecosystems = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}
    assert ("github-actions", "/") in ecosystems
