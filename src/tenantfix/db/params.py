"""Connection parameters of one PostgreSQL database, parsed from or rendered to a URL.

Parsing is libpq's own, through psycopg (``psycopg.conninfo.conninfo_to_dict``), so what works
with ``psql "<url>"`` works here: ``postgresql://`` and ``postgres://`` URLs, keyword DSNs
(``host=db dbname=app sslmode=require``), a Unix socket directory (``?host=/var/run/postgresql``
or ``host=/tmp``), several hosts (``postgresql://h1:5432,h2:5433/app``), and every other libpq
keyword (``sslmode``, ``sslrootcert``, ``target_session_attrs``, ...), which are kept and
passed on to psycopg, to Django's ``OPTIONS`` and to ``pg_dump``/``psql``.

A value the URL leaves out stays empty, which means libpq's default (as for ``psql``): no user
is the login name, no host the default socket directory, no port 5432. Nothing becomes
``postgres`` or ``localhost`` behind the user's back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from tenantfix.errors import ExitCode, TenantfixError

_SCHEMES = ("postgresql://", "postgres://")
# libpq keywords held in their own fields; every other keyword goes to ``options``
_OWN = ("host", "hostaddr", "port", "user", "password", "dbname")
# keywords whose value is a secret, masked like the password in what is shown
_SECRET = ("password", "sslpassword")


@dataclass(frozen=True, slots=True)
class DatabaseParams:
    """Where a database is and who connects to it (what Django's DATABASES entry needs).

    ``host`` may be a socket directory or a comma-separated list, ``port`` a number or a list;
    empty fields are libpq's defaults. ``options`` are the other libpq keywords (sslmode, ...).
    """

    host: str
    port: int | str
    user: str
    password: str
    name: str
    options: tuple[tuple[str, str], ...] = field(default=())

    @property
    def url(self) -> str:
        return self._render(show_secrets=True)

    @property
    def safe_url(self) -> str:
        """The URL with the password (and any other secret) masked, for messages and logs."""
        return self._render(show_secrets=False)

    @property
    def role(self) -> str:
        """The user name libpq connects as: the given one, else PGUSER, else the login name."""
        import getpass
        import os

        return self.user or os.environ.get("PGUSER") or getpass.getuser()

    @property
    def server(self) -> str:
        """Where the server is, for messages: ``host:port``, or the socket directory."""
        host = self.host or "the default socket"
        return f"{host}:{self.port}" if self.port and "," not in host else host

    def _render(self, *, show_secrets: bool) -> str:
        password = self.password if show_secrets else ("***" if self.password else "")
        auth = quote(self.user, safe="")
        if password:
            auth += ":" + (quote(password, safe="") if show_secrets else password)
        query: dict[str, str] = {}
        simple = self.host and not self.host.startswith("/") and "," not in self.host
        if simple:
            host = f"[{self.host}]" if ":" in self.host else self.host
            port = str(self.port) if self.port and "," not in str(self.port) else ""
            netloc = host + (f":{port}" if port else "")
            if self.port and not port:
                query["port"] = str(self.port)
        else:
            # a socket directory or several hosts: as libpq's query parameters
            netloc = ""
            if self.host:
                query["host"] = self.host
            if self.port:
                query["port"] = str(self.port)
        for key, value in self.options:
            query[key] = value if show_secrets or key not in _SECRET else "***"
        at = f"{auth}@" if auth else ""
        text = f"postgresql://{at}{netloc}/{quote(self.name, safe='')}"
        if query:
            text += "?" + urlencode(query, safe="/,:*")
        return text

    def with_name(self, name: str) -> DatabaseParams:
        return dataclasses.replace(self, name=name)

    def with_password(self, password: str) -> DatabaseParams:
        return dataclasses.replace(self, password=password)

    def keywords(self, *, password: bool = True) -> dict[str, str]:
        """The libpq keywords that are set (empty ones left to libpq's defaults)."""
        out = {
            "host": self.host,
            "port": str(self.port) if self.port else "",
            "user": self.user,
            "password": self.password if password else "",
            "dbname": self.name,
            **dict(self.options),
        }
        return {k: v for k, v in out.items() if v}

    def connect_kwargs(self) -> dict[str, str | int]:
        """Keyword arguments for ``psycopg.connect``."""
        kwargs: dict[str, str | int] = {"connect_timeout": 10}
        kwargs.update(self.keywords())
        return kwargs

    def conninfo(self) -> str:
        """A libpq connection string without the password (it travels in PGPASSWORD), for
        ``pg_dump --dbname`` and ``psql --dbname``."""
        from psycopg.conninfo import make_conninfo

        return make_conninfo(**self.keywords(password=False))

    def django_options(self) -> dict[str, str]:
        """What goes into Django's ``DATABASES[...]['OPTIONS']`` (passed to libpq as is)."""
        return dict(self.options)

    @classmethod
    def from_url(cls, url: str) -> DatabaseParams:
        """Parse a PostgreSQL URL or keyword DSN with libpq's rules (see the module doc)."""
        text = url.strip()
        if text.startswith("pgsql://"):  # dj-database-url's alias
            text = "postgresql://" + text[len("pgsql://") :]
        if "://" in text.split(" ", 1)[0] and not text.startswith(_SCHEMES):
            scheme = text.split("://", 1)[0]
            raise TenantfixError(
                f"--database-url must be a postgresql:// URL or a libpq keyword string "
                f"(host=... dbname=...), not a {scheme}:// URL",
                ExitCode.USAGE,
            )
        return cls.from_keywords(_parse(text, url))

    @classmethod
    def from_keywords(cls, values: Mapping[str, object]) -> DatabaseParams:
        given = {k: str(v) for k, v in values.items() if v is not None and str(v) != ""}
        host = given.get("host") or given.get("hostaddr", "")
        port: int | str = given.get("port", "")
        if isinstance(port, str) and port.isdigit():
            port = int(port)
        options = tuple(sorted((k, v) for k, v in given.items() if k not in _OWN))
        if given.get("hostaddr") and given.get("host"):
            options = tuple(sorted((*options, ("hostaddr", given["hostaddr"]))))
        return cls(
            host=host,
            port=port,
            user=given.get("user", ""),
            password=given.get("password", ""),
            name=given.get("dbname", ""),
            options=options,
        )


def _parse(text: str, shown: str) -> dict[str, object]:
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        return dict(conninfo_to_dict(text))
    except ProgrammingError as exc:
        # libpq quotes the offending part; keep the password out of the message
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "not understood"
        masked = _mask(reason, shown)
        raise TenantfixError(
            f"--database-url cannot be parsed: {masked}. Give a URL "
            "(postgresql://user:password@host:5432/name?sslmode=require) or a libpq keyword "
            "string (host=/var/run/postgresql dbname=name)",
            ExitCode.USAGE,
        ) from None


def _mask(reason: str, url: str) -> str:
    """``reason`` without any password that ``url`` may hold (libpq echoes parts of it)."""
    import re

    # it did not parse, so the password is found the way a reader would: user:PASSWORD@ in a
    # URL, password=PASSWORD in a keyword string
    secrets = set(re.findall(r"://[^/@:]*:([^@/]*)@", url))
    secrets.update(re.findall(r"password\s*=\s*'?([^'\s]+)", url))
    for secret in filter(None, secrets):
        reason = reason.replace(secret, "***")
    return reason
