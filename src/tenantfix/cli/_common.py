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
        "--settings",
        metavar="MODULE",
        help="Settings module, overriding manage.py's DJANGO_SETTINGS_MODULE default.",
    ),
]
PythonOpt = Annotated[
    str | None,
    typer.Option(
        "--python",
        metavar="PATH",
        help="The project's interpreter (a path relative to the current directory, or a name "
        "on PATH), for locating installed apps and running Django (default: this one).",
    ),
]


def _rule_selectors(values: list[str] | None) -> list[str] | None:
    """Check --select/--ignore as pyproject.toml's keys are, and against the known rules.

    As ruff: ``--select TF999`` (no such rule) or ``--select XYZ`` (not a code) is a usage
    error naming the value (exit 2), not an empty selection that says "No findings". A value
    may list several codes separated by commas (``--select TF001,TF003``).
    """
    if values is None:
        return None
    from tenantfix.checks import load_checks
    from tenantfix.config import CODE_PREFIX

    # TF012 is repair-db's rule (phantom records): known, though `check` has no check for it
    known = (*load_checks(), "TF012")
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            code = part.strip().upper()
            if not CODE_PREFIX.match(code):
                raise typer.BadParameter(
                    f"{part.strip()!r} is not a rule code or prefix (TF001, TF00, TF)"
                )
            if not any(k.startswith(code) for k in known):
                raise typer.BadParameter(
                    f"unknown rule selector {part.strip()!r} (`tenantfix rules` lists the rules)"
                )
            out.append(code)
    return out


SelectOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--select",
        metavar="CODE",
        callback=_rule_selectors,
        help="Only these rule codes or prefixes (repeatable, or comma-separated: --select "
        "TF001,TF003), instead of the default selection; opt-in rules run only when selected "
        "(--select TF013, or TF for all). An unknown code is an error (exit 2).",
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
    typer.Option(
        "--ignore",
        metavar="CODE",
        callback=_rule_selectors,
        help="Skip these rule codes or prefixes (repeatable, or comma-separated).",
    ),
]
QuietOpt = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Only the result: no progress, notes or summary lines."),
]


class ColorChoice(str, Enum):
    """The values of ``--color``."""

    auto = "auto"
    always = "always"
    never = "never"


ColorOpt = Annotated[
    ColorChoice,
    typer.Option(
        "--color",
        case_sensitive=False,
        help="Colour the output: auto (on a terminal, unless NO_COLOR is set or TERM=dumb; "
        "FORCE_COLOR forces it), always or never.",
    ),
]


class OutputFormat(str, Enum):
    """The values of ``check --format`` (the renderers in :mod:`tenantfix.report`)."""

    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"
    gitlab = "gitlab"


FormatOpt = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        "-f",
        case_sensitive=False,
        envvar="TENANTFIX_OUTPUT_FORMAT",
        help="How findings are printed: text for people, json for programs, sarif for code "
        "scanning, github for Actions annotations, gitlab for a Code Quality report.",
    ),
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
    except Exception as exc:
        if not interrupt.received():
            failed = _git_failure(exc)
            if failed is None:
                raise
            # a git command nothing expected to fail (a corrupt repository, a full disk): its
            # message, scrubbed, rather than a traceback
            err(f"tenantfix: error: {failed}")
            raise typer.Exit(int(ExitCode.REFUSED)) from None
        err(interrupt.message())
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def _git_failure(exc: Exception) -> str | None:
    git = sys.modules.get("git")  # never imported here just to ask
    if git is None or not isinstance(exc, git.GitCommandError):
        return None
    from tenantfix.vcs import describe_failure

    return describe_failure(exc)


def color_enabled(choice: ColorChoice | str = ColorChoice.auto, stream: object = None) -> bool:
    """Whether to colour ``stream`` (default stdout): ``--color``, then the conventions.

    ``auto`` follows no-color.org (a non-empty NO_COLOR turns colour off), force-color.org (a
    non-empty FORCE_COLOR other than "0" turns it on, for CI logs that render ANSI) and
    TERM=dumb (off), in that order; otherwise colour only on a terminal.
    """
    import os

    value = ColorChoice(choice)
    if value is ColorChoice.always:
        return True
    if value is ColorChoice.never:
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR", "0") not in ("", "0"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream if stream is not None else sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def relative_to_cwd(path: str | Path) -> str:
    """A path as every output shows it: relative to the current directory when below it."""
    from tenantfix.report._common import display_path

    return display_path(".", str(path))


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


def require_django(interpreter: Interpreter | None) -> None:
    """Commands that run the project (verify, repair-db, apply --verify) on tenantfix's own
    interpreter need Django there: without it that is a setup error (exit 2) said up front,
    not a migration run that "fails" (exit 4) after PostgreSQL started."""
    import importlib.util

    if interpreter is not None or importlib.util.find_spec("django") is not None:
        return
    raise TenantfixError(
        f"Django cannot be imported by {sys.executable} (tenantfix's own interpreter), and this "
        "command runs the project's migrations; pass the project's interpreter, e.g. "
        "--python .venv/bin/python, or set `python` in [tool.tenantfix]",
        ExitCode.USAGE,
    )
