"""Parse git remote URLs (https, ssh, scp-style) into provider, host, owner and name.

The forge API to talk to is derived from the remote the branch is pushed to, so the two can
never disagree. Credentials embedded in a URL (``https://user:token@host/...``) are dropped
on parsing and :func:`redact_url` removes them from anything that is printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

Provider = Literal["github", "gitlab"]

# user@host:path, the scp-like syntax git accepts for ssh (no scheme, colon before the path)
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+):(?P<path>(?!/).+)$")
_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


@dataclass(frozen=True, slots=True)
class RemoteURL:
    """Where a git remote lives: ``owner`` may hold GitLab subgroups (``group/sub``)."""

    scheme: str  # "https", "http", "ssh", "git" or "file"
    host: str  # "" for local paths
    port: int | None
    owner: str
    name: str
    provider: Provider | None

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}" if self.owner else self.name

    @property
    def is_http(self) -> bool:
        return self.scheme in ("http", "https")

    @property
    def web_origin(self) -> str:
        """``https://host[:port]``: the site the repository is browsed on."""
        scheme = self.scheme if self.is_http else "https"
        # an ssh port is not the web port
        port = f":{self.port}" if self.port and self.is_http else ""
        return f"{scheme}://{self.host}{port}"


def guess_provider(host: str) -> Provider | None:
    """github.com and gitlab.com, and self-hosted names that say which they are."""
    lowered = host.lower()
    if lowered == "github.com" or lowered.endswith(".github.com") or "github" in lowered:
        return "github"
    if "gitlab" in lowered:
        return "gitlab"
    return None


def _split_path(path: str) -> tuple[str, str]:
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    path = path.rstrip("/")
    owner, _, name = path.rpartition("/")
    return owner, name


def parse_remote_url(url: str) -> RemoteURL:
    """Split a remote URL; raises ValueError for text that is not one."""
    url = url.strip()
    if not url:
        raise ValueError("empty remote URL")
    if "://" in url:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "file":
            owner, name = _split_path(parts.path)
            return RemoteURL("file", "", None, owner, name, None)
        if scheme.startswith("git+"):  # git+ssh://, git+https://
            scheme = scheme[len("git+") :]
        host = parts.hostname or ""
        if not host:
            raise ValueError(f"remote URL has no host: {redact_url(url)}")
        owner, name = _split_path(parts.path)
        if scheme == "ssh" and owner.startswith("~"):
            raise ValueError(f"not a forge repository path: {redact_url(url)}")
        if not name:
            raise ValueError(f"remote URL has no repository path: {redact_url(url)}")
        return RemoteURL(scheme, host, parts.port, owner, name, guess_provider(host))
    match = _SCP_LIKE.match(url)
    # "C:/repo" on Windows is a drive letter, not a host
    if match and len(match["host"]) > 1:
        owner, name = _split_path(match["path"])
        if not name:
            raise ValueError(f"remote URL has no repository path: {url}")
        return RemoteURL("ssh", match["host"], None, owner, name, guess_provider(match["host"]))
    owner, name = _split_path(url)
    return RemoteURL("file", "", None, owner, name, None)


def redact_url(text: str) -> str:
    """Replace ``user:password@`` in every URL found in ``text`` with ``***@``."""
    return _CREDENTIALS.sub(lambda m: f"{m['scheme']}***@", text)
