"""Pytest plugin: a real PostgreSQL for the whole session and a fresh database per test.

``pg_server`` starts one throwaway server (``tenantfix.pgserver``) per session, or uses the
server of ``TENANTFIX_TEST_DATABASE_URL`` when that is set (a CI service container).
``pg_database`` creates an empty database for one test and drops it afterwards; it returns a
``DatabaseParams`` (``.url``, ``.host``, ``.port``, ``.user``, ``.password``, ``.name``).
Without PostgreSQL the tests are skipped, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator

import pytest

from tenantfix.db.params import DatabaseParams
from tenantfix.errors import TenantfixError
from tenantfix.pgserver import ThrowawayPostgres, create_database, drop_database

EXTERNAL_URL_ENV = "TENANTFIX_TEST_DATABASE_URL"
_counter = itertools.count(1)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required under CI=true: {reason}", pytrace=False)
    pytest.skip(f"no PostgreSQL: {reason}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[DatabaseParams]:
    """Parameters of the session's server, connected to its ``postgres`` database."""
    if url := os.environ.get(EXTERNAL_URL_ENV):
        yield DatabaseParams.from_url(url)
        return
    server = ThrowawayPostgres()
    try:
        server.start()
    except TenantfixError as exc:
        _unavailable(exc.message)
    try:
        yield server.params
    finally:
        server.stop()


@pytest.fixture
def pg_database(
    pg_server: DatabaseParams, request: pytest.FixtureRequest
) -> Iterator[DatabaseParams]:
    """A fresh, empty database for this test, dropped afterwards."""
    slug = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40].strip("_")
    name = f"tf_{os.getpid()}_{next(_counter)}_{slug}"
    create_database(pg_server, name)
    try:
        yield pg_server.with_name(name)
    finally:
        drop_database(pg_server, name)
