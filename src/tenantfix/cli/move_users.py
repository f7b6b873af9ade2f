"""`tenantfix move-users`: move per-tenant users into public (global users), reversibly."""

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
from tenantfix.moveusers.mapping import Match, OnConflict

if TYPE_CHECKING:
    from tenantfix.cli._progress import CountProgress
    from tenantfix.moveusers.plan import MovePlan


@app.command("move-users")
def move_users(
    path: PathArg = Path("."),
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            metavar="URL",
            help="The database (required): postgresql://user:password@host:port/name.",
        ),
    ] = None,
    match: Annotated[
        Match,
        typer.Option(
            "--match",
            help="Who is the same person: a tenant user with the e-mail (or username) of a "
            "public user, or of a user moved from an earlier schema, becomes that user; "
            "none: every tenant user is inserted.",
        ),
    ] = Match.email,
    on_conflict: Annotated[
        OnConflict,
        typer.Option(
            "--on-conflict",
            help="A user to insert whose username (or other unique value) is taken in public: "
            "fail (refuse, naming every clash) or suffix-schema (bob -> bob.<schema>).",
        ),
    ] = OnConflict.fail,
    create_missing_groups: Annotated[
        bool,
        typer.Option(
            "--create-missing-groups",
            help="A tenant group with no public group of the same name: create it in public "
            "(by name, with those of its tenant permissions public has) so its memberships move "
            "too. Off by default: those memberships stay in the backup table and the plan names "
            "them. "
            "Permissions are never created.",
        ),
    ] = False,
    retire_user_app_tables: Annotated[
        bool,
        typer.Option(
            "--retire-user-app-tables",
            help="The user app's other tables (models other than the user) hold rows in a "
            "tenant schema: rename them to <table>__tenantfix_backup anyway (their rows stay "
            "there, no longer visible to the application). Off by default: the move is "
            "refused naming each table, schema and row count. Empty ones are always renamed.",
        ),
    ] = False,
    execute: Annotated[
        bool, typer.Option("--execute", help="Run the plan (default: only print it).")
    ] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="First run the whole plan and its proofs on a scratch clone of the database; "
            "the real database is touched only if that passes (and only with --execute).",
        ),
    ] = False,
    undo: Annotated[
        bool,
        typer.Option(
            "--undo",
            help="Reverse a move: restore the tenants' user tables from their backups and the "
            "foreign keys from the map; delete the users the move inserted into public.",
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="The plan schema by schema.")
    ] = False,
    settings: SettingsOpt = None,
    python: PythonOpt = None,
    quiet: QuietOpt = False,
    color: ColorOpt = ColorChoice.auto,
) -> None:
    """Move the users of every tenant schema into public's user table, without losing a row.

    For a project whose user app was in TENANT_APPS (or in both lists) and is now SHARED-only
    in its CURRENT settings. Prints the plan; --execute runs it, one transaction per schema:
    users copied into public with every column (password hashes included), the mapping
    recorded in public.tenantfix_user_map, every foreign key to the tenant user table (read
    from pg_constraint) rewritten and its constraint recreated against public's table, the
    tenant's user tables renamed to <table>__tenantfix_backup. Memberships of the user
    model's many-to-many tables (groups, permissions) move into public when the app they
    name is SHARED-only, matched by natural key (group name; permission app, model and
    codename); the rest stay in the backup tables and the plan says why. The user app's
    other tables (models other than the user; their rows are not moved) are renamed to
    backups too when empty; rows in them refuse the move unless --retire-user-app-tables.
    Nothing is ever dropped; a rerun continues where a stopped run left off; --undo
    reverses it.

    Out of scope: the reverse move (global users back to per-tenant users).

    Exit 0: moved (or nothing to move / undone); 1: plan printed, not run; 2: usage or setup
    error (settings that cannot be resolved, no Django in the project's interpreter); 3: refused (settings, clashes, unreadable database), nothing changed; 4: a schema failed
    (rolled back; earlier schemas stay moved) or a proof failed; 130: interrupted.
    """
    from tenantfix.config import load_config
    from tenantfix.errors import ExitCode

    if not database_url:
        err("tenantfix: error: --database-url is required (the database whose users move)")
        raise typer.Exit(int(ExitCode.USAGE))
    if undo and (execute or verify):
        err("tenantfix: error: --undo runs on its own (without --execute or --verify)")
        raise typer.Exit(int(ExitCode.USAGE))
    with handle_errors(verbose=verbose):
        from tenantfix.extras import require_db

        require_db("tenantfix move-users")
        config = load_config(path).merged(settings=settings, python=python)
        interpreter = project_python(config, python, need_django=True)
        require_django(interpreter)
        project_interpreter = interpreter.path if interpreter else None
        if undo:
            _undo(path, database_url, config.settings, project_interpreter, quiet, color)
            return
        from tenantfix.moveusers.plan import plan_move

        def planned(*, allow_missing_public: bool = False) -> MovePlan:
            return plan_move(
                path,
                database_url,
                match=match,
                on_conflict=on_conflict,
                settings=config.settings,
                python=project_interpreter,
                allow_missing_public=allow_missing_public,
                create_missing_groups=create_missing_groups,
                retire_user_app_tables=retire_user_app_tables,
            )

        plan = planned(allow_missing_public=True)
        if plan.public_missing:
            if not _shown_and_needed(plan, verbose):
                return
            from tenantfix.cli._progress import CountProgress

            with CountProgress(quiet=quiet, color=color) as progress:
                _create_public_table(
                    path,
                    database_url,
                    plan.user_table,
                    config.settings,
                    project_interpreter,
                    execute=execute,
                    verify=verify,
                    progress=progress,
                )
            plan = planned()  # public has the table now: the real plan
        if not _shown_and_needed(plan, verbose):
            return
        from tenantfix.cli._progress import CountProgress

        with CountProgress(quiet=quiet, color=color) as progress:
            if verify or execute:
                _refuse_unless_django_starts(plan, project_interpreter, progress)
            if verify:
                _prove_on_clone(plan, project_interpreter, progress)
            if not execute:
                err(
                    ("Proven on a clone; " if verify else "")
                    + f"nothing was changed in {plan.database.safe_url}. Rerun with --execute"
                    + (" --verify" if verify else "")
                    + " to move the users."
                )
                raise typer.Exit(int(ExitCode.FINDINGS))
            _execute(plan, project_interpreter, progress)


def _shown_and_needed(plan: MovePlan, verbose: bool) -> bool:
    """Print the plan; refuse (exit 3) when it says so; False when there is nothing to do."""
    from tenantfix.errors import ExitCode

    for line in plan.lines(verbose=verbose):
        typer.echo(line)
    if plan.refused:
        err("Refused: nothing was changed.")
        raise typer.Exit(int(ExitCode.REFUSED))
    return plan.needed


def _create_public_table(
    path: Path,
    database_url: str,
    user_table: str,
    settings: str | None,
    python: str | None,
    *,
    execute: bool,
    verify: bool,
    progress: CountProgress,
) -> None:
    """Public has no user table: the plan begins with repair-db's steps, which create it.

    Without --execute this prints them and stops (exit 1): the move itself can only be planned
    once public has the table. With --execute they run first (proven on a clone with --verify,
    as repair-db does), then the move is planned and run as usual.
    """
    from tenantfix.errors import ExitCode
    from tenantfix.repair import execute as run_repair
    from tenantfix.repair import plan_repair, prove_on_clone

    repair = plan_repair(path, database_url, settings=settings, python=python)
    typer.echo(
        f"Before the move: public has no {user_table} table (the user model's db_table); "
        "repair-db's steps create it (`migrate_schemas ... zero --fake` of the user app's "
        "phantom records in public, then `migrate_schemas --shared`)."
    )
    if repair.refused or not repair.needed:
        for line in repair.lines():
            typer.echo(f"  {line}")
        err(
            "Refused: repair-db has no plan that creates the table (see above); create it "
            "with `python manage.py migrate_schemas --shared`, then rerun move-users. Nothing "
            "was changed."
        )
        raise typer.Exit(int(ExitCode.REFUSED))
    typer.echo("Step 1, repair-db's plan (it creates the table):")
    for line in repair.lines():
        typer.echo(f"  {line}")
    typer.echo("Step 2, the move above: planned again once public has the table, then run.")
    if verify:
        proof = prove_on_clone(repair, python=python, progress=progress, say=progress.note)
        for line in proof.lines():
            typer.echo(f"  {line}")
        if not proof.ok:
            err(
                f"repair-db's steps failed on the clone; {repair.database.safe_url} was not touched."
            )
            raise typer.Exit(int(ExitCode.VERIFY_FAILED))
    if not execute:
        err(
            f"Nothing was changed in {repair.database.safe_url}. Rerun with --execute: "
            "repair-db's steps run first, then the move is planned and run."
        )
        raise typer.Exit(int(ExitCode.FINDINGS))
    outcome = run_repair(repair, python=python, progress=progress)
    for line in outcome.lines():
        typer.echo(f"  {line}")
    if not outcome.ok:
        err("repair-db's steps failed (above); no user was moved. `tenantfix repair-db` says more.")
        raise typer.Exit(
            int(ExitCode.INTERRUPTED if outcome.interrupted is not None else ExitCode.VERIFY_FAILED)
        )


def _refuse_unless_django_starts(
    plan: MovePlan, python: str | None, progress: CountProgress
) -> None:
    """The proofs after the move run the project's Django: if it cannot start in this
    interpreter, say so now (exit 2, nothing changed) instead of after every schema moved."""
    from tenantfix.djangorun import DjangoRunner
    from tenantfix.errors import ExitCode

    progress.note("checking that the project's Django starts (the proofs need it)")
    with DjangoRunner(
        plan.project.root, plan.project.settings_module, plan.database, python=python
    ) as runner:
        run = runner.drive_script("import django_tenants  # noqa: F401\n")
    failure = run.failure
    if failure is None:
        return
    where = f" (at {failure.where})" if failure.where else ""
    err(
        f"the project's Django cannot start in {runner.python}: {failure.exception}{where}; "
        "the proofs after the move need it. Pass --python with the project's interpreter "
        "(its virtualenv's bin/python). Nothing was changed."
    )
    raise typer.Exit(int(ExitCode.USAGE))


def _execute(plan: MovePlan, python: str | None, progress: CountProgress) -> None:
    from tenantfix.errors import ExitCode
    from tenantfix.moveusers.execute import execute_move

    run = execute_move(plan, progress=progress)
    for line in run.lines():
        typer.echo(line)
    if run.interrupted is not None:
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    if run.failed is not None:
        raise typer.Exit(int(ExitCode.VERIFY_FAILED))
    progress.note("checking the result")
    problems = _proofs(plan, plan.database, python)
    if problems:
        typer.echo("PROOF FAILED after the move:")
        typer.echo("\n".join(f"  {p}" for p in problems))
        raise typer.Exit(int(ExitCode.VERIFY_FAILED))
    typer.echo(
        f"Moved: every user of {len(run.moved)} schema(s) is in public.{plan.user_table} "
        "(counted through the map), every rewritten foreign key resolves, inserted users equal "
        "their backup rows, every moved group/permission membership is in public (moved + kept "
        "= backup rows), Django reads every moved password hash, and migrate_schemas has "
        "nothing to apply. Undo with `tenantfix move-users --undo`."
    )


def _proofs(plan: MovePlan, params: object, python: str | None) -> list[str]:
    from tenantfix.db.connect import connect
    from tenantfix.db.params import DatabaseParams
    from tenantfix.moveusers.proof import check_database, check_project

    assert isinstance(params, DatabaseParams)
    with connect(params) as conn:
        problems = check_database(conn, plan)
    return problems + check_project(plan, params, python)


def _prove_on_clone(plan: MovePlan, python: str | None, progress: CountProgress) -> None:
    from tenantfix.db.clone import scratch_clone
    from tenantfix.errors import ExitCode
    from tenantfix.moveusers.execute import execute_move
    from tenantfix.moveusers.plan import plan_move

    with scratch_clone(plan.database, progress.note) as clone:
        on_clone = plan_move(
            plan.project.root,
            clone.params.url,
            match=plan.match,
            on_conflict=plan.on_conflict,
            settings=plan.project.settings_module,
            python=python,
            create_missing_groups=plan.create_missing_groups,
            retire_user_app_tables=plan.retire_user_app_tables,
        )
        same = [(s.schema, s.inserts, s.matches) for s in on_clone.to_move] == [
            (s.schema, s.inserts, s.matches) for s in plan.to_move
        ]
        typer.echo(f"Proof on {clone.description}:")
        if not same or on_clone.refused:
            typer.echo("  FAILED  the plan read from the clone differs (did the database change?)")
            raise typer.Exit(int(ExitCode.VERIFY_FAILED))
        run = execute_move(on_clone, progress=progress)
        for line in run.lines():
            typer.echo(f"  {line}")
        if run.interrupted is not None:
            err(f"Interrupted on the clone; {plan.database.safe_url} was not touched.")
            raise typer.Exit(int(ExitCode.INTERRUPTED))
        problems = [] if run.failed else _proofs(on_clone, clone.params, python)
        if run.failed or problems:
            typer.echo("\n".join(f"  FAILED  {p}" for p in problems))
            err(f"The move failed on the clone; {plan.database.safe_url} was not touched.")
            raise typer.Exit(int(ExitCode.VERIFY_FAILED))
        typer.echo(
            "  Proven: every schema moved, every user in public through the map, every "
            "foreign key resolves, every moved membership in public, hashes readable, "
            "migrate_schemas has nothing to apply."
        )


def _undo(
    path: Path,
    database_url: str,
    settings: str | None,
    python: str | None,
    quiet: bool,
    color: ColorChoice,
) -> None:
    from tenantfix.cli._progress import CountProgress
    from tenantfix.db.connect import connect
    from tenantfix.db.params import DatabaseParams
    from tenantfix.errors import ExitCode, TenantfixError
    from tenantfix.moveusers.catalog import table_info
    from tenantfix.moveusers.names import PUBLIC
    from tenantfix.moveusers.plan import _user_model
    from tenantfix.moveusers.undo import undo_move

    params = DatabaseParams.from_url(database_url)
    _, _, _, user_table, _, _ = _user_model(path, settings, python, require_shared=False)
    with connect(params) as conn:
        info = table_info(conn, PUBLIC, user_table)
    if info is None or info.pk is None or info.pk_type is None:
        raise TenantfixError(
            f"public has no {user_table} table with a primary key: nothing this command moved",
            ExitCode.REFUSED,
        )
    with CountProgress(quiet=quiet, color=color) as progress:
        run = undo_move(params, user_table, info.pk, info.pk_type, progress=progress)
    for line in run.lines():
        typer.echo(line)
    if run.interrupted is not None:
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    if run.failed is not None:
        raise typer.Exit(int(ExitCode.VERIFY_FAILED))
