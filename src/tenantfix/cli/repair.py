"""`tenantfix repair-db`: find phantom migration records (TF012) and repair them in place."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tenantfix.cli._app import app
from tenantfix.cli._common import (
    ColorChoice,
    ColorOpt,
    PathArg,
    PythonOpt,
    QuietOpt,
    SettingsOpt,
    err,
    handle_errors,
    project_python,
    require_django,
)

if TYPE_CHECKING:
    from tenantfix.djangorun import RunResult
    from tenantfix.repair import RepairRun


@app.command("repair-db")
def repair_db(
    path: PathArg = Path("."),
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            metavar="URL",
            help="The database to repair (required): postgresql://user:password@host:port/name.",
        ),
    ] = None,
    execute: Annotated[
        bool,
        typer.Option("--execute", help="Run the plan (default: only print it)."),
    ] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="First run the plan on a scratch clone of the database (CREATE DATABASE ... "
            "TEMPLATE, else pg_dump into a throwaway PostgreSQL); the real database is "
            "touched only if that passes (and only with --execute).",
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="List every schema and command, not one line per app."
        ),
    ] = False,
    settings: SettingsOpt = None,
    python: PythonOpt = None,
    quiet: QuietOpt = False,
    color: ColorOpt = ColorChoice.auto,
) -> None:
    """Print the plan that repairs phantom migration records; --execute runs it.

    Uses the project's CURRENT settings (run it on the fixed branch). Never drops a schema or a
    table and never deletes a row of data: only migration records change, through Django's own
    `migrate_schemas ... zero --fake`.

    Exit 0: nothing to repair, or repaired; 1: repair needed (plan printed, not run; with
    --verify alone: proven on a clone, not run); 2: usage or setup error (settings that cannot
    be resolved, no Django in the project's interpreter); 3: refused (unreachable
    database, wrong credentials, not a django-tenants database for this project, an unsafe
    case, no clone could be made), nothing changed; 4: a command of the plan failed (on the
    clone: the real database was not touched).
    """
    from tenantfix.cli._progress import CountProgress
    from tenantfix.config import load_config
    from tenantfix.errors import ExitCode
    from tenantfix.repair import execute as run_plan
    from tenantfix.repair import plan_repair, prove_on_clone

    if not database_url:
        err("tenantfix: error: --database-url is required (the database to inspect and repair)")
        raise typer.Exit(int(ExitCode.USAGE))
    with handle_errors(verbose=verbose):
        from tenantfix.extras import require_db

        require_db("tenantfix repair-db")
        config = load_config(path).merged(settings=settings, python=python)
        interpreter = project_python(config, python, need_django=True)
        require_django(interpreter)
        project_interpreter = interpreter.path if interpreter else None
        plan = plan_repair(path, database_url, settings=config.settings, python=project_interpreter)
        for line in plan.lines(verbose=verbose):
            typer.echo(line)
        if plan.refused:
            raise typer.Exit(int(ExitCode.REFUSED))
        if not plan.needed:
            return
        if verify:
            with CountProgress(quiet=quiet, color=color) as progress:
                proof = prove_on_clone(
                    plan, python=project_interpreter, progress=progress, say=progress.note
                )
            for line in proof.lines(verbose=verbose):
                typer.echo(line)
            if proof.run is not None and proof.run.interrupted is not None:
                err(f"Interrupted on the clone; {plan.database.safe_url} was not touched.")
                raise typer.Exit(int(ExitCode.INTERRUPTED))
            if not proof.ok:
                if proof.run is not None and proof.run.failed is not None:
                    _output(proof.run.failed, verbose)
                err(
                    f"The plan failed on the clone; {plan.database.safe_url} was not touched. "
                    "Nothing was changed."
                )
                raise typer.Exit(int(ExitCode.VERIFY_FAILED))
        if not execute:
            err(
                ("Proven on a clone; " if verify else "")
                + f"nothing was changed in {plan.database.safe_url}. Rerun with --execute"
                + (" --verify" if verify else "")
                + " to run the plan."
            )
            raise typer.Exit(int(ExitCode.FINDINGS))
        with CountProgress(quiet=quiet, color=color) as progress:
            outcome = run_plan(plan, python=project_interpreter, progress=progress)
    _report(outcome, verbose)


def _report(outcome: RepairRun, verbose: bool) -> None:
    from tenantfix.errors import ExitCode

    for line in outcome.lines(verbose=verbose):
        typer.echo(line)
    if outcome.interrupted is not None:
        typer.echo(
            f"INTERRUPTED during {outcome.interrupted.shell}: it may have partly taken effect."
        )
        _took_effect(outcome, verbose)
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    failed = outcome.failed
    if failed is not None:
        where = f" at {failed.failed_migration}" if failed.failed_migration else ""
        schema = f" (schema {failed.schema})" if failed.schema else ""
        typer.echo(f"        error{where}{schema}: {failed.error}")
        _output(failed, verbose)
        typer.echo("The repair stopped at the first failing command.")
        _took_effect(outcome, verbose)
        raise typer.Exit(int(ExitCode.VERIFY_FAILED))
    if outcome.after is not None and outcome.after.needed:
        typer.echo("Phantom records remain after the repair:")
        for line in outcome.after.lines():
            typer.echo("  " + line)
        raise typer.Exit(int(ExitCode.VERIFY_FAILED))
    typer.echo("Repaired: no phantom migration records remain.")


def _took_effect(outcome: RepairRun, verbose: bool) -> None:
    done = outcome.took_effect(verbose=verbose)
    typer.echo("What took effect:")
    typer.echo("\n".join(f"  - {line}" for line in done) if done else "  - nothing")
    left = outcome.not_run_lines(verbose=verbose)
    if left:
        typer.echo(f"Not run ({len(outcome.not_run())} command(s)):")
        for line in left:
            typer.echo(f"  - {line}")
    typer.echo(
        "Deleted migration records are not lost data: the schemas they were deleted from "
        "hold none of those tables, and migrate_schemas records them again when it creates "
        "the tables. Then rerun repair-db to see the state (after fixing the error above, if "
        "one was shown)."
    )


def _output(run: RunResult, verbose: bool) -> None:
    """The failing command's own output: in full with --verbose (it holds Django's traceback)."""
    if verbose:
        err(run.stdout[-3000:] + "\n" + run.stderr[-6000:])
    else:
        err(f"(the full output of `{run.command}` is shown with --verbose)")
