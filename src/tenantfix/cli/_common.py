"""Options and error handling shared by the commands."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tenantfix.errors import ExitCode, SettingsError, TenantfixError

if TYPE_CHECKING:
    from tenantfix.config import Config
    from tenantfix.interpreter import Interpreter

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
        help="The project's interpreter (a path relative to the current directory, or a name "
        "on PATH), for locating installed apps and running Django (default: this one).",
    ),
]
SelectOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--select",
        help="Only these rule codes or prefixes (repeatable: --select TF001), instead of the "
        "default selection; opt-in rules run only when selected (--select TF013, or TF for all).",
    ),
]
NoCacheOpt = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help="Parse every model and migration file again and write no cache (also "
        "TENANTFIX_NO_CACHE=1). The cache lives in the user's cache directory "
        "(TENANTFIX_CACHE_DIR overrides), never in the project.",
    ),
]
IgnoreOpt = Annotated[
    list[str] | None,
    typer.Option("--ignore", help="Skip these rule codes or prefixes (repeatable)."),
]


class FailLevelChoice(str, Enum):
    """The values of ``--fail-level`` (typer turns an Enum into a checked choice)."""

    error = "error"
    warning = "warning"


FailLevelOpt = Annotated[
    FailLevelChoice | None,
    typer.Option(
        "--fail-level",
        case_sensitive=False,
        help="Exit 1 only for findings at or above this severity, as Django's "
        "`manage.py check --fail-level` (default: error, or `fail-level` in pyproject.toml).",
        show_default=False,
    ),
]


def err(message: str) -> None:
    typer.echo(message, err=True)


VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="On a failure of the project's own code (makemigrations, --probe, verify), show "
        "its full output with the Python traceback instead of the exception line and place.",
    ),
]


@contextlib.contextmanager
def handle_errors(
    settings_exit: ExitCode = ExitCode.USAGE, *, verbose: bool = False
) -> Iterator[None]:
    """Turn expected failures into a message on stderr and their exit code.

    After a Ctrl-C, a failure it caused (libcst's TransformExit read as a refusal, a git child
    killed by the same signal) is reported as the interrupt: exit 130.
    """
    from tenantfix import interrupt

    try:
        with interrupt.watch():
            yield
    except KeyboardInterrupt as exc:
        err(interrupt.message(exc))
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except TenantfixError as exc:
        if interrupt.received():
            err(interrupt.message())
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        err(f"tenantfix: error: {exc.message}")
        output = getattr(exc, "output", None)  # tracebacks.SubprocessFailed
        if isinstance(output, str) and output.strip():
            err(output.rstrip() if verbose else "(its full output is shown with -v/--verbose)")
        code = settings_exit if isinstance(exc, SettingsError) else exc.exit_code
        raise typer.Exit(int(code)) from None
    except Exception:
        if not interrupt.received():
            raise
        err(interrupt.message())
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def color_enabled() -> bool:
    import os

    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def project_python(config: Config, flag: str | None, *, need_django: bool) -> Interpreter | None:
    """The project's interpreter, checked before any work starts; ``None``: use tenantfix's own.

    The ``--python`` flag (relative to the current directory) wins over ``python`` in
    ``[tool.tenantfix]`` (already made absolute against its pyproject.toml). An unusable one
    raises a usage error naming the path and what is missing.
    """
    from tenantfix.interpreter import inspect_python, resolve_python

    if flag is not None:
        return inspect_python(resolve_python(flag), need_django=need_django, source="--python")
    if config.python is not None:
        source = f"`python` in {config.path}" if config.path else "python"
        return inspect_python(config.python, need_django=need_django, source=source)
    return None
