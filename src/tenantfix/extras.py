"""Optional dependencies: which extra a command needs, and the message when it is missing.

The core install (``check``, ``apply``, ``rules``, ``explain``) carries no database driver and
no forge client; ``verify``/``repair-db``/``apply --verify`` need ``tenantfix[db]`` (psycopg)
and ``apply --open-pr`` needs ``tenantfix[bot]`` (PyGithub, python-gitlab). Commands ask here
before they start work, so a missing extra is a usage error (exit 2) that names the ``pip
install`` fixing it, never an ImportError traceback.
"""

from __future__ import annotations

import importlib.util
from typing import Literal

from tenantfix.errors import ExitCode, TenantfixError

Extra = Literal["db", "bot"]

# import name -> the distribution that provides it (for the message)
_PROVIDERS: dict[str, str] = {
    "psycopg": "'psycopg[binary]'",
    "github": "PyGithub",
    "gitlab": "python-gitlab",
}
_PURPOSE: dict[Extra, str] = {
    "db": "PostgreSQL support",
    "bot": "pull/merge request support",
}


def missing(modules: tuple[str, ...]) -> list[str]:
    """The top-level modules of ``modules`` that cannot be imported here."""
    gone = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            gone.append(name)
    return gone


def require(extra: Extra, what: str, modules: tuple[str, ...]) -> None:
    """Raise a usage error naming the fix when ``modules`` (of ``extra``) are not installed.

    ``what`` names the command or flag that needs them, e.g. ``"tenantfix verify"``.
    """
    gone = missing(modules)
    if not gone:
        return
    names = " ".join(_PROVIDERS.get(name, name) for name in gone)
    raise TenantfixError(
        f"{what} needs {_PURPOSE[extra]} ({names}), an optional part of tenantfix that is not "
        f"installed. Install the extra in the environment tenantfix runs from: "
        f"pip install 'tenantfix[{extra}]' (from a clone: pip install -e '.[{extra}]'; "
        f"pipx: pipx inject tenantfix {names})",
        ExitCode.USAGE,
    )


def require_db(what: str) -> None:
    require("db", what, ("psycopg",))


def require_forge(what: str, provider: str) -> None:
    require("bot", what, ("github",) if provider == "github" else ("gitlab",))
