"""Options and error handling shared by the commands."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from tenantfix.errors import ExitCode, SettingsError, TenantfixError

PathArg = Annotated[
    Path,
    typer.Argument(
        help="The project directory (with manage.py) or a directory above it.", show_default=True
    ),
]
SettingsOpt = Annotated[
    str | None,
    typer.Option(
        "--settings", help="Settings module, overriding manage.py's DJANGO_SETTINGS_MODULE default."
    ),
]
PythonOpt = Annotated[
    str | None,
    typer.Option(
        "--python",
        help="The project's interpreter, for Django's makemigrations (default: this one).",
    ),
]
SelectOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--select", help="Only these rule codes or prefixes (repeatable: --select TF001)."
    ),
]
IgnoreOpt = Annotated[
    list[str] | None,
    typer.Option("--ignore", help="Skip these rule codes or prefixes (repeatable)."),
]


def err(message: str) -> None:
    typer.echo(message, err=True)


@contextlib.contextmanager
def handle_errors(settings_exit: ExitCode = ExitCode.USAGE) -> Iterator[None]:
    """Turn expected failures into a message on stderr and their exit code."""
    try:
        yield
    except SettingsError as exc:
        err(f"tenantfix: error: {exc.message}")
        raise typer.Exit(int(settings_exit)) from None
    except TenantfixError as exc:
        err(f"tenantfix: error: {exc.message}")
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        err("tenantfix: interrupted; nothing was written")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def color_enabled() -> bool:
    import os

    return sys.stdout.isatty() and "NO_COLOR" not in os.environ
