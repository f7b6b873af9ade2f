"""`tenantfix verify`: run the project's migrations on a real, throwaway PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tenantfix.cli._app import app
from tenantfix.cli._common import (
    ColorChoice,
    ColorOpt,
    PathArg,
    PythonOpt,
    QuietOpt,
    SettingsOpt,
    VerboseOpt,
    handle_errors,
    project_python,
    require_django,
)

DatabaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        metavar="URL",
        help="Use this PostgreSQL server instead of a throwaway one: a scratch database "
        "tenantfix_verify_<random> is created there and dropped afterwards.",
    ),
]


@app.command()
def verify(
    path: PathArg = Path("."),
    ref: Annotated[
        str | None,
        typer.Option(
            "--ref",
            metavar="REF",
            help="Verify this branch, tag or commit (checked out in a temporary worktree; "
            "your checkout is untouched) instead of the working tree.",
        ),
    ] = None,
    database_url: DatabaseUrlOpt = None,
    settings: SettingsOpt = None,
    python: PythonOpt = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
    color: ColorOpt = ColorChoice.auto,
) -> None:
    """Run migrate_schemas --shared, create two tenants, run migrate_schemas; report each step.

    Exit 0: every step passed; 4: a step failed (the report names the migration and the error);
    2: usage or setup error (also: no Django in the project's interpreter); 3: no usable
    PostgreSQL (no binaries, unreachable server, bad credentials, no CREATEDB right).
    """
    from tenantfix.cli._progress import StepProgress
    from tenantfix.config import load_config
    from tenantfix.errors import ExitCode
    from tenantfix.verify import verify_project

    with handle_errors(verbose=verbose):
        from tenantfix.extras import require_db

        require_db("tenantfix verify")
        config = load_config(path).merged(settings=settings, python=python)
        # before any PostgreSQL is started
        interpreter = project_python(config, python, need_django=True)
        require_django(interpreter)
        with StepProgress(quiet=quiet, color=color) as progress:
            report = verify_project(
                path,
                ref=ref,
                settings=config.settings,
                python=interpreter.path if interpreter else None,
                database_url=database_url,
                progress=progress,
            )
    for line in report.lines(verbose=verbose):
        typer.echo(line)
    if not report.passed:
        raise typer.Exit(int(ExitCode.VERIFY_FAILED))
