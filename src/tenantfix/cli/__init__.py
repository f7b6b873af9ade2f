"""Command-line interface: one module per command, no logic here.

This package imports nothing heavy: ``main`` (the console entry point) loads typer and the
commands inside its own ``try``, so a Ctrl-C in the first moments exits 130 with a message
instead of a ``KeyboardInterrupt`` traceback. Each command module imports its heavy
dependencies (libcst, Django, GitPython) inside the command function, so
``tenantfix --version`` stays fast.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

__all__ = ["app", "main"]


def load_app() -> typer.Typer:
    """The Typer application with every command registered."""
    from tenantfix.cli import apply as _apply  # noqa: F401  (registers the command)
    from tenantfix.cli import check as _check  # noqa: F401
    from tenantfix.cli import repair as _repair  # noqa: F401  (repair-db)
    from tenantfix.cli import rules as _rules  # noqa: F401  (rules, explain)
    from tenantfix.cli import verify as _verify  # noqa: F401
    from tenantfix.cli._app import app

    return app


def __getattr__(name: str) -> object:
    # `from tenantfix.cli import app` keeps working, without loading typer on package import
    if name == "app":
        return load_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """The console entry point (``tenantfix``, ``python -m tenantfix``)."""
    try:
        load_app()()
    except KeyboardInterrupt as exc:  # before the commands' own handling, or after it
        from tenantfix.errors import ExitCode
        from tenantfix.interrupt import message

        sys.stderr.write(message(exc) + "\n")
        sys.exit(int(ExitCode.INTERRUPTED))
