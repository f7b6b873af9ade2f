"""Run many ``manage.py`` commands in one process of the project, one result per command.

A repair over 200 tenant schemas is 200 ``migrate_schemas --schema=<s> <app> zero --fake``
commands; as separate processes each pays Django's start-up (about 1 s, measured). Here one
process, ``drivers/migrate_driver.py``, runs them in order through Django's ``call_command``
(the same parser and command as ``manage.py``) and stops at the first failure. Its events
(:mod:`tenantfix.migrate_events`) mark where each command starts and ends and carry what it
applied and how it failed; the parent reads them as they come, so progress is per command, and
builds one :class:`~tenantfix.djangorun.RunResult` per command, as if each had been its own
process. What the project prints is kept for --verbose only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tenantfix.djangorun import DjangoRunner, RunResult
from tenantfix.migrate_events import DriverRun, Event, run_driver


def run_batch(
    runner: DjangoRunner,
    commands: Sequence[tuple[str, ...]],
    *,
    before_each: Callable[[int], None] | None = None,
    into: list[RunResult] | None = None,
    timeout_per_command: float = 300.0,
    checks: bool = False,
) -> list[RunResult]:
    """Run ``commands`` (arguments after ``manage.py``) in order in one process.

    Returns one result per command that started; the last one failed if the batch stopped.
    Each result is also appended to ``into`` as it comes, so a caller interrupted by Ctrl-C
    knows which commands finished. ``checks``: run Django's system checks before each command,
    as ``manage.py`` does (``call_command`` skips them).
    """
    results: list[RunResult] = into if into is not None else []
    first = len(results)
    window: list[Event] = []  # the events of the command running now
    state: dict[str, int | None] = {"current": None, "failed": None}

    def on_event(event: Event) -> None:
        index = event.data.get("index")
        if event.kind == "command_start" and isinstance(index, int):
            state["current"] = index
            window.clear()
            if before_each is not None:
                before_each(index)
        elif event.kind == "command_done" and isinstance(index, int):
            results.append(_result(commands[index], window, event.elapsed))
            state["current"] = None
        elif event.kind == "command_failed" and isinstance(index, int):
            state["failed"] = index  # its result needs the output, read when the process ends
        else:
            window.append(event)

    spec = {"commands": [list(c) for c in commands], "checks": checks}
    shown = ("python", "manage.py", "<batch>")
    run = run_driver(
        runner,
        spec,
        shown,
        on_event,
        timeout=timeout_per_command,
        timeout_restarts_on="command_start",
    )
    failed = state["failed"] if state["failed"] is not None else state["current"]
    if failed is None and not run.ok and len(results) - first < len(commands):
        failed = len(results) - first  # the process died before a command started (settings)
    if failed is not None:
        results.append(_failure(commands[failed], window, run, timeout_per_command))
    return results[first:]


def _result(args: Sequence[str], events: list[Event], seconds: float | None) -> RunResult:
    applied = tuple(e.migration for e in events if e.kind == "apply_success" and e.migration)
    schemas = [e.schema for e in events if e.schema]
    return RunResult(
        argv=("python", "manage.py", *args),
        returncode=0,
        stdout="",
        stderr="",
        applied=applied,
        failed_migration=None,
        schema=schemas[-1] if schemas else None,
        error=None,
        seconds=seconds or 0.0,
    )


def _failure(args: Sequence[str], events: list[Event], run: DriverRun, limit: float) -> RunResult:
    done = _result(args, events, None)
    failure = run.failure
    if run.timed_out:
        # killed mid-command: a failure of that command, so the caller still says what took
        # effect before it
        error: str | None = (
            f"tenantfix: killed after {limit:.0f} s without finishing "
            "(a lock held by another session?)"
        )
    else:
        error = failure.exception if failure else None
    elapsed = [e.elapsed for e in run.events if e.kind == "command_failed" and e.elapsed]
    return RunResult(
        argv=done.argv,
        returncode=run.returncode or 1,
        stdout=run.stdout,
        stderr=(run.stderr + ("\n" + failure.traceback if failure and failure.traceback else "")),
        applied=done.applied,
        failed_migration=failure.migration if failure and not run.timed_out else None,
        schema=(failure.schema if failure and failure.schema else done.schema),
        error=error,
        seconds=elapsed[-1] if elapsed else 0.0,
        where=failure.where if failure and not run.timed_out else None,
    )
