"""The throwaway PostgreSQL server: starts, serves databases, and leaves nothing behind."""

from __future__ import annotations

import os
import socket

import psycopg
import pytest

from tenantfix.db.params import DatabaseParams
from tenantfix.errors import TenantfixError
from tenantfix.pgserver import ThrowawayPostgres, find_bindir


def _bindir_or_skip():
    try:
        return find_bindir()
    except TenantfixError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(exc.message)
        pytest.skip(exc.message)


def test_server_lifecycle_cleans_up():
    bindir = _bindir_or_skip()
    with ThrowawayPostgres(bindir=bindir) as pg:
        assert pg.url == f"postgresql://postgres@127.0.0.1:{pg.port}/postgres"
        params = pg.create_database("scratch_one")
        with psycopg.connect(params.url) as conn:
            conn.execute("CREATE TABLE t (x int)")
            conn.execute("INSERT INTO t VALUES (41), (1)")
            assert conn.execute("SELECT sum(x) FROM t").fetchone() == (42,)
            assert conn.execute("SHOW fsync").fetchone() == ("off",)
        data_dir, port = pg.data_dir, pg.port
        assert data_dir.is_dir()
    assert not data_dir.parent.exists()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_server_is_removed_after_an_error():
    bindir = _bindir_or_skip()
    pg = ThrowawayPostgres(bindir=bindir)
    with pytest.raises(RuntimeError, match="boom"), pg:
        tmp = pg.data_dir.parent
        raise RuntimeError("boom")
    assert not pg.running
    assert not tmp.exists()


def test_missing_binaries_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("TENANTFIX_PG_BINDIR", str(tmp_path))
    with pytest.raises(TenantfixError, match="PostgreSQL"):
        ThrowawayPostgres(bindir=tmp_path).start()


def test_pg_database_fixture_is_fresh_and_reachable(pg_database):
    assert isinstance(pg_database, DatabaseParams)
    with psycopg.connect(pg_database.url) as conn:
        (name,) = conn.execute("SELECT current_database()").fetchone()
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
    assert name == pg_database.name
    assert tables == (0,)


def test_database_url_round_trip():
    params = DatabaseParams.from_url("postgresql://u%40x:p%2Fw@db.example:6543/my_db")
    assert (params.user, params.password, params.host, params.port, params.name) == (
        "u@x",
        "p/w",
        "db.example",
        6543,
        "my_db",
    )
    assert DatabaseParams.from_url(params.url) == params
    assert "p/w" not in params.safe_url and "***" in params.safe_url
