"""`tenantfix apply`: fix what `check` found, on a new branch (or as a diff, or in place)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, cast

import typer

from tenantfix.cli._app import app
from tenantfix.cli._common import (
    ColorChoice,
    ColorOpt,
    FailLevelOpt,
    IgnoreOpt,
    NoCacheOpt,
    PathArg,
    PythonOpt,
    QuietOpt,
    SelectOpt,
    SettingsOpt,
    VerboseOpt,
    err,
    handle_errors,
    project_python,
    relative_to_cwd,
    require_django,
)
from tenantfix.errors import ExitCode

if TYPE_CHECKING:
    from tenantfix.bot import FixOutcome
    from tenantfix.plan import Diagnostic
    from tenantfix.pr_body import Verification


MOVE_USERS_NOTE = (
    "The user app leaves TENANT_APPS (TF011). A database whose tenants already have users keeps "
    "them in each tenant schema: move them into public with `tenantfix move-users "
    '--database-url ...` (plan, --verify, --execute) before deploying (README: "Moving users '
    'from per-tenant to global").'
)


@app.command()
def apply(
    path: PathArg = Path("."),
    settings: SettingsOpt = None,
    python: PythonOpt = None,
    branch: Annotated[
        str | None,
        typer.Option(
            "--branch",
            metavar="NAME",
            help="Name of the fix branch [default: tenantfix/shared-user-app].",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print a `git apply`-able diff; write nothing.")
    ] = False,
    no_commit: Annotated[
        bool,
        typer.Option(
            "--no-commit", help="Write the changes into the working tree instead of a branch."
        ),
    ] = False,
    allow_dirty: Annotated[
        bool,
        typer.Option("--allow-dirty", help="Run on a dirty tree (the branch is built from HEAD)."),
    ] = False,
    force_branch: Annotated[
        bool,
        typer.Option(
            "--force-branch",
            help="Rebuild the fix branch from HEAD if it exists with another fix (a stale one).",
        ),
    ] = False,
    keep_in_tenant_apps: Annotated[
        bool,
        typer.Option(
            "--keep-in-tenant-apps",
            help="Add the user app to SHARED_APPS but keep it in TENANT_APPS too.",
        ),
    ] = False,
    unsafe_fixes: Annotated[
        bool,
        typer.Option(
            "--unsafe-fixes",
            help="Also apply fixes that need a human decision (TF004, TF011, TF015).",
        ),
    ] = False,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    fail_level: FailLevelOpt = None,
    push: Annotated[
        bool,
        typer.Option(
            "--push", help="Push the fix branch to --remote (force-with-lease, only that branch)."
        ),
    ] = False,
    remote: Annotated[
        str, typer.Option("--remote", metavar="NAME", help="Git remote to push to.")
    ] = "origin",
    open_pr: Annotated[
        bool,
        typer.Option(
            "--open-pr",
            help="Open or update a pull/merge request (implies --push). Token from GITHUB_TOKEN / GITLAB_TOKEN.",
        ),
    ] = False,
    base: Annotated[
        str | None,
        typer.Option(
            "--base", metavar="BRANCH", help="Base branch [default: the remote's default branch]."
        ),
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option(
            "--provider",
            metavar="github|gitlab",
            help="github or gitlab [default: from the remote URL].",
        ),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api-url",
            metavar="URL",
            help="API root for GitHub Enterprise (https://host/api/v3) or self-hosted GitLab (https://host).",
        ),
    ] = None,
    repository: Annotated[
        str | None,
        typer.Option(
            "--repository",
            metavar="OWNER/NAME",
            help="owner/name on the forge [default: from the remote URL].",
        ),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option(
            "--label",
            metavar="LABEL",
            help="Label for a new pull request (repeatable) [default: tenantfix].",
        ),
    ] = None,
    draft: Annotated[
        bool, typer.Option("--draft", help="Open the pull request as a draft.")
    ] = False,
    reviewer: Annotated[
        list[str] | None,
        typer.Option(
            "--reviewer", metavar="USER", help="Request a review (repeatable; org/team on GitHub)."
        ),
    ] = None,
    author: Annotated[
        str | None,
        typer.Option(
            "--author",
            metavar="'NAME <EMAIL>'",
            help="Commit author 'Name <email>' [default: git user, else tenantfix[bot]].",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Overwrite the fix branch even if someone else pushed commits to it."
        ),
    ] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Before writing or committing, run the fixed project's migrations on a throwaway "
            "PostgreSQL (as `tenantfix verify`); nothing is committed if they fail (exit 4).",
        ),
    ] = False,
    verbose: VerboseOpt = False,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            metavar="URL",
            help="With --verify: use this server (a scratch database is created and dropped).",
        ),
    ] = None,
    no_cache: NoCacheOpt = False,
    quiet: QuietOpt = False,
    color: ColorOpt = ColorChoice.auto,
) -> None:
    """Rewrite settings, models and migrations, generate missing migrations, commit on a branch.

    Exit 0: applied, nothing to fix, or the branch already holds this exact fix (up to date);
    1: --dry-run would change files, or findings at or above --fail-level (default: error)
    remain that have no automatic fix; 2: usage or setup error (settings that cannot be
    resolved, an unusable --python), nothing changed; 3: refused (dirty tree, a fix branch
    holding another fix, not a git repository), nothing changed; 4: the fix did not clear its
    findings, or --verify failed (nothing committed); 5: push or pull request failed.
    """
    from tenantfix.apply import DEFAULT_BRANCH, ApplyRequest, run_apply
    from tenantfix.config import load_config
    from tenantfix.diff import unified_diff
    from tenantfix.pipeline import Options

    if dry_run and no_commit:
        err("tenantfix: error: --dry-run and --no-commit exclude each other")
        raise typer.Exit(int(ExitCode.USAGE))
    if (push or open_pr) and (dry_run or no_commit):
        err("tenantfix: error: --push/--open-pr exclude --dry-run and --no-commit")
        raise typer.Exit(int(ExitCode.USAGE))
    if provider not in (None, "github", "gitlab"):
        err("tenantfix: error: --provider must be github or gitlab")
        raise typer.Exit(int(ExitCode.USAGE))
    with handle_errors(verbose=verbose):
        from tenantfix.extras import require_db, require_forge

        # a missing optional dependency is found before any work (or PostgreSQL) starts
        if verify:
            require_db("tenantfix apply --verify")
        if open_pr and provider is not None:
            require_forge("tenantfix apply --open-pr", provider)
        config = load_config(path).merged(
            select=select,
            ignore=ignore,
            settings=settings,
            python=python,
            branch=branch,
            unsafe_fixes=unsafe_fixes or None,
            fail_level=fail_level.value if fail_level else None,
        )
        # makemigrations and --verify run Django there: checked before anything else runs
        interpreter = project_python(config, python, need_django=True)
        if verify:
            require_django(interpreter)
        project_interpreter = interpreter.path if interpreter else None
        options = Options(
            settings=config.settings,
            python=project_interpreter,
            select=config.select,
            ignore=config.ignore,
            unsafe_fixes=config.unsafe_fixes,
            keep_in_tenant_apps=keep_in_tenant_apps,
            keep_apps=config.keep_in_tenant_apps,
            cache=not no_cache,
        )
        from tenantfix.cli._progress import StepProgress
        from tenantfix.progress import reporting

        progress = StepProgress(quiet=quiet, color=color)
        if push or open_pr:
            from tenantfix.bot import PublishTarget, publish_project

            verify_hook = None
            if verify:
                from tenantfix.verify import verify_changes

                def verify_hook(project_dir: Path, fix: FixOutcome) -> Verification:
                    report = verify_changes(
                        project_dir,
                        fix.changes,
                        settings=config.settings,
                        python=project_interpreter,
                        database_url=database_url,
                        progress=progress,
                    )
                    for line in report.lines(verbose=verbose):
                        err(line)
                    return report.to_verification()

            with progress, reporting(progress):
                published = publish_project(
                    path,
                    options,
                    PublishTarget(
                        branch=config.branch or DEFAULT_BRANCH,
                        remote=remote,
                        base=base,
                        open_pr=open_pr,
                        provider=cast("Literal['github', 'gitlab'] | None", provider),
                        api_url=api_url,
                        repository=repository,
                        labels=tuple(label) if label is not None else ("tenantfix",),
                        draft=draft,
                        reviewers=tuple(reviewer or ()),
                        force=force,
                    ),
                    author=author,
                    verify=verify_hook,
                    echo=err,
                )
            from tenantfix import github_output

            github_output.write(published)
            return
        request = ApplyRequest(
            path=path,
            options=options,
            branch=config.branch or DEFAULT_BRANCH,
            dry_run=dry_run,
            no_commit=no_commit,
            allow_dirty=allow_dirty,
            force_branch=force_branch,
            verify=verify,
            database_url=database_url,
            progress=progress,
        )
        with progress, reporting(progress):
            outcome = run_apply(request)
    result = outcome.result
    from tenantfix.discover import find_manage_py

    # one path convention in every output: findings' files relative to the current directory
    project_root = find_manage_py(Path(path)).parent.resolve()

    def where(d: Diagnostic) -> str:
        return f"{relative_to_cwd(project_root / d.location.path)}:{d.location.line}"

    # as `check`: findings below the fail level (warnings, by default) are reported, not failed
    from tenantfix.fail_level import fails

    unfixed_fails = fails(result.unfixed, config.fail_level)
    if outcome.verification is not None:
        for line in outcome.verification.lines(verbose=verbose):
            err(line)
    for warning in result.warnings:
        err(f"tenantfix: warning: {warning}")
    for number, fixed in enumerate(result.rounds or (result.fixed,), start=1):
        if number > 1:
            err(f"then, on the tree with those fixes (pass {number}):")
        for d in fixed:
            err(f"{d.code} {where(d)}: {d.message}")
            err(f"    fix: {d.fix_summary}")
    for d in result.unfixed:
        err(f"{d.code} {where(d)}: {d.message}")
        err(f"    no automatic fix: {d.fix_summary}")
    before = {(d.code, d.finding) for d in (*result.fixed, *result.unfixed)}
    for d in result.remaining_after:
        if (d.code, d.finding) not in before:
            err(
                f"tenantfix: warning: the fixed project has a new finding: {d.code} {where(d)}: {d.message}"
            )
    if outcome.mode == "nothing":
        if result.unfixed:
            err(
                f"Nothing to change automatically; {len(result.unfixed)} finding(s) need a human decision (see above)."
            )
            if unfixed_fails:
                raise typer.Exit(int(ExitCode.FINDINGS))
            return
        err("Nothing to fix: the project is already in order. No branch was created.")
        return
    files = ", ".join(sorted(relative_to_cwd(project_root / rel) for rel in result.changes))
    if outcome.mode == "up-to-date":
        err(
            f"up to date: branch {outcome.branch} already holds this fix "
            f"({(outcome.commit or '')[:12]}); nothing was written."
        )
        if unfixed_fails:
            raise typer.Exit(int(ExitCode.FINDINGS))
        return
    if outcome.mode == "dry-run":
        sys.stdout.write(unified_diff(result.originals, result.changes, prefix=outcome.diff_prefix))
        err(
            f"Would change {len(result.changes)} file(s): {files}. Nothing was written (--dry-run)."
        )
        if any(d.code == "TF011" for d in result.fixed):
            err(MOVE_USERS_NOTE)
        raise typer.Exit(int(ExitCode.FINDINGS))
    if outcome.mode == "working-tree":
        err(f"Changed {len(result.changes)} file(s) in the working tree: {files}.")
    else:
        rebuilt = f" (rebuilt; it was at {outcome.replaced[:12]})" if outcome.replaced else ""
        err(
            f"Committed the fix on branch {outcome.branch!r}{rebuilt} ({(outcome.commit or '')[:12]}); your checkout is unchanged."
        )
        err(f"Review it:  git diff HEAD...{outcome.branch}")
        err(f"Try it:     git switch {outcome.branch} && python manage.py migrate_schemas --shared")
    if any(d.code == "TF001" for d in result.fixed):
        err(
            "If `migrate_schemas --shared` already failed on a database, it holds a phantom record of "
            "the user app's migration: run `tenantfix repair-db --database-url ...` there first."
        )
    if any(d.code == "TF011" for d in result.fixed):
        err(MOVE_USERS_NOTE)
    if unfixed_fails:
        raise typer.Exit(int(ExitCode.FINDINGS))
