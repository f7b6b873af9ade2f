"""Command-line interface: one module per command, no logic here.

Each command module imports its heavy dependencies (libcst, Django, GitPython) inside the
command function, so ``tenantfix --version`` stays fast.
"""

from __future__ import annotations

from tenantfix.cli import apply as _apply  # noqa: F401  (registers the command)
from tenantfix.cli import check as _check  # noqa: F401
from tenantfix.cli import repair as _repair  # noqa: F401  (repair-db)
from tenantfix.cli import rules as _rules  # noqa: F401  (rules, explain)
from tenantfix.cli import verify as _verify  # noqa: F401
from tenantfix.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    app()
