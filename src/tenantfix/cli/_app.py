"""The Typer application object; command modules attach themselves to it on import."""

from __future__ import annotations

from typing import Annotated

import typer

from tenantfix import __version__

app = typer.Typer(
    name="tenantfix",
    no_args_is_help=True,
    add_completion=False,
    help=(
        "Find and fix cross-schema mistakes in django-tenants projects "
        '(relation "users_user" does not exist), and prove the fix on PostgreSQL.'
    ),
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tenantfix {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """tenantfix: diagnose, fix, verify and repair django-tenants projects."""
