"""Ctrl-C at any moment: exit 130, "interrupted; nothing was written", no traceback, nothing left.

The real console script runs in its own process group on a real git repository, and the test
sends SIGINT to the whole group, as a terminal does. To hit each moment reliably (no sleeps in
the test, no timing), a slow fake pauses the process exactly there and drops a marker file; the
test waits for the marker, then interrupts:

- start-up: an import hook pauses the import of typer (the first heavy import);
- the rewrite: libcst's ``parse_module`` pauses (the rewrite's first step; a Ctrl-C there once
  surfaced as libcst's TransformExit, a refusal with exit 3);
- makemigrations: ``--python`` is a wrapper script that pauses before running the driver;
- ``git worktree add``: a ``git`` wrapper on PATH adds the worktree, then pauses.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support_git import git
from support_snapshot import full_snapshot

TENANTFIX = Path(sys.executable).parent / "tenantfix"

SITECUSTOMIZE = """
import importlib.abc
import importlib.util
import contextlib
import os
import sys
import time

MODE, _, ARG = os.environ.get("TF_TEST_PAUSE", "").partition(":")
MARK = os.environ.get("TF_TEST_MARK", "")


def pause():
    if not MARK or os.path.exists(MARK):
        return
    with open(MARK, "w") as fh:
        fh.write(str(os.getpid()))
    time.sleep(300)


def patched(name, patch):
    \"\"\"The module's spec, with ``patch(module)`` run right after the module is loaded.\"\"\"
    sys.meta_path.remove(FINDER)
    try:
        spec = importlib.util.find_spec(name)
    finally:
        sys.meta_path.insert(0, FINDER)
    load = spec.loader.exec_module

    def exec_module(module):
        load(module)
        patch(module)

    spec.loader.exec_module = exec_module
    return spec


def slow_parse(module):
    original = module.parse_module

    def parse_module(*args, **kwargs):
        pause()
        return original(*args, **kwargs)

    module.parse_module = parse_module


def slow_echo(module):
    original = module.echo

    def echo(message=None, *args, **kwargs):
        if ARG in str(message):
            pause()
        return original(message, *args, **kwargs)

    module.echo = echo


class PauseFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if MODE == "import" and name == ARG:
            pause()
        if MODE == "rewrite" and name == "libcst":
            return patched(name, slow_parse)
        if MODE == "echo" and name == "typer":
            return patched(name, slow_echo)
        return None


FINDER = PauseFinder()
sys.meta_path.insert(0, FINDER)
"""

SLOW_PYTHON = """#!/bin/sh
case "$*" in
  *makemigrations_driver*) echo $$ > "{mark}"; sleep 300 ;;
esac
exec "{python}" "$@"
"""

SLOW_GIT = """#!/bin/sh
case " $* " in
  *" {command} "*) "{git}" "$@"; echo $$ > "{mark}"; sleep 300; exit 1 ;;
esac
exec "{git}" "$@"
"""


def slow_git(work: Path, mark: Path, command: str, env: dict[str, str]) -> None:
    """A `git` on PATH that runs ``command`` for real, then pauses (as if it were slow)."""
    bindir = work / "bin"
    bindir.mkdir()
    real_git = shutil.which("git")
    assert real_git
    _executable(bindir / "git", SLOW_GIT.format(command=command, mark=mark, git=real_git))
    env["PATH"] = f"{bindir}{os.pathsep}{env['PATH']}"


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def interrupt_at(mark: Path, args: list[str], *, cwd: Path, env: dict[str, str]):
    """Start the console script, wait for the marker, SIGINT the process group, collect."""
    proc = subprocess.Popen(
        [str(TENANTFIX), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while not mark.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"finished before the moment was reached ({proc.returncode}):\n{out}{err}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("the moment was never reached")
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


MOMENTS = ["startup", "command-imports", "rewrite", "makemigrations", "worktree-add"]
PAUSES = {
    "startup": "import:typer",  # the console script's first heavy import
    "command-imports": "import:tenantfix.apply",  # before the command's own error handling
    "rewrite": "rewrite",
}


def pause_with_hook(work: Path, env: dict[str, str], pause: str) -> None:
    hooks = work / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hooks), env.get("PYTHONPATH")]))
    env["TF_TEST_PAUSE"] = pause


@pytest.mark.parametrize("moment", MOMENTS)
def test_ctrl_c_at_any_moment(moment, writeup_repo, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    mark = work / "reached"
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir), "NO_COLOR": "1", "TF_TEST_MARK": str(mark)}
    args = ["apply", str(writeup_repo)]
    if moment in PAUSES:
        pause_with_hook(work, env, PAUSES[moment])
    elif moment == "makemigrations":
        wrapper = _executable(work / "python", SLOW_PYTHON.format(mark=mark, python=sys.executable))
        args += ["--python", str(wrapper)]
    else:
        slow_git(work, mark, "worktree add", env)
        settings = writeup_repo / "accreditation_portal" / "settings.py"
        settings.write_text(settings.read_text() + "\n# a local, uncommitted tweak\n")
        args.append("--allow-dirty")  # the branch is then built in a temporary worktree
    before = full_snapshot(writeup_repo, tmpdir)

    code, out, err = interrupt_at(mark, args, cwd=writeup_repo, env=env)

    assert code == 130, out + err
    assert "tenantfix: interrupted; nothing was written" in err, err
    assert "Traceback" not in out + err and "KeyboardInterrupt" not in out + err, err
    assert "error:" not in err, err  # not reported as a refusal (libcst's TransformExit)
    assert full_snapshot(writeup_repo, tmpdir) == before
    assert git(writeup_repo, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_ctrl_c_while_the_branch_is_written_says_exactly_what_was(writeup_repo, tmp_path):
    """The one write (update-ref) completed when Ctrl-C arrived: the message says so."""
    work = tmp_path / "work"
    work.mkdir()
    mark = work / "reached"
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir), "NO_COLOR": "1"}
    slow_git(work, mark, "update-ref", env)
    before = full_snapshot(writeup_repo, tmpdir)

    code, out, err = interrupt_at(mark, ["apply", str(writeup_repo)], cwd=writeup_repo, env=env)

    tip = git(writeup_repo, "rev-parse", "refs/heads/tenantfix/shared-user-app").strip()
    assert code == 130, out + err
    assert (
        f"tenantfix: interrupted; branch 'tenantfix/shared-user-app' was created at {tip[:12]} "
        "before it stopped; your checkout is unchanged"
    ) in err, err
    assert "nothing was written" not in err and "Traceback" not in err, err
    after = full_snapshot(writeup_repo, tmpdir)
    assert {k: v for k, v in after.items() if k != "refs"} == {
        k: v for k, v in before.items() if k != "refs"
    }


def test_ctrl_c_during_the_push_says_where_the_local_branch_is(writeup_repo, tmp_path):
    """`apply --push`: interrupted while git pushes; the local branch was written, and said so."""
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(writeup_repo), str(bare)], check=True)
    git(writeup_repo, "remote", "add", "origin", str(bare))
    work = tmp_path / "work"
    work.mkdir()
    mark = work / "reached"
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir), "NO_COLOR": "1"}
    slow_git(work, mark, "push", env)
    before = full_snapshot(writeup_repo, tmpdir)

    code, out, err = interrupt_at(
        mark, ["apply", "--push", "--base", "main", str(writeup_repo)], cwd=writeup_repo, env=env
    )

    tip = git(writeup_repo, "rev-parse", "refs/heads/tenantfix/shared-user-app").strip()
    assert code == 130, out + err
    assert (
        f"tenantfix: interrupted; the local branch 'tenantfix/shared-user-app' was moved to "
        f"{tip[:12]}; whether the push to {bare} completed is unknown"
    ) in " ".join(err.split()), err
    assert "Traceback" not in err, err
    after = full_snapshot(writeup_repo, tmpdir)
    assert {k: v for k, v in after.items() if k != "refs"} == {
        k: v for k, v in before.items() if k != "refs"
    }


def test_ctrl_c_while_printing_the_result_says_the_branch_was_created(writeup_repo, tmp_path):
    """After the commit, an interrupt (even one typer swallows) reports what was written."""
    work = tmp_path / "work"
    work.mkdir()
    mark = work / "reached"
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir), "NO_COLOR": "1", "TF_TEST_MARK": str(mark)}
    pause_with_hook(work, env, "echo:Committed the fix")
    before = full_snapshot(writeup_repo, tmpdir)

    code, out, err = interrupt_at(mark, ["apply", str(writeup_repo)], cwd=writeup_repo, env=env)

    tip = git(writeup_repo, "rev-parse", "refs/heads/tenantfix/shared-user-app").strip()
    assert code == 130, out + err
    assert (
        f"tenantfix: interrupted; branch 'tenantfix/shared-user-app' was created at {tip[:12]}; "
        "your checkout is unchanged"
    ) in err, err
    assert "nothing was written" not in err and "Traceback" not in err, err
    after = full_snapshot(writeup_repo, tmpdir)
    assert {k: v for k, v in after.items() if k != "refs"} == {
        k: v for k, v in before.items() if k != "refs"
    }


def test_ctrl_c_after_no_commit_wrote_the_files_names_them(writeup_repo, tmp_path):
    """`--no-commit`: the files were written (all of them) before Ctrl-C; the message lists them."""
    work = tmp_path / "work"
    work.mkdir()
    mark = work / "reached"
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir), "NO_COLOR": "1", "TF_TEST_MARK": str(mark)}
    pause_with_hook(work, env, "echo:Changed 3 file(s)")

    code, out, err = interrupt_at(
        mark, ["apply", "--no-commit", str(writeup_repo)], cwd=writeup_repo, env=env
    )

    assert code == 130, out + err
    assert (
        "tenantfix: interrupted; the fix was written to 3 file(s): "
        "accreditation_portal/settings.py, audit/migrations/0001_initial.py, "
        "audit/migrations/__init__.py"
    ) in err, err
    assert (writeup_repo / "audit" / "migrations" / "0001_initial.py").is_file()
    assert "Traceback" not in err, err
    assert list(tmpdir.iterdir()) == []


STUCK_PYTHON = """#!/bin/sh
case "$*" in
  *makemigrations_driver*) echo $$ > "{mark}"; exec sleep 300 ;;
esac
exec "{python}" "$@"
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_tenantfix_alone_stops_makemigrations_too(signum, writeup_repo, tmp_path):
    """`kill -INT <pid>` or a CI runner's SIGTERM reaches tenantfix, not its process group:
    makemigrations (waited on by a worker thread) must stop as well, not run to its end."""
    work = tmp_path / "work"
    work.mkdir()
    mark = work / "reached"
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir), "NO_COLOR": "1"}
    wrapper = _executable(work / "python", STUCK_PYTHON.format(mark=mark, python=sys.executable))
    before = full_snapshot(writeup_repo, tmpdir)
    proc = subprocess.Popen(
        [str(TENANTFIX), "apply", str(writeup_repo), "--python", str(wrapper)],
        cwd=writeup_repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not mark.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "makemigrations never started"
            time.sleep(0.02)
        child = int(mark.read_text())
        os.kill(proc.pid, signum)  # tenantfix alone
        out, err = proc.communicate(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, out + err
    assert "tenantfix: interrupted; nothing was written" in err, err
    assert "Traceback" not in out + err, err
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # the stuck child is gone
    assert full_snapshot(writeup_repo, tmpdir) == before
