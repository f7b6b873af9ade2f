"""Run many ``manage.py`` commands in one process of the project, one result per command.

A repair over 200 tenant schemas is 200 ``migrate_schemas --schema=<s> <app> zero --fake``
commands; as separate processes each pays Django's start-up (about 1 s, measured). Here one
process runs them in order through Django's ``call_command`` (the same parser and command as
``manage.py``), prints a marker line around each, and stops at the first failure. The parent
reads the markers as they come, so progress is per command, and builds one
:class:`~tenantfix.djangorun.RunResult` per command, as if each had been its own process.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable, Sequence

from tenantfix.db.connect import scrub
from tenantfix.djangorun import DjangoRunner, RunResult, final_exception, parse_output

_SCRIPT = r"""
import json, sys, time, traceback
import django
django.setup()
from django.core.management import call_command
for i, args in enumerate(json.loads(sys.argv[1])):
    print("TENANTFIX-BEGIN %d" % i, flush=True)
    started = time.monotonic()
    try:
        call_command(*args)
    except BaseException:
        traceback.print_exc()
        sys.stdout.flush()
        print("TENANTFIX-FAILED %d %.3f" % (i, time.monotonic() - started), flush=True)
        sys.exit(1)
    sys.stdout.flush()
    print("TENANTFIX-OK %d %.3f" % (i, time.monotonic() - started), flush=True)
"""


def run_batch(
    runner: DjangoRunner,
    commands: Sequence[tuple[str, ...]],
    *,
    before_each: Callable[[int], None] | None = None,
    into: list[RunResult] | None = None,
    timeout_per_command: float = 300.0,
) -> list[RunResult]:
    """Run ``commands`` (arguments after ``manage.py``) in order in one process.

    Returns one result per command that started; the last one failed if the batch stopped.
    Each result is also appended to ``into`` as it comes, so a caller interrupted by Ctrl-C
    knows which commands finished.
    """
    argv = [runner.python, "-c", _SCRIPT, json.dumps([list(c) for c in commands])]
    proc = subprocess.Popen(
        argv,
        cwd=runner.root,
        env=runner.env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    errors: list[str] = []
    # stderr is drained on a thread: a chatty command must not block on a full pipe
    drain = threading.Thread(target=lambda: errors.extend(proc.stderr or ()), daemon=True)
    drain.start()
    watchdog = _Watchdog(proc, timeout_per_command)
    results: list[RunResult] = into if into is not None else []
    first = len(results)
    current: int | None = None
    lines: list[str] = []
    stderr_mark = 0
    try:
        for line in proc.stdout:
            if line.startswith("TENANTFIX-BEGIN "):
                current, lines = int(line.split()[1]), []
                stderr_mark = len(errors)
                watchdog.reset()
                if before_each is not None:
                    before_each(current)
                continue
            if line.startswith(("TENANTFIX-OK ", "TENANTFIX-FAILED ")) and current is not None:
                failed = line.startswith("TENANTFIX-FAILED ")
                if failed:
                    drain.join(timeout=10)  # the traceback was printed before the marker
                results.append(
                    _result(runner, commands[current], lines, errors[stderr_mark:], failed, line)
                )
                current = None
                continue
            lines.append(line)
        proc.wait()
        drain.join(timeout=10)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        watchdog.stop()
    if watchdog.fired and current is not None:
        # killed mid-command: a failure of that command, so the caller still says what
        # took effect before it
        errors.append(
            f"tenantfix: killed after {timeout_per_command:.0f} s without finishing "
            "(a lock held by another session?)\n"
        )
    if current is not None or (proc.returncode != 0 and not any(not r.ok for r in results[first:])):
        # the process died outside a command (settings, django.setup()) or mid-command
        index = current if current is not None else len(results) - first
        failed_args = commands[index] if index < len(commands) else commands[-1]
        results.append(
            _result(runner, failed_args, lines, errors[stderr_mark:], True, "", proc.returncode)
        )
    return results[first:]


def _result(
    runner: DjangoRunner,
    args: Sequence[str],
    lines: list[str],
    errors: list[str],
    failed: bool,
    marker: str,
    returncode: int | None = None,
) -> RunResult:
    stdout = scrub("".join(lines), runner.database)
    stderr = scrub("".join(errors), runner.database)
    applied, pending, schema = parse_output(stdout, stderr)
    parts = marker.split()
    seconds = float(parts[2]) if len(parts) > 2 else 0.0
    code = returncode if returncode is not None else (1 if failed else 0)
    return RunResult(
        argv=("python", "manage.py", *args),
        returncode=code if failed else 0,
        stdout=stdout,
        stderr=stderr,
        applied=applied,
        failed_migration=pending if failed else None,
        schema=schema,
        error=final_exception(stderr) if failed else None,
        seconds=seconds,
    )


class _Watchdog:
    """Kills the process when one command runs longer than ``limit`` seconds."""

    def __init__(self, proc: subprocess.Popen[str], limit: float) -> None:
        self.proc = proc
        self.limit = limit
        self.fired = False
        self._deadline = time.monotonic() + limit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def reset(self) -> None:
        self._deadline = time.monotonic() + self.limit

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            if time.monotonic() > self._deadline and self.proc.poll() is None:
                self.fired = True
                self.proc.kill()
                return

    def stop(self) -> None:
        self._stop.set()
