"""`tenantfix check`: diagnose a project (placeholder until the pipeline lands)."""

from __future__ import annotations

from tenantfix.cli._app import app


@app.command()
def check() -> None:
    """Diagnose a django-tenants project."""
