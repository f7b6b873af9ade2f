"""`tenantfix repair-db`: find phantom migration records (TF012) and repair them in place."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tenantfix.cli._app import app
from tenantfix.cli._common import (
    PathArg,
    PythonOpt,
    SettingsOpt,
    err,
    handle_errors,
    project_python,
)


@app.command("repair-db")
def repair_db(
    path: PathArg = Path("."),
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="The database to repair (required): postgresql://user:password@host:port/name.",
        ),
    ] = None,
    execute: Annotated[
        bool,
        typer.Option("--execute", help="Run the plan (default: only print it)."),
    ] = False,
    settings: SettingsOpt = None,
    python: PythonOpt = None,
) -> None:
    """Print the plan that repairs phantom migration records; --execute runs it.

    Uses the project's CURRENT settings (run it on the fixed branch). Never drops a schema or a
    table and never deletes a row of data: only migration records change, through Django's own
    `migrate_schemas ... zero --fake`.

    Exit 0: nothing to repair, or repaired; 1: repair needed (plan printed, not run);
    2: usage error; 3: refused (unreachable database, wrong credentials, not a django-tenants
    database, an unsafe case), nothing changed; 4: a command of the plan failed.
    """
    from tenantfix.cli._progress import StepProgress
    from tenantfix.config import load_config
    from tenantfix.errors import ExitCode
    from tenantfix.repair import execute as run_plan
    from tenantfix.repair import plan_repair

    if not database_url:
        err("tenantfix: error: --database-url is required (the database to inspect and repair)")
        raise typer.Exit(int(ExitCode.USAGE))
    with handle_errors(settings_exit=ExitCode.REFUSED):
        config = load_config(path).merged(settings=settings, python=python)
        interpreter = project_python(config, python, need_django=True)
        project_interpreter = interpreter.path if interpreter else None
        plan = plan_repair(path, database_url, settings=config.settings, python=project_interpreter)
        for line in plan.lines():
            typer.echo(line)
        if plan.refused:
            raise typer.Exit(int(ExitCode.REFUSED))
        if not plan.needed:
            return
        if not execute:
            err("Nothing was changed. Rerun with --execute to run the plan.")
            raise typer.Exit(int(ExitCode.FINDINGS))
        with StepProgress() as progress:
            outcome = run_plan(plan, python=project_interpreter, progress=progress)
    for run in outcome.runs:
        mark = "ok" if run.ok else "FAILED"
        typer.echo(f"{mark:<8}{run.command} ({run.seconds:.1f} s)")
        if not run.ok:
            where = f" at {run.failed_migration}" if run.failed_migration else ""
            typer.echo(f"        error{where}: {run.error}")
            err(run.stderr[-4000:])
            err(
                "The repair stopped here; the commands before it took effect. Rerun repair-db to see the state."
            )
            raise typer.Exit(int(ExitCode.VERIFY_FAILED))
    if outcome.after is not None and outcome.after.needed:
        typer.echo("Phantom records remain after the repair:")
        for line in outcome.after.lines():
            typer.echo("  " + line)
        raise typer.Exit(int(ExitCode.VERIFY_FAILED))
    typer.echo("Repaired: no phantom migration records remain.")
