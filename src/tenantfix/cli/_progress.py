"""Progress lines on stderr for steps that take seconds: a rich spinner on a terminal, plain
``tenantfix: ...`` lines otherwise (CI logs, pipes)."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any


class StepProgress:
    """``with StepProgress() as p: p("running migrate_schemas --shared")``."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet
        self._status: Any = None
        self._started = time.monotonic()

    def __enter__(self) -> StepProgress:
        if not self.quiet and sys.stderr.isatty():
            from rich.console import Console

            self._status = Console(stderr=True).status("tenantfix: starting")
            self._status.start()
        return self

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        if self._status is not None:
            self._status.update(f"tenantfix: {message}")
        else:
            elapsed = time.monotonic() - self._started
            sys.stderr.write(f"tenantfix: [{elapsed:5.1f}s] {message}\n")
            sys.stderr.flush()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
