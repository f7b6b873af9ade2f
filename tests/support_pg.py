"""A real PostgreSQL for the suite: one throwaway server per session, a fresh database per test.

Without PostgreSQL binaries the tests that need it are skipped on a developer machine and
fail under CI=true, so a CI run can never pass by silently skipping them.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from tenantfix.db.params import DatabaseParams
from tenantfix.errors import TenantfixError
from tenantfix.pgserver import ThrowawayPostgres

_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[ThrowawayPostgres]:
    try:
        server = ThrowawayPostgres().start()
    except TenantfixError as exc:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"PostgreSQL is required under CI=true: {exc.message}")
        pytest.skip(f"no PostgreSQL: {exc.message}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_database(pg_server: ThrowawayPostgres) -> Iterator[DatabaseParams]:
    """A new, empty database on the session server, dropped after the test."""
    params = pg_server.create_database(f"test_{os.getpid()}_{next(_names)}")
    try:
        yield params
    finally:
        pg_server.drop_database(params.name)
