"""Command-line interface: one module per command, no logic here.

This package imports nothing heavy: ``main`` (the console entry point) loads typer and the
commands inside its own ``try``, so a Ctrl-C in the first moments exits 130 with a message
instead of a ``KeyboardInterrupt`` traceback. Each command module imports its heavy
dependencies (libcst, Django, GitPython) inside the command function, so
``tenantfix --version`` stays fast.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs start-up time
if TYPE_CHECKING:
    import typer

__all__ = ["app", "main"]


def plain_output() -> bool:
    """Plain help and errors (click's), not typer's rich boxes: when stdout or stderr is not a
    terminal (CI logs, pipes, editors), TERM=dumb, or NO_COLOR is set."""
    import os

    if os.environ.get("TERM") == "dumb" or os.environ.get("NO_COLOR"):
        return True
    return not (sys.stdout.isatty() and sys.stderr.isatty())


def load_app() -> typer.Typer:
    """The Typer application with every command registered."""
    from tenantfix.cli import apply as _apply  # noqa: F401  (registers the command)
    from tenantfix.cli import check as _check  # noqa: F401
    from tenantfix.cli import move_users as _move_users  # noqa: F401  (move-users)
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
        if sys.argv[1:] == ["--version"]:
            # what editors and pre-commit ask first: answered without loading typer (~60 ms)
            from tenantfix import __version__

            sys.stdout.write(f"tenantfix {__version__}\n")
            return
        app = load_app()
        if plain_output():
            # read by typer when it builds the click command, i.e. in app()
            app.rich_markup_mode = None
            app.pretty_exceptions_enable = False
        app()
    except KeyboardInterrupt as exc:  # while loading typer and the commands
        from tenantfix import interrupt

        sys.stderr.write(interrupt.message(exc) + "\n")
        sys.exit(130)
    except SystemExit as exc:
        from tenantfix import interrupt

        # typer turns an interrupt outside the commands' own handling (parsing the command
        # line, a command's imports, printing its result) into a silent exit 130
        if exc.code == 130 and not interrupt.reported():
            sys.stderr.write(interrupt.message() + "\n")
        raise
