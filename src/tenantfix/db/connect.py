"""Open a psycopg connection with errors a user can act on (and never their password)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tenantfix.db.params import DatabaseParams
from tenantfix.errors import ExitCode, TenantfixError

if TYPE_CHECKING:
    import psycopg


def scrub(text: str, params: DatabaseParams) -> str:
    """``text`` with the password (raw and URL-quoted) masked."""
    from urllib.parse import quote

    if params.password:
        text = text.replace(params.password, "***").replace(quote(params.password, safe=""), "***")
    return text


def explain_operational_error(exc: Exception, params: DatabaseParams) -> str:
    """A one-paragraph message for a failed connection: what, where, and what to check."""
    detail = scrub(str(exc).strip(), params)
    lowered = detail.lower()
    where = params.safe_url
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        hint = "wrong user name or password"
    elif f'database "{params.name.lower()}" does not exist' in lowered:
        hint = f"the server has no database {params.name!r}"
    elif "role" in lowered and "does not exist" in lowered:
        hint = f"the server has no role {params.role!r}"
    elif "server does not support ssl" in lowered:
        hint = (
            "the server does not support SSL, and sslmode asks for it (sslmode=prefer or disable?)"
        )
    elif "root certificate file" in lowered or "certificate verify failed" in lowered:
        hint = "the server's certificate could not be checked against sslrootcert"
    elif (
        "connection refused" in lowered
        or "could not connect" in lowered
        or "timeout" in lowered
        or "no such file or directory" in lowered  # a socket directory without a server
    ):
        hint = "no PostgreSQL server answers there (is it running, and is host/port right?)"
    elif "could not translate host name" in lowered or "name or service not known" in lowered:
        hint = f"unknown host {params.host!r}"
    else:
        hint = "the server refused the connection"
    return f"cannot connect to {where}: {hint}.\n    PostgreSQL said: {detail}"


def connect(
    params: DatabaseParams, *, autocommit: bool = True
) -> psycopg.Connection[tuple[object, ...]]:
    """Connect, turning psycopg's OperationalError into a TenantfixError (exit 3)."""
    from tenantfix.extras import require_db

    require_db("connecting to PostgreSQL")
    import psycopg

    try:
        conn: psycopg.Connection[tuple[object, ...]] = psycopg.connect(
            **params.connect_kwargs(),  # type: ignore[arg-type]
            autocommit=autocommit,
        )
    except psycopg.OperationalError as exc:
        raise TenantfixError(explain_operational_error(exc, params), ExitCode.REFUSED) from None
    return conn
