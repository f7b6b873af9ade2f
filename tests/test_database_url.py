"""--database-url through libpq's own parsing (psycopg.conninfo): sslmode and the other libpq
keywords kept and passed on, socket directories, several hosts, keyword DSNs, no user =
libpq's default user; the password never shown. Real PostgreSQL for the connections."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
from support_git import FIXTURES, copy_project
from typer.testing import CliRunner

from tenantfix.cli import app
from tenantfix.db.connect import connect
from tenantfix.db.params import DatabaseParams
from tenantfix.djangorun import DjangoRunner
from tenantfix.errors import TenantfixError


def test_sslmode_and_sslrootcert_are_kept() -> None:
    p = DatabaseParams.from_url(
        "postgresql://app:s%40cret@db.example:6543/shop?sslmode=verify-full&sslrootcert=/etc/ca.pem"
    )
    assert (p.host, p.port, p.user, p.password, p.name) == (
        "db.example",
        6543,
        "app",
        "s@cret",
        "shop",
    )
    assert dict(p.options) == {"sslmode": "verify-full", "sslrootcert": "/etc/ca.pem"}
    assert p.connect_kwargs()["sslmode"] == "verify-full"
    assert p.django_options() == {"sslmode": "verify-full", "sslrootcert": "/etc/ca.pem"}
    assert "sslmode=verify-full" in p.conninfo() and "s@cret" not in p.conninfo()
    assert DatabaseParams.from_url(p.url) == p
    assert "s@cret" not in p.safe_url and "s%40cret" not in p.safe_url
    assert p.safe_url == (
        "postgresql://app:***@db.example:6543/shop?sslmode=verify-full&sslrootcert=/etc/ca.pem"
    )


def test_socket_host_multi_host_and_keyword_dsn() -> None:
    socket = DatabaseParams.from_url("postgresql://app@/shop?host=/var/run/postgresql")
    assert (socket.host, socket.port, socket.user) == ("/var/run/postgresql", "", "app")
    assert socket.server == "/var/run/postgresql"
    assert DatabaseParams.from_url(socket.url) == socket
    multi = DatabaseParams.from_url(
        "postgresql://app@h1:5432,h2:5433/shop?target_session_attrs=read-write"
    )
    assert (multi.host, multi.port) == ("h1,h2", "5432,5433")
    assert DatabaseParams.from_url(multi.url) == multi
    dsn = DatabaseParams.from_url("host=/tmp port=5499 dbname=shop user=me password='p w'")
    assert (dsn.host, dsn.port, dsn.name, dsn.user, dsn.password) == (
        "/tmp",
        5499,
        "shop",
        "me",
        "p w",
    )
    assert "p w" not in dsn.safe_url


def test_no_user_is_libpqs_default_user_not_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGUSER", raising=False)
    p = DatabaseParams.from_url("postgresql://db.example/shop")
    assert p.user == "" and "user" not in p.connect_kwargs()
    assert p.role == getpass.getuser()
    assert p.safe_url == "postgresql://db.example/shop"


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("mysql://app:hunter2@db/shop", "not a mysql:// URL"),
        ("host=db dbname", 'missing "=" after "dbname"'),
        ("postgresql://app:hunter2@db/shop?sslmod=require", "invalid URI query parameter"),
    ],
)
def test_bad_urls_are_usage_errors_without_the_password(url: str, said: str) -> None:
    with pytest.raises(TenantfixError) as info:
        DatabaseParams.from_url(url)
    assert info.value.exit_code == 2
    assert said in info.value.message and "hunter2" not in info.value.message


def _socket_url(pg_server, name: str, **query: str) -> str:
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    return (
        f"postgresql://{pg_server.user}@/{name}?host={pg_server._tmp}&port={pg_server.port}{extra}"
    )


def test_a_socket_url_reaches_the_real_server_over_the_socket(pg_server, pg_database) -> None:
    params = DatabaseParams.from_url(_socket_url(pg_server, pg_database.name, sslmode="disable"))
    with connect(params) as conn:
        row = conn.execute("SELECT current_database(), inet_server_addr() IS NULL").fetchone()
    assert row == (pg_database.name, True)  # no server address: a Unix socket, not TCP


def test_sslmode_reaches_libpq_and_the_projects_django(tmp_path: Path, pg_server) -> None:
    # the throwaway server has no SSL (and libpq uses none over a socket): over TCP, libpq
    # refuses sslmode=require, and verify-full looks for the sslrootcert: it got both
    tcp = f"postgresql://{pg_server.user}@127.0.0.1:{pg_server.port}/postgres"
    for query, said in (
        ("sslmode=require", "the server does not support SSL, and sslmode asks for it"),
        (f"sslmode=verify-full&sslrootcert={tmp_path}/no-ca.pem", "no-ca.pem"),
    ):
        with pytest.raises(TenantfixError) as info:
            connect(DatabaseParams.from_url(f"{tcp}?{query}"))
        assert info.value.exit_code == 3 and said in info.value.message, info.value.message
    project = copy_project(FIXTURES / "writeup_project", tmp_path / "portal")
    db = DatabaseParams.from_url(
        _socket_url(pg_server, "postgres", sslmode="disable", application_name="tf-test")
    )
    code = (
        "import json\nfrom django.db import connection\n"
        "d = connection.settings_dict\n"
        "with connection.cursor() as c:\n"
        "    c.execute('SELECT current_setting(%s), inet_server_addr() IS NULL', ['application_name'])\n"
        "    row = c.fetchone()\n"
        "print(json.dumps({'HOST': d['HOST'], 'OPTIONS': d['OPTIONS'], 'row': list(row)}))\n"
    )
    with DjangoRunner(project, "accreditation_portal.settings", db) as runner:
        result = runner.script(code)
    assert result.ok, result.stderr
    seen = json.loads(result.stdout.splitlines()[0])
    assert seen["HOST"] == str(pg_server._tmp)
    assert seen["OPTIONS"] == {"application_name": "tf-test", "sslmode": "disable"}
    assert seen["row"] == ["tf-test", True]


def test_repair_db_with_a_socket_url_and_a_wrong_password_never_prints_it(
    tmp_path: Path, pg_server, pg_database
) -> None:
    project = copy_project(FIXTURES / "writeup_project", tmp_path / "portal")
    url = _socket_url(pg_server, pg_database.name, sslmode="disable")
    result = CliRunner().invoke(app, ["repair-db", str(project), "--database-url", url])
    # an empty database: reached over the socket, then refused as not a Django database
    assert result.exit_code == 3, result.output
    assert "is not a Django database" in result.output
    assert f"?host={pg_server._tmp}" in result.output
    with_password = url.replace(f"{pg_server.user}@", f"{pg_server.user}:hunter2@")
    again = CliRunner().invoke(app, ["repair-db", str(project), "--database-url", with_password])
    assert "hunter2" not in again.output


def test_verify_on_a_socket_url_with_sslmode(
    tmp_path: Path, pg_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_project(FIXTURES / "writeup_project", tmp_path / "portal")
    monkeypatch.chdir(tmp_path)
    url = _socket_url(pg_server, "postgres", sslmode="disable").replace("@", ":hunter2@", 1)
    result = CliRunner().invoke(app, ["verify", "portal", "--database-url", url])
    assert result.exit_code == 4, result.output  # the unfixed project: its migrations fail
    first = result.stdout.splitlines()[0]
    assert first.startswith("Verified portal on scratch database tenantfix_verify_")
    assert f" on {pg_server._tmp}:{pg_server.port} (PostgreSQL " in first
    assert "migration: admin.0001_initial" in result.stdout
    assert "hunter2" not in result.output


def test_a_socket_directory_without_a_server_is_explained(tmp_path: Path) -> None:
    params = DatabaseParams.from_url(f"host={tmp_path} dbname=shop password=hunter2")
    with pytest.raises(TenantfixError) as info:
        connect(params)
    assert info.value.exit_code == 3
    assert "no PostgreSQL server answers there" in info.value.message
    assert "hunter2" not in info.value.message
