"""What a ``migrate_schemas`` run (or a verify script) did, as structured events from
``drivers/migrate_driver.py`` in the project's interpreter instead of its printed output.

The driver appends one JSON object a line to a file of the runner's temp directory; the parent
reads new lines while the process runs (live progress) and once more after it exits. The
project's stdout and stderr are kept only as the log shown with --verbose: a settings module that
prints "Applying x.0001..." cannot change what tenantfix reports.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenantfix.errors import ExitCode, TenantfixError

if TYPE_CHECKING:
    from tenantfix.djangorun import DjangoRunner

DRIVER = Path(__file__).parent / "drivers" / "migrate_driver.py"
_runs = itertools.count()


@dataclass(frozen=True, slots=True)
class Event:
    """One line of the driver's side channel."""

    kind: str  # apply_start, apply_success, unapply_*, plan, schema_start, schema_done, error, result, exit
    schema: str | None = None
    migration: str | None = None
    elapsed: float | None = None
    count: int | None = None
    pid: int | None = None
    data: dict[str, Any] = field(default_factory=dict)  # the whole object as written

    @classmethod
    def parse(cls, line: str) -> Event | None:
        try:
            raw = json.loads(line)
        except ValueError:
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("event"), str):
            return None

        def text(key: str) -> str | None:
            value = raw.get(key)
            return value if isinstance(value, str) else None

        elapsed = raw.get("elapsed")
        count = raw.get("count")
        pid = raw.get("pid")
        return cls(
            kind=raw["event"],
            schema=text("schema"),
            migration=text("migration"),
            elapsed=float(elapsed) if isinstance(elapsed, int | float) else None,
            count=count if isinstance(count, int) else None,
            pid=pid if isinstance(pid, int) else None,
            data=raw,
        )


@dataclass(frozen=True, slots=True)
class DriverFailure:
    """The exception that ended the run, where it was raised and what was running."""

    exception: str  # "django.db.utils.ProgrammingError: relation "users_user" does not exist"
    migration: str | None = None
    schema: str | None = None
    where: str | None = None  # "audit/models.py:12: RETENTION_DAYS = ..." (the project's line)
    traceback: str = ""  # shown with --verbose only


@dataclass(frozen=True, slots=True)
class DriverRun:
    """One run of the driver: its events and, for the --verbose log, the project's output."""

    argv: tuple[str, ...]  # as the user would type it (``python manage.py migrate_schemas ...``)
    returncode: int
    stdout: str
    stderr: str
    events: tuple[Event, ...]
    seconds: float
    timed_out: bool = False  # killed by run_driver's timeout

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def command(self) -> str:
        return " ".join(self.argv)

    @property
    def applied(self) -> tuple[str, ...]:
        return tuple(e.migration for e in self.events if e.kind == "apply_success" and e.migration)

    @property
    def result(self) -> dict[str, Any] | None:
        """What a script handed to ``tenantfix_emit({"event": "result", "data": ...})``."""
        for event in reversed(self.events):
            data = event.data.get("data")
            if event.kind == "result" and isinstance(data, dict):
                return data
        return None

    @property
    def failure(self) -> DriverFailure | None:
        if self.ok:
            return None
        # the first error is the innermost: the one re-raised by a worker's parent comes later
        error = next((e for e in self.events if e.kind == "error"), None)
        if error is None:
            # the driver itself did not get to report (killed, an interpreter it cannot run
            # on): nothing structured to say; the output is in the --verbose log
            return DriverFailure(
                f"the process exited with status {self.returncode} without reporting an exception",
                migration=self._unfinished(),
            )
        message = str(error.data.get("message") or "")
        first = next((line.strip() for line in message.splitlines() if line.strip()), "")
        kind = str(error.data.get("type") or "Exception")
        where = error.data.get("where")
        code = error.data.get("code")
        if isinstance(where, str) and isinstance(code, str) and code:
            where = f"{where}: {code}"
        return DriverFailure(
            exception=f"{kind}: {first}" if first else kind,
            migration=error.migration or self._unfinished(),
            schema=error.schema,
            where=where if isinstance(where, str) else None,
            traceback=str(error.data.get("traceback") or ""),
        )

    def _unfinished(self) -> str | None:
        """The migration that started last and did not finish."""
        open_: dict[tuple[int | None, str | None], str] = {}
        last: str | None = None
        for event in self.events:
            key = (event.pid, event.schema)
            if event.kind in ("apply_start", "unapply_start") and event.migration:
                open_[key] = last = event.migration
            elif event.kind in ("apply_success", "unapply_success"):
                open_.pop(key, None)
        return last if last in open_.values() else None


def run_driver(
    runner: DjangoRunner,
    spec: dict[str, Any],
    shown: Sequence[str],
    on_event: Callable[[Event], None] | None = None,
    *,
    timeout: float | None = None,
    timeout_restarts_on: str | None = None,
    poll: float = 0.1,
) -> DriverRun:
    """Run the driver with ``spec`` in the project's interpreter; ``on_event`` sees each event
    as it is written.

    The process is killed after ``timeout`` seconds (default: the runner's), counted from the
    last event of kind ``timeout_restarts_on`` if given (a batch: per command); the result then
    has ``timed_out``.
    """
    limit = runner.timeout if timeout is None else timeout
    work = runner.workdir / f"driver-{next(_runs)}"
    work.mkdir()
    events_path = work / "events.jsonl"
    events_path.touch()
    spec_path = work / "spec.json"
    if runner.manage_py is not None:
        # the driver runs the project's manage.py as `python manage.py ...` would
        spec = {**spec, "manage_py": str(runner.manage_py)}
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    env = {
        **runner.env(),
        "TENANTFIX_MIGRATE_EVENTS": str(events_path),
        "TENANTFIX_PROJECT_ROOT": str(runner.root),
        "TENANTFIX_MIGRATE_DRIVER": str(DRIVER),
    }
    events: list[Event] = []
    reader = _Tail(events_path)
    started = clock = time.monotonic()
    timed_out = False

    def seen(event: Event) -> None:
        nonlocal clock
        if event.kind == timeout_restarts_on:
            clock = time.monotonic()
        if on_event is not None:
            on_event(event)

    with (
        (work / "stdout").open("w+b") as out,
        (work / "stderr").open("w+b") as err,
    ):
        try:
            proc = subprocess.Popen(
                [runner.python, str(DRIVER), str(spec_path)],
                cwd=runner.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        except FileNotFoundError:
            raise TenantfixError(
                f"--python {runner.python!r}: no such interpreter", ExitCode.USAGE
            ) from None
        try:
            while True:
                try:
                    proc.wait(timeout=poll)
                    break
                except subprocess.TimeoutExpired:
                    pass
                finally:
                    _deliver(reader.new_events(), events, seen)
                if time.monotonic() - clock > limit:
                    proc.kill()
                    proc.wait()
                    timed_out = True
                    break
        except BaseException:
            if proc.poll() is None:  # Ctrl-C, or on_event raised: no orphaned migrate
                proc.kill()
                proc.wait()
            raise
        _deliver(reader.new_events(final=True), events, seen)
        out.seek(0)
        err.seek(0)
        stdout = runner.scrub(out.read().decode("utf-8", "replace"))
        stderr = runner.scrub(err.read().decode("utf-8", "replace"))
    return DriverRun(
        argv=tuple(shown),
        returncode=proc.returncode,
        stdout=stdout,
        stderr=stderr,
        events=tuple(_scrubbed(runner, events)),
        seconds=time.monotonic() - started,
        timed_out=timed_out,
    )


def _deliver(
    new: Iterator[Event], into: list[Event], on_event: Callable[[Event], None] | None
) -> None:
    for event in new:
        into.append(event)
        if on_event is not None:
            on_event(event)


def _scrubbed(runner: DjangoRunner, events: list[Event]) -> Iterator[Event]:
    """Errors with the password masked (a connection error may quote the DSN)."""
    for event in events:
        if event.kind != "error":
            yield event
            continue
        data = {k: runner.scrub(v) if isinstance(v, str) else v for k, v in event.data.items()}
        yield Event(event.kind, event.schema, event.migration, event.elapsed, None, event.pid, data)


class _Tail:
    """The complete lines appended to a file since the last call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""

    def new_events(self, final: bool = False) -> Iterator[Event]:
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            chunk = fh.read()
        self.offset += len(chunk)
        data = self.partial + chunk
        lines = data.split(b"\n")
        self.partial = b"" if final else lines.pop()
        for line in lines:
            if line.strip():
                event = Event.parse(line.decode("utf-8", "replace"))
                if event is not None:
                    yield event
