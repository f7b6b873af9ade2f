"""Progress lines on stderr for steps that take seconds: a rich spinner on a terminal, plain
``tenantfix: ...`` lines otherwise (CI logs, pipes, TERM=dumb), nothing with ``-q``."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any


def _live(quiet: bool) -> bool:
    """A rich display only on a real terminal: CI logs and pipes get plain lines."""
    import os

    return not quiet and sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def _console(color: str) -> Any:
    from rich.console import Console

    from tenantfix.cli._common import color_enabled

    return Console(stderr=True, no_color=not color_enabled(color, sys.stderr))


class StepProgress:
    """``with StepProgress() as p: p("running migrate_schemas --shared")``; ``p.detail(...)``
    for a status that changes often (each migration of a schema)."""

    # plain logs get a detail line only when nothing was printed for this long
    DETAIL_EVERY = 5.0

    def __init__(self, *, quiet: bool = False, color: str = "auto") -> None:
        self.quiet = quiet
        self.color = color
        self._status: Any = None
        self._started = time.monotonic()
        self._printed = self._started

    def __enter__(self) -> StepProgress:
        if _live(self.quiet):
            self._status = _console(self.color).status("tenantfix: starting")
            self._status.start()
        return self

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        if self._status is not None:
            self._status.update(f"tenantfix: {message}")
        else:
            now = time.monotonic()
            sys.stderr.write(f"tenantfix: [{now - self._started:5.1f}s] {message}\n")
            sys.stderr.flush()
            self._printed = now

    def detail(self, message: str) -> None:
        """On a terminal the status shows every detail; a plain log one now and then."""
        if self.quiet:
            return
        if self._status is not None or time.monotonic() - self._printed >= self.DETAIL_EVERY:
            self(message)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


class CountProgress:
    """A bar over N commands on a terminal (rich), ``tenantfix: [i/N] ...`` lines otherwise.

    ``with CountProgress() as p: p(done, total, command)`` before each command; ``note`` for a
    message between them (cloning a database, ...).
    """

    def __init__(self, *, quiet: bool = False, color: str = "auto") -> None:
        self.quiet = quiet
        self.color = color
        self._bar: Any = None
        self._task: Any = None
        self._started = time.monotonic()

    def __enter__(self) -> CountProgress:
        if _live(self.quiet):
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("tenantfix:"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                console=_console(self.color),
                transient=True,
            )
            self._bar.start()
        return self

    def __call__(self, done: int, total: int, command: object) -> None:
        text = str(getattr(command, "shell", command))
        if self.quiet:
            return
        if self._bar is not None:
            if self._task is None or done == 0:  # a new run of commands (clone, then real)
                if self._task is not None:
                    self._bar.remove_task(self._task)
                self._task = self._bar.add_task(text, total=total)
            self._bar.update(self._task, completed=done, description=text)
        else:
            self._line(f"[{done + 1}/{total}] {text}")

    def note(self, message: str) -> None:
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.console.print(f"tenantfix: {message}")
        else:
            self._line(message)

    def _line(self, message: str) -> None:
        elapsed = time.monotonic() - self._started
        sys.stderr.write(f"tenantfix: [{elapsed:5.1f}s] {message}\n")
        sys.stderr.flush()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
