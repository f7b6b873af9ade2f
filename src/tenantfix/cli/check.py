"""`tenantfix check`: diagnose a django-tenants project (read-only)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tenantfix.cli._app import app
from tenantfix.cli._common import (
    ColorChoice,
    ColorOpt,
    FailLevelOpt,
    FormatOpt,
    IgnoreOpt,
    NoCacheOpt,
    OutputFormat,
    PathArg,
    PythonOpt,
    QuietOpt,
    SelectOpt,
    SettingsOpt,
    VerboseOpt,
    color_enabled,
    err,
    handle_errors,
    project_python,
)


@app.command()
def check(
    path: PathArg = Path("."),
    settings: SettingsOpt = None,
    python: PythonOpt = None,
    output_format: FormatOpt = OutputFormat.text,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    probe: Annotated[
        bool,
        typer.Option(
            "--probe",
            help="Also ask the project's interpreter (Django imports your settings) for the exact "
            "app registry and migration plan; falls back to the static graph if that fails.",
        ),
    ] = False,
    fail_level: FailLevelOpt = None,
    no_cache: NoCacheOpt = False,
    verbose: VerboseOpt = False,
    exit_zero: Annotated[
        bool, typer.Option("--exit-zero", help="Exit 0 even when there are findings.")
    ] = False,
    statistics: Annotated[
        bool,
        typer.Option(
            "--statistics",
            help="Print the number of findings per rule code instead of the findings "
            "(text, or json with --format json).",
        ),
    ] = False,
    quiet: QuietOpt = False,
    color: ColorOpt = ColorChoice.auto,
) -> None:
    """Find the settings, models and migrations that break migrate_schemas.

    Exit 0: no finding at or above --fail-level (warnings alone pass at the default `error`,
    as with Django's `manage.py check`); 1: such findings; 2: usage or configuration error
    (also an unknown --select/--ignore code or --format).
    """
    from tenantfix import __version__
    from tenantfix.config import load_config
    from tenantfix.errors import ExitCode
    from tenantfix.fail_level import fails
    from tenantfix.graph.locate import packages_json, packages_note, unresolved_note
    from tenantfix.pipeline import Options, analyse
    from tenantfix.report import render

    with handle_errors(verbose=verbose):
        config = load_config(path).merged(
            select=select,
            ignore=ignore,
            settings=settings,
            python=python,
            fail_level=fail_level.value if fail_level else None,
        )
        # Also without --probe: Django's own apps (auth, admin, contenttypes) are located on
        # that interpreter's sys.path; one without Django would silently hide TF001/TF003.
        interpreter = project_python(config, python, need_django=True)
        options = Options(
            settings=config.settings,
            python=interpreter.path if interpreter else None,
            select=config.select,
            ignore=config.ignore,
            probe=probe or config.probe,
            cache=not no_cache,
        )
        analysis = analyse(path, options)
        graph = analysis.graph
        fmt = OutputFormat(output_format).value
        unresolved = tuple(e.value for e in graph.unresolved_apps)
        if fmt != "json" and not quiet:  # JSON carries the same in its "packages" field
            notes = (
                packages_note(graph.packages) if graph.packages else None,
                unresolved_note(unresolved, graph.packages),
            )
            for note in notes:
                if note:
                    err(note)
        if not quiet:
            for note in analysis.notes:
                # what could not be read statically: on stderr, so JSON/SARIF stay parseable
                typer.echo(f"tenantfix: note: {note}", err=True)
        if statistics:
            from tenantfix.report.statistics import render_json, render_text

            table = render_json if fmt == "json" else render_text
            typer.echo(table(analysis.diagnostics), nl=False)
        else:
            colored = color_enabled(color) and fmt == "text"
            text = render(
                analysis.diagnostics,
                fmt,
                root=str(analysis.project.root),
                graph_source=analysis.graph.source,
                tool_version=__version__,
                color=colored,
                packages=packages_json(graph.packages, unresolved),
            )
            if quiet and fmt == "text":
                # the findings only, as `ruff check -q`: no summary line
                text = "\n".join(text.rstrip("\n").split("\n")[:-1]).rstrip("\n")
                text = text + "\n" if text else ""
            # color= tells click not to strip the escapes when stdout is not a terminal
            typer.echo(text, nl=False, color=colored)
    if fails(analysis.diagnostics, config.fail_level) and not exit_zero:
        raise typer.Exit(int(ExitCode.FINDINGS))
