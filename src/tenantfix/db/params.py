"""Connection parameters of one PostgreSQL database, parsed from or rendered to a URL."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from tenantfix.errors import ExitCode, TenantfixError


@dataclass(frozen=True, slots=True)
class DatabaseParams:
    """Where a database is and who connects to it (what Django's DATABASES entry needs)."""

    host: str
    port: int
    user: str
    password: str
    name: str

    @property
    def url(self) -> str:
        return self._render(quote(self.password, safe=""))

    @property
    def safe_url(self) -> str:
        """The URL with the password masked, for messages and logs."""
        return self._render("***" if self.password else "")

    def _render(self, password: str) -> str:
        auth = quote(self.user, safe="") + (f":{password}" if password else "")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"postgresql://{auth}@{host}:{self.port}/{quote(self.name, safe='')}"

    def with_name(self, name: str) -> DatabaseParams:
        return dataclasses.replace(self, name=name)

    def with_password(self, password: str) -> DatabaseParams:
        return dataclasses.replace(self, password=password)

    def connect_kwargs(self) -> dict[str, str | int]:
        """Keyword arguments for ``psycopg.connect``."""
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.name,
            "connect_timeout": 10,
        }

    @classmethod
    def from_url(cls, url: str) -> DatabaseParams:
        """Parse ``postgresql://user:password@host:port/name`` (``postgres://`` accepted)."""
        parts = urlsplit(url)
        if parts.scheme not in {"postgresql", "postgres", "pgsql"}:
            raise TenantfixError(
                f"--database-url must start with postgresql:// (got {parts.scheme or 'no'} scheme)",
                ExitCode.USAGE,
            )
        try:
            port = parts.port or 5432
        except ValueError:
            raise TenantfixError(f"invalid port in database URL {url!r}", ExitCode.USAGE) from None
        name = unquote(parts.path.lstrip("/")) or "postgres"
        return cls(
            host=parts.hostname or "localhost",
            port=port,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            name=name,
        )
