"""Ctrl-C: exit 130, say exactly what was written (usually nothing), leave nothing behind.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be, but a library may
swallow it: libcst turns it into ``TransformExit`` inside a transform (our codemods then report
"transform exited", which would read as a refusal), and a git child killed by the same Ctrl-C
makes GitPython raise ``GitCommandError``. So the commands :func:`watch` for SIGINT, and a
failure that follows one is reported as the interrupt, not as the failure it caused.

Kept free of heavy imports: the console entry point uses it before typer is loaded.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

NOTHING_WRITTEN = "nothing was written"

_received: list[bool] = [False]


class Interrupted(KeyboardInterrupt):
    """An interrupt that arrived after something was written; ``written`` says what."""

    def __init__(self, written: str) -> None:
        super().__init__(written)
        self.written = written


def message(exc: BaseException | None = None) -> str:
    """The line for the user, e.g. ``tenantfix: interrupted; nothing was written``."""
    written = exc.written if isinstance(exc, Interrupted) else NOTHING_WRITTEN
    return f"tenantfix: interrupted; {written}"


def received() -> bool:
    """Whether SIGINT arrived while :func:`watch` was active (even if something swallowed it)."""
    return _received[0]


def raise_if_received() -> None:
    """Stop before writing when an interrupt was swallowed on the way here."""
    if _received[0]:
        raise KeyboardInterrupt


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _received[0] = True
    raise KeyboardInterrupt


@contextlib.contextmanager
def watch() -> Iterator[None]:
    """Note every SIGINT during the block (and still raise ``KeyboardInterrupt`` as usual)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received[0] = False
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Run the block to its end even if Ctrl-C arrives; raise the interrupt afterwards.

    For cleanups (removing a worktree) and for the one write that must not stop half-way.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        _received[0] = True
        pending.append(signum)

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pending:
        raise KeyboardInterrupt
