"""`tenantfix check` installed without Django (as pipx or uvx install it) finds what it finds
from the project's interpreter.

A virtualenv with tenantfix (editable, this checkout) and only its own dependencies is built
once per checkout and Python under the temp dir. It must not see the test venv's packages.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import venv
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parent.parent
WRITEUP = REPO / "tests" / "fixtures" / "writeup_project"
PY = f"python{sys.version_info.major}.{sys.version_info.minor}"


def _bin(env: Path, name: str) -> Path:
    return env / ("Scripts" if os.name == "nt" else "bin") / name


@pytest.fixture(scope="session")
def no_django_env() -> Path:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    # as `pipx install 'tenantfix[db]'`: verify/repair-db get past the missing-extra check
    # (tests/test_extras.py covers the core alone) and stop at the missing Django
    deps = [*project["dependencies"], *project["optional-dependencies"]["db"]]
    key = hashlib.sha256(json.dumps([deps, sys.version, str(REPO)]).encode()).hexdigest()[:12]
    target = Path(tempfile.gettempdir()) / f"tenantfix-nodjango-{key}"
    done = target / ".complete"
    if not done.exists():
        # built in place: scripts and pyvenv.cfg hold the venv's absolute path
        shutil.rmtree(target, ignore_errors=True)
        venv.EnvBuilder(with_pip=True, symlinks=os.name != "nt").create(target)
        pip = [str(_bin(target, "python")), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, *deps], check=True, timeout=900)
        subprocess.run([*pip, "--no-deps", "-e", str(REPO)], check=True, timeout=900)
        done.write_text("")
    python = _bin(target, "python")
    probe = subprocess.run(
        [str(python), "-c", "import sys, tenantfix; print(tenantfix.__file__); print(sys.path)"],
        capture_output=True,
        text=True,
        check=True,
        env=_clean_env(),
    )
    assert probe.stdout.splitlines()[0].startswith(str(REPO / "src")), probe.stdout
    ours = sysconfig.get_paths()["purelib"]
    assert ours not in probe.stdout, "the no-Django venv sees the test venv's packages"
    no_django = subprocess.run(
        [str(python), "-c", "import django"], capture_output=True, env=_clean_env()
    )
    assert no_django.returncode != 0
    return target


def _clean_env() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
    env["NO_COLOR"] = "1"
    return env


def _check(tenantfix: list[str], project: Path, *extra: str) -> tuple[int, dict, str]:
    proc = subprocess.run(
        [*tenantfix, "check", "--format", "json", *extra, str(project)],
        capture_output=True,
        text=True,
        env=_clean_env(),
        cwd=project.parent,
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def _copy_writeup(dest: Path) -> Path:
    return Path(shutil.copytree(WRITEUP, dest, ignore=shutil.ignore_patterns("__pycache__")))


def test_writeup_project_without_django_finds_what_the_project_interpreter_finds(
    no_django_env, tmp_path
):
    project = _copy_writeup(tmp_path / "writeup_project")
    code, without, _ = _check([str(_bin(no_django_env, "tenantfix"))], project)
    code_ref, reference, _ = _check([sys.executable, "-m", "tenantfix"], project)
    assert sorted(f["code"] for f in without["findings"]) == ["TF001", "TF005"]
    assert (code, without["findings"]) == (code_ref, reference["findings"])
    packages = without["packages"]
    assert packages["source"] == "interpreter"
    assert {"admin", "auth", "contenttypes", "sessions"} <= set(packages["bundled"])
    # third-party apps are unknown, and said to be
    assert "django_tenants" in packages["unresolved"]
    assert reference["packages"]["bundled"] == [] and reference["packages"]["unresolved"] == []

    text = subprocess.run(
        [str(_bin(no_django_env, "tenantfix")), "check", str(project)],
        capture_output=True,
        text=True,
        env=_clean_env(),
        cwd=tmp_path,
    )
    assert text.returncode == 1
    notes = text.stderr.splitlines()
    assert any(n.startswith("tenantfix: installed packages:") and "bundled" in n for n in notes)
    [unresolved] = [n for n in notes if "could not locate" in n]
    assert "'django_tenants'" in unresolved and "--python" in unresolved


def test_writeup_project_with_a_project_venv_is_read_without_running_it(no_django_env, tmp_path):
    project = _copy_writeup(tmp_path / "writeup_project")
    marker = tmp_path / "EXECUTED"
    site = project / ".venv" / "lib" / PY / "site-packages"
    site.mkdir(parents=True)
    (project / ".venv" / "pyvenv.cfg").write_text(f"home = /nonexistent\nversion = {PY[6:]}.1\n")
    # the project's packages (Django, django-tenants, ...) as an editable-style .pth names them
    (site / "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    for name in ("python", "python3", PY):
        trap = project / ".venv" / "bin" / name
        trap.parent.mkdir(parents=True, exist_ok=True)
        trap.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
        trap.chmod(trap.stat().st_mode | stat.S_IXUSR)
    code, found, _ = _check([str(_bin(no_django_env, "tenantfix"))], project)
    assert not marker.exists()
    assert found["packages"] == {"source": "venv", "path": ".venv", "bundled": [], "unresolved": []}
    bare = _copy_writeup(tmp_path / "reference" / "writeup_project")
    code_ref, reference, _ = _check([sys.executable, "-m", "tenantfix"], bare)
    assert (code, found["findings"]) == (code_ref, reference["findings"])


@pytest.mark.parametrize(
    "args",
    [
        ("verify",),
        ("repair-db", "--database-url", "postgresql://app@127.0.0.1:1/app"),
        ("apply", "--verify", "--no-commit"),
    ],
)
def test_running_the_project_without_django_is_a_setup_error(no_django_env, tmp_path, args):
    """No Django in tenantfix's own interpreter (pipx/uvx) and no --python: exit 2 saying what
    to pass, before any PostgreSQL starts; not exit 4 ("your migrations fail")."""
    project = _copy_writeup(tmp_path / "writeup_project")
    proc = subprocess.run(
        [str(_bin(no_django_env, "tenantfix")), *args, str(project)],
        capture_output=True,
        text=True,
        env=_clean_env(),
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Django cannot be imported" in proc.stderr and "--python" in proc.stderr
    assert "PostgreSQL" not in proc.stdout + proc.stderr.split("error:", 1)[0]


_EVERY_FIXTURE = r"""
import json, sys
from pathlib import Path
from tenantfix.pipeline import Options, analyse
out = {}
for root in sys.argv[1:]:
    analysis = analyse(Path(root), Options(cache=False))
    out[root] = sorted((d.code, d.severity, str(d.location)) for d in analysis.diagnostics)
print(json.dumps(out))
"""


def test_every_fixture_project_gets_the_same_findings_without_django(no_django_env):
    """Issue 8's bar: not only the write-up: every rule fixture and layout project gets the same
    findings from an interpreter without Django (contrib table) as from the project's."""
    from tenantfix.pipeline import Options, analyse

    fixtures = REPO / "tests" / "fixtures"
    roots = sorted(
        str(p / "before")
        for p in fixtures.iterdir()
        if p.name[:2] == "tf" and (p / "before" / "manage.py").is_file()
    )
    roots += sorted(str(p / "before") for p in (fixtures / "layouts").iterdir())
    roots.append(str(WRITEUP))
    proc = subprocess.run(
        [str(_bin(no_django_env, "python")), "-c", _EVERY_FIXTURE, *roots],
        capture_output=True,
        text=True,
        env=_clean_env(),
        cwd=REPO,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    without = json.loads(proc.stdout.splitlines()[-1])
    assert len(without) == len(roots) > 40
    for root in roots:
        analysis = analyse(Path(root), Options(cache=False))
        here = sorted([d.code, d.severity, str(d.location)] for d in analysis.diagnostics)
        assert without[root] == here, root
