"""A scratch clone of a database, to prove a repair on before it runs on the real one.

Two ways, the cheap one first:

1. ``CREATE DATABASE <clone> TEMPLATE <db>`` on the same server: a file-level copy that takes
   seconds even for a large database. PostgreSQL allows it only when the role may create
   databases and no other session is connected to the source (a live application usually is).
2. ``pg_dump`` of the database piped into ``psql`` on a throwaway PostgreSQL made from this
   machine's binaries (:mod:`tenantfix.pgserver`): pg_dump reads in one snapshot and changes
   nothing on the real server.

The clone is ours and is dropped afterwards; the source is only ever read.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tenantfix.db.params import DatabaseParams
from tenantfix.errors import ExitCode, TenantfixError

Say = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Clone:
    """Where the clone is and how it was made."""

    params: DatabaseParams
    method: str  # "template" | "dump"
    description: str


class _TemplateRefused(Exception):
    pass


def _maintenance(source: DatabaseParams) -> DatabaseParams:
    """A database on the same server to issue CREATE/DROP DATABASE from (not the source)."""
    from tenantfix.db.connect import connect

    for name in ("postgres", "template1"):
        if name == source.name:
            continue
        params = source.with_name(name)
        try:
            with connect(params):
                return params
        except TenantfixError:
            continue
    raise _TemplateRefused("cannot connect to the server's postgres or template1 database")


def _template_clone(source: DatabaseParams) -> tuple[DatabaseParams, str]:
    import psycopg
    from psycopg import sql

    from tenantfix.db.connect import connect

    maintenance = _maintenance(source)
    name = f"tenantfix_clone_{secrets.token_hex(6)}"
    with connect(maintenance) as conn:
        row = conn.execute(
            "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        if not row or not row[0]:
            raise _TemplateRefused(f"role {source.role!r} may not create databases")
        try:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(source.name)
                )
            )
        except psycopg.errors.ObjectInUse:
            raise _TemplateRefused(
                f"other sessions are connected to {source.name!r} (PostgreSQL copies a "
                "database by TEMPLATE only when nobody else is connected)"
            ) from None
        except psycopg.Error as exc:
            raise _TemplateRefused(f"CREATE DATABASE ... TEMPLATE failed: {exc}".strip()) from None
    return maintenance, name


def _tool(bindir: Path, name: str) -> str:
    path = bindir / name
    if not path.is_file():
        raise TenantfixError(
            f"{name} is not in {bindir}: it is needed to copy the database into a throwaway "
            "server for --verify (install the PostgreSQL client tools).",
            ExitCode.REFUSED,
        )
    return str(path)


def _libpq_env(params: DatabaseParams) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PG")  # a PGSERVICE or PGHOST must not redirect the copy
    }
    env.update(PGPASSWORD=params.password, PGCONNECT_TIMEOUT="10", LC_ALL="C", LANG="C")
    return env


def dump_into(source: DatabaseParams, target: DatabaseParams, bindir: Path) -> None:
    """``pg_dump source | psql target``; a TenantfixError naming the tool that failed."""
    from tenantfix.db.connect import scrub

    pg_dump, psql = _tool(bindir, "pg_dump"), _tool(bindir, "psql")
    with tempfile.TemporaryFile() as dump_errors:
        dump = subprocess.Popen(
            [
                pg_dump,
                "--no-owner",
                "--no-privileges",
                # the whole connection string: sslmode, a socket directory, several hosts
                f"--dbname={source.conninfo()}",
            ],
            stdout=subprocess.PIPE,
            stderr=dump_errors,
            stdin=subprocess.DEVNULL,
            env=_libpq_env(source),
        )
        assert dump.stdout is not None
        restore = subprocess.Popen(
            [
                psql,
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                f"--dbname={target.conninfo()}",
            ],
            stdin=dump.stdout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=_libpq_env(target),
        )
        dump.stdout.close()  # psql owns the pipe now: pg_dump sees EPIPE if psql stops
        _, restore_err = restore.communicate()
        dump.wait()
        dump_errors.seek(0)
        dump_err = dump_errors.read().decode(errors="replace")
    if dump.returncode != 0:
        raise TenantfixError(
            f"pg_dump of {source.safe_url} failed, so no clone could be made (nothing was "
            f"changed):\n    {scrub(dump_err.strip(), source)}",
            ExitCode.REFUSED,
        )
    if restore.returncode != 0:
        raise TenantfixError(
            "restoring the dump into a throwaway PostgreSQL failed, so no clone could be made "
            f"(nothing was changed):\n    {restore_err.decode(errors='replace').strip()}",
            ExitCode.REFUSED,
        )


@contextlib.contextmanager
def scratch_clone(source: DatabaseParams, say: Say | None = None) -> Iterator[Clone]:
    """A clone of ``source`` for the duration of the block (dropped afterwards, errors too)."""
    from tenantfix import pgserver

    tell = say or (lambda _msg: None)
    tell(f"cloning {source.name} with CREATE DATABASE ... TEMPLATE")
    try:
        maintenance, name = _template_clone(source)
    except _TemplateRefused as refused:
        reason = str(refused)
    else:
        try:
            yield Clone(
                source.with_name(name),
                "template",
                f"a clone made with CREATE DATABASE {name} TEMPLATE {source.name} on the same "
                "server (dropped afterwards)",
            )
        finally:
            tell(f"dropping the clone {name}")
            pgserver.drop_database(maintenance, name)
        return
    tell(f"no TEMPLATE clone ({reason}); copying with pg_dump into a throwaway PostgreSQL")
    with pgserver.ThrowawayPostgres() as server:
        target = server.create_database("tenantfix_clone")
        assert server.bindir is not None
        dump_into(source, target, server.bindir)
        yield Clone(
            target,
            "dump",
            f"a copy made with pg_dump into a throwaway PostgreSQL (no TEMPLATE clone: {reason})",
        )
