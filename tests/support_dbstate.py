"""Helpers for tests that change real databases: run the fixture's manage.py, dump every row."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import psycopg
from psycopg import sql


def manage(project: Path, db, *args: str) -> subprocess.CompletedProcess[str]:
    """The write-up fixture reads its database from DB_* variables."""
    env = {
        **os.environ,
        "DB_NAME": db.name,
        "DB_USER": db.user,
        "DB_PASSWORD": db.password,
        "DB_HOST": db.host,
        "DB_PORT": str(db.port),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def dump(db) -> dict[tuple[str, str], Counter[str]]:
    """Every row of every table of every non-system schema, as a multiset of row reprs."""
    out: dict[tuple[str, str], Counter[str]] = {}
    with psycopg.connect(db.url) as conn:
        tables = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
        ).fetchall()
        for schema, table in tables:
            rows = conn.execute(
                sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            ).fetchall()
            out[(schema, table)] = Counter(repr(r) for r in rows)
    return out


def tables(db, schema: str) -> set[str]:
    with psycopg.connect(db.url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchall()
    return {r[0] for r in rows}


def databases(server) -> set[str]:
    with psycopg.connect(server.url) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()}
