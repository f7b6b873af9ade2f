"""A git remote reached with the forge token in the environment of those git processes only.

The token travels as ``GIT_CONFIG_*`` environment variables (an ``http.<origin>/.extraheader``)
of the ``ls-remote``, ``fetch`` and ``push`` processes tenantfix starts: never in argv (``ps``
and ``GIT_TRACE`` show argv), never in ``.git/config``, never in the environment of any other
git command. What git says when one fails is scrubbed before anything shows it.

A Ctrl-C during one of them stops the git child before the interrupt goes on (SIGTERM first:
git's own handlers then remove the lock files it holds), so nothing keeps pushing after
tenantfix has said it stopped.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from tenantfix import interrupt
from tenantfix.vcs.repository import repo_at, scrubbed

if TYPE_CHECKING:
    import git

    from tenantfix.forge import Provider


class RemoteError(Exception):
    """A git command against the remote failed; ``message`` is what git said, scrubbed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def remote_url(repo_root: Path, name: str) -> str | None:
    """The URL of the remote called ``name``, or None when there is none."""
    out: str = repo_at(repo_root).git.remote("get-url", name, with_exceptions=False)
    return out.strip() or None


def auth_env(url: str, provider: Provider | None, token: str | None) -> dict[str, str]:
    """Config for an HTTP remote that sends the token, passed as environment, never argv.

    The reset (empty value) drops an extraheader set for the same URL elsewhere, such as the
    one actions/checkout writes with the workflow's GITHUB_TOKEN.
    """
    from tenantfix.forge.remote_url import parse_remote_url

    try:
        remote = parse_remote_url(url)
    except ValueError:
        return {}
    if not token or not remote.is_http:
        return {}
    user = "oauth2" if provider == "gitlab" else "x-access-token"
    basic = base64.b64encode(f"{user}:{token}".encode()).decode()
    port = f":{remote.port}" if remote.port else ""
    key = f"http.{remote.scheme}://{remote.host}{port}/.extraheader"
    start = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
    return {
        "GIT_CONFIG_COUNT": str(start + 2),
        f"GIT_CONFIG_KEY_{start}": key,
        f"GIT_CONFIG_VALUE_{start}": "",
        f"GIT_CONFIG_KEY_{start + 1}": key,
        f"GIT_CONFIG_VALUE_{start + 1}": f"Authorization: Basic {basic}",
    }


class Remote:
    """The remote ``name`` of the repository at ``repo_root``, authenticated with ``token``."""

    def __init__(
        self,
        repo_root: Path,
        name: str,
        url: str,
        *,
        provider: Provider | None = None,
        token: str | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self._repo = repo_at(repo_root)
        self._token = token
        # Never a prompt: a missing or refused token must fail, not wait for a terminal.
        self._env: Mapping[str, str] = {
            "GIT_TERMINAL_PROMPT": "0",
            **auth_env(url, provider, token),
        }

    def heads(self, *branches: str) -> dict[str, str]:
        """Branch name -> sha on the remote, for those of ``branches`` that exist there."""
        out = self._run("ls-remote", "--heads", self.name, *(f"refs/heads/{b}" for b in branches))
        heads: dict[str, str] = {}
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            heads[ref.removeprefix("refs/heads/")] = sha
        return heads

    def default_branch(self) -> str:
        """The branch the remote's HEAD names."""
        out = self._run("ls-remote", "--symref", self.name, "HEAD")
        for line in out.splitlines():
            if line.startswith("ref: refs/heads/"):
                return line.split()[1][len("refs/heads/") :]
        raise RemoteError("the remote does not name a default branch; pass --base")

    def fetch(self, *refspecs: str) -> None:
        """Fetch ``refspecs`` without tags and without writing FETCH_HEAD."""
        self._run("fetch", "--quiet", "--no-tags", "--no-write-fetch-head", self.name, *refspecs)

    def push(self, *args: str) -> None:
        """``git push --quiet --no-verify <args>`` (no pre-push hook either way)."""
        self._run("push", "--quiet", "--no-verify", *args)

    def _run(self, command: str, *args: str) -> str:

        runner = getattr(self._repo.git, command.replace("-", "_"))
        # as_process: the Popen is ours, so an interrupt can stop the child (GitPython's own
        # execute would leave it running); the environment merges over os.environ there.
        handle: git.Git.AutoInterrupt = runner(*args, env=dict(self._env), as_process=True)
        proc = handle.proc
        assert proc is not None
        try:
            out, err = proc.communicate()
        except BaseException:
            interrupt.stop_child(proc)
            raise
        if proc.returncode != 0:
            raise RemoteError(scrubbed(_text(err), _text(out), proc.returncode, [self._token]))
        return _text(out)


def _text(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data or ""
