"""One git layer (tenantfix.vcs, on GitPython) and what it guarantees.

- no module of tenantfix starts git except through GitPython (an AST scan, so a second
  subprocess layer cannot come back);
- the forge token reaches only the ls-remote, fetch and push processes, by environment: never
  argv (GIT_TRACE), ``.git/config``, GitPython's own logging, or any error text, even when the
  remote echoes it back;
- a Ctrl-C stops the git child; git failures nobody expected are a message, not a traceback.
"""

from __future__ import annotations

import ast
import base64
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support_forge import REPO, git, init_repo, make_bare_remote
from support_git import snapshot
from test_bot import BRANCH, FAST, compute, project_files, remote_sha
from test_git_hooks import install_hooks, ran_hooks
from typer.testing import CliRunner

from tenantfix import vcs
from tenantfix.bot import PublishTarget, publish
from tenantfix.cli import app
from tenantfix.errors import ExitCode, TenantfixError

SRC = Path(__file__).parent.parent / "src" / "tenantfix"
TENANTFIX = Path(sys.executable).parent / "tenantfix"

# ------------------------------------------------------------------ the scan
_SPAWNERS = {
    ("subprocess", name)
    for name in ("run", "Popen", "call", "check_call", "check_output", "getoutput")
} | {("os", name) for name in ("system", "popen", "execv", "execvp", "execvpe", "spawnlp")}


def _names_git(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            word = sub.value.strip()
            if word == "git" or word.startswith("git ") or word.endswith("/git"):
                return True
    return False


def git_spawns(root: Path) -> list[str]:
    """``path:line`` of every process-spawning call whose arguments name git, and of every
    module that spawns processes and holds a ``"git"`` string (``GIT = "git"``; ``run([GIT])``)."""
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        spawns = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and (node.func.value.id, node.func.attr) in _SPAWNERS
        ]
        rel = path.relative_to(root).as_posix()
        found += [f"{rel}:{call.lineno}" for call in spawns if _names_git(call)]
        if spawns and not any(rel in f for f in found) and _names_git(tree):
            found.append(f"{rel}: spawns processes and names git")
    return found


def test_no_module_runs_git_but_through_gitpython():
    assert git_spawns(SRC) == []


def test_the_scan_finds_a_subprocess_git_layer(tmp_path):
    """The scan is not vacuous: the runner bot.py had, and the indirect spelling."""
    (tmp_path / "direct.py").write_text(
        "import subprocess\n\ndef run(*a):\n"
        "    return subprocess.run(['git', '-c', 'x=y', *a], capture_output=True)\n"
    )
    (tmp_path / "indirect.py").write_text(
        "import subprocess\nGIT = 'git'\n\ndef run(*a):\n    subprocess.check_output([GIT, *a])\n"
    )
    (tmp_path / "fine.py").write_text(
        "import subprocess\n\ndef run(py):\n    subprocess.run([py, '-c', 'print(1)'])\n"
    )
    assert git_spawns(tmp_path) == ["direct.py:4", "indirect.py: spawns processes and names git"]


# ------------------------------------------------------------------ the token
@pytest.fixture
def served(tmp_path, fake_forge, forge_token, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", forge_token)
    work = init_repo(tmp_path / "work", project_files())
    bare = fake_forge.git_root / f"{REPO}.git"
    make_bare_remote(bare, work, url=fake_forge.git_url(REPO))
    return work, bare


def token_forms(token: str) -> list[str]:
    return [token] + [
        base64.b64encode(f"{user}:{token}".encode()).decode()
        for user in ("x-access-token", "oauth2")
    ]


@pytest.fixture
def gitpython_logs(monkeypatch, caplog):
    """GitPython's most verbose logging (commands, and their output) captured."""
    import git

    monkeypatch.setattr(git.Git, "GIT_PYTHON_TRACE", "full")
    caplog.set_level(logging.DEBUG, logger="git")
    return caplog


def test_the_token_is_in_no_argv_config_or_log(
    served, fake_forge, forge_token, tmp_path, monkeypatch, gitpython_logs
):
    work, bare = served
    trace = tmp_path / "git-trace.log"
    monkeypatch.setenv("GIT_TRACE", str(trace))  # every git process's argv, children included
    markers = tmp_path / "markers"
    install_hooks(work, markers)
    out: list[str] = []

    result = publish(
        work,
        PublishTarget(
            branch=BRANCH, open_pr=True, provider="github", api_url=fake_forge.github_api_url
        ),
        compute=compute,
        forge_options=FAST,
        echo=out.append,
    )

    assert result.action == "created" and remote_sha(bare, f"refs/heads/{BRANCH}")
    traced = trace.read_text()
    for command in ("ls-remote", "fetch", "push", "update-ref", "worktree"):
        assert f"trace: built-in: git {command} " in traced
    assert "git-remote-http" in traced  # the HTTP children are traced too
    seen = "\n".join(
        [
            traced,
            gitpython_logs.text,
            "\n".join(out),
            (work / ".git" / "config").read_text(),
            git(work, "log", "-g", "--all", "--format=%gs %B"),
        ]
    )
    for form in token_forms(forge_token):
        assert form not in seen
    assert ran_hooks(markers) == []  # pre-commit, pre-push, reference-transaction, ...


def test_a_push_failure_that_echoes_the_token_is_scrubbed(
    served, forge_token, tmp_path, monkeypatch, gitpython_logs
):
    """The remote's refusal quotes the token (and its basic-auth form): exit 5, no token."""
    work, bare = served
    basic = base64.b64encode(f"x-access-token:{forge_token}".encode()).decode()
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\necho 'denied for {forge_token} ({basic})' >&2\nexit 1\n")
    hook.chmod(0o755)
    trace = tmp_path / "git-trace.log"
    monkeypatch.setenv("GIT_TRACE", str(trace))

    with pytest.raises(TenantfixError) as info:
        publish(work, PublishTarget(branch=BRANCH, base="main", provider="github"), compute=compute)

    message = info.value.message
    assert info.value.exit_code == ExitCode.REMOTE
    assert "was rejected" in message and "denied for *** (***)" in message
    assert "Cmd(" not in message and "cmdline" not in message  # not GitPython's wording
    local = git(work, "rev-parse", f"refs/heads/{BRANCH}")
    assert f"The local branch '{BRANCH}' is at {local[:12]}." in message
    seen = message + gitpython_logs.text + (work / ".git" / "config").read_text()
    seen += trace.read_text()
    for form in token_forms(forge_token):
        assert form not in seen
    assert remote_sha(bare, f"refs/heads/{BRANCH}") is None


RECORDING_GIT = """#!/bin/sh
# the git subcommand, and whether the token is anywhere in this process's environment
sub=""
skip=0
for arg in "$@"; do
  if [ $skip = 1 ]; then skip=0; continue; fi
  case "$arg" in -c) skip=1 ;; -*) ;; *) sub="$arg"; break ;; esac
done
if env | grep -q "{token}"; then has=token; else has=clean; fi
echo "$sub $has" >> "{log}"
exec "{git}" "$@"
"""


def test_only_the_remote_commands_get_the_token(served, forge_token, tmp_path, monkeypatch):
    """rev-parse, log, commit-tree, update-ref, worktree ... run without it in their env."""
    work, _bare = served
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "git-env.log"
    wrapper = bindir / "git"
    # the token's base64 form is what travels (in GIT_CONFIG_VALUE_n)
    basic = base64.b64encode(f"x-access-token:{forge_token}".encode()).decode()
    wrapper.write_text(
        RECORDING_GIT.format(token=basic[:24], log=log, git=subprocess.getoutput("command -v git"))
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")

    result = publish(
        work, PublishTarget(branch=BRANCH, base="main", provider="github"), compute=compute
    )

    assert result.pushed
    calls = [line.split() for line in log.read_text().splitlines()]
    with_token = sorted({sub for sub, has in calls if has == "token"})
    without = {sub for sub, has in calls if has == "clean"}
    assert with_token == ["fetch", "ls-remote", "push"]
    assert {"rev-parse", "commit-tree", "update-ref", "worktree"} <= without


# ------------------------------------------------------------------ Ctrl-C
PAUSING_GIT = """#!/bin/sh
case " $* " in
  *" fetch "*) echo $$ > "{mark}"; exec sleep 300 ;;
esac
exec "{git}" "$@"
"""


def test_ctrl_c_during_a_fetch_stops_the_git_child(writeup_repo, tmp_path):
    """SIGINT to tenantfix alone (not its process group): the git child is stopped too."""
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(writeup_repo), str(bare)], check=True)
    subprocess.run(["git", "remote", "add", "origin", str(bare)], cwd=writeup_repo, check=True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    mark = tmp_path / "fetching"
    (bindir / "git").write_text(
        PAUSING_GIT.format(mark=mark, git=subprocess.getoutput("command -v git"))
    )
    (bindir / "git").chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1"}
    before = snapshot(writeup_repo)
    proc = subprocess.Popen(
        [str(TENANTFIX), "apply", "--push", "--base", "main", str(writeup_repo)],
        cwd=writeup_repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the signal reaches tenantfix only, as `kill -INT <pid>` would
    )
    try:
        deadline = time.monotonic() + 120
        while not (mark.exists() and mark.read_text().strip()):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "git fetch was never reached"
            time.sleep(0.05)
        child = int(mark.read_text())
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert "tenantfix: interrupted; nothing was written" in err, err
    assert "Traceback" not in err
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
    assert snapshot(writeup_repo) == before
    assert not list((writeup_repo / ".git").rglob("*.lock"))


# ------------------------------------------------------------------ errors
def test_a_branch_that_blocks_the_fix_branch_is_refused_not_a_traceback(writeup_repo):
    """A branch named 'tenantfix' makes 'tenantfix/...' impossible (refs are paths)."""
    git(writeup_repo, "branch", "tenantfix")
    before = snapshot(writeup_repo)
    result = CliRunner().invoke(app, ["apply", str(writeup_repo)])
    assert result.exit_code == ExitCode.REFUSED, result.output
    assert "cannot write branch 'tenantfix/shared-user-app'" in result.output
    assert "'refs/heads/tenantfix' exists" in result.output
    assert "Traceback" not in result.output and "cmdline" not in result.output
    assert snapshot(writeup_repo) == before


def test_a_git_failure_nobody_expected_is_a_message_not_a_traceback(writeup_repo):
    """A corrupt index: `git status` fails inside apply; exit 3 with git's own words."""
    (writeup_repo / ".git" / "index").write_bytes(b"DIRC garbage")
    proc = subprocess.run(
        [str(TENANTFIX), "apply", str(writeup_repo)],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == ExitCode.REFUSED, proc.stdout + proc.stderr
    assert "tenantfix: error: git status failed: " in proc.stderr
    assert "index" in proc.stderr
    assert "Traceback" not in proc.stderr and "cmdline" not in proc.stderr


def test_git_errors_are_git_words_not_gitpython_decoration(writeup_repo, tmp_path):
    (writeup_repo / ".git" / "worktrees").write_text("not a directory\n")
    with (
        pytest.raises(TenantfixError) as info,
        vcs.temporary_worktree(writeup_repo, "HEAD"),
    ):
        raise AssertionError("the worktree was added")  # pragma: no cover
    assert info.value.message.startswith(
        "could not check out 'HEAD' into a temporary worktree: fatal: "
    ), info.value.message
    assert "stderr: '" not in info.value.message
