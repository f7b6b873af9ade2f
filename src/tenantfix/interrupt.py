"""Ctrl-C: exit 130, say exactly what was written (usually nothing), leave nothing behind.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be, but a library may
swallow it: libcst's ``transform_module`` turns it into ``TransformExit`` (which read as a
refusal, "transform exited", exit 3), and a git child killed by the same Ctrl-C makes GitPython
raise ``GitCommandError``. So the commands :func:`watch` for SIGINT, and a
failure that follows one is reported as the interrupt, not as the failure it caused.

What the message says was written comes from a journal: each write records itself with
:func:`wrote` in the same uninterruptible block (:func:`deferred`) that makes it, so an
interrupt at any later moment, even while the result is being printed, reports it.

Kept free of heavy imports: the console entry point uses it before typer is loaded.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import subprocess

NOTHING_WRITTEN = "nothing was written"

_received: list[bool] = [False]
_reported: list[bool] = [False]
_written: list[str] = []


class Interrupted(KeyboardInterrupt):
    """An interrupt after a write the journal could not record; ``written`` says what."""

    def __init__(self, written: str) -> None:
        super().__init__(written)
        self.written = written


def wrote(what: str) -> None:
    """Record a write that has happened (``"branch 'x' was created at abc123"``)."""
    _written.append(what)


def written() -> str:
    """What the journal says was written, or that nothing was."""
    return "; ".join(_written) or NOTHING_WRITTEN


def message(exc: BaseException | None = None) -> str:
    """The line for the user, e.g. ``tenantfix: interrupted; nothing was written``.

    Calling it means the interrupt is being reported (see :func:`reported`).
    """
    _reported[0] = True
    what = exc.written if isinstance(exc, Interrupted) else written()
    return f"tenantfix: interrupted; {what}"


def reported() -> bool:
    """Whether :func:`message` was produced (typer turns an escaped interrupt into a silent
    exit 130; the entry point then reports it)."""
    return _reported[0]


def received() -> bool:
    """Whether SIGINT arrived while :func:`watch` was active (even if something swallowed it)."""
    return _received[0]


def raise_if_received() -> None:
    """Stop before writing when an interrupt was swallowed on the way here."""
    if _received[0]:
        raise KeyboardInterrupt


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _received[0] = True
    # A terminal's Ctrl-C reaches the whole process group; `kill -INT <pid>` and a CI runner's
    # SIGTERM reach tenantfix alone: its children hear it from here.
    for proc in list(_children):
        with contextlib.suppress(OSError):
            proc.send_signal(signal.SIGINT)
    raise KeyboardInterrupt


_children: list[subprocess.Popen[str]] = []
_GRACE = 5.0  # seconds a child gets to clean up after SIGTERM before it is killed


def stop_child(proc: subprocess.Popen[Any], grace: float = _GRACE) -> None:
    """Stop a child that must not outlive an interrupt: SIGTERM first (git removes its lock
    files, Django's migrate rolls back), SIGKILL after ``grace`` seconds. A second Ctrl-C
    does not cut this short."""
    import subprocess

    with deferred():
        if proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_child(proc: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """``proc.communicate()`` for a child a worker thread waits on, which stops with us.

    An interrupt reaches the child (see :func:`_on_sigint`) and :func:`stop_child` makes sure
    it ends, so the worker's wait, and the main thread's wait for the worker, end.
    ``subprocess.TimeoutExpired`` after ``timeout`` seconds, as ``run`` does.
    """
    import subprocess
    import time

    _children.append(proc)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return proc.communicate(timeout=0.25)
            except subprocess.TimeoutExpired:
                if _received[0]:
                    stop_child(proc)
                elif time.monotonic() > deadline:
                    proc.kill()
                    proc.communicate()
                    raise subprocess.TimeoutExpired(proc.args, timeout) from None
    finally:
        _children.remove(proc)


# SIGTERM is how CI cancels a job, `timeout` ends a command and `docker stop` a container: it
# gets the same care as Ctrl-C (clean-ups run, the journal is reported, exit 130), where
# Python's default would end the process on the spot and leave a scratch database behind.
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _can_handle() -> bool:
    """Only the main thread can set handlers."""
    return threading.current_thread() is threading.main_thread()


def _handled(signum: int) -> bool:
    """An ignored signal (nohup, a background job of a shell without job control) stays
    ignored, as Python itself leaves it."""
    return signal.getsignal(signum) is not signal.SIG_IGN


@contextlib.contextmanager
def watch() -> Iterator[None]:
    """Note every SIGINT or SIGTERM during the block and raise ``KeyboardInterrupt`` for it."""
    _received[0] = False
    _reported[0] = False
    _written.clear()
    if not _can_handle():
        yield
        return
    previous = {s: signal.signal(s, _on_sigint) for s in _SIGNALS if _handled(s)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Run the block to its end even if Ctrl-C arrives; raise the interrupt afterwards.

    For cleanups (removing a worktree) and for the one write that must not stop half-way.
    """
    if not _can_handle():
        yield
        return
    pending: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        _received[0] = True
        pending.append(signum)

    previous = {s: signal.signal(s, note) for s in _SIGNALS if _handled(s)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if pending:
        raise KeyboardInterrupt
