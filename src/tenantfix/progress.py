"""Progress messages from deep inside a command (makemigrations, fetch, push) to whatever the
CLI shows (a rich spinner, plain lines, nothing with ``-q``), without threading a callback
through every layer in between.

Library code calls :func:`report`; the CLI installs its display with :func:`reporting`. A
context variable keeps it per thread of control, and nothing is printed when none is installed
(library use, tests calling functions directly).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

_current: ContextVar[Callable[[str], None] | None] = ContextVar("tenantfix_progress", default=None)


def report(message: str) -> None:
    """Tell the user what is starting now (a step that can take more than a second)."""
    show = _current.get()
    if show is not None:
        show(message)


@contextlib.contextmanager
def reporting(show: Callable[[str], None]) -> Iterator[None]:
    token = _current.set(show)
    try:
        yield
    finally:
        _current.reset(token)
