"""Pull requests on GitHub and merge requests on GitLab behind one small interface.

The provider and the repository come from the git remote URL (overridable for GitHub
Enterprise and self-hosted GitLab). The token is read from ``GITHUB_TOKEN`` or
``GITLAB_TOKEN`` only; every message that leaves this package goes through :func:`scrub`
so the token cannot leak into output, logs or errors.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from tenantfix.errors import ExitCode, TenantfixError
from tenantfix.forge.remote_url import Provider, RemoteURL, parse_remote_url, redact_url

__all__ = [
    "TOKEN_ENV",
    "Forge",
    "ForgeError",
    "ForgeOptions",
    "Provider",
    "PullRequest",
    "RemoteURL",
    "api_url_for",
    "forge_for_remote",
    "parse_remote_url",
    "read_token",
    "scrub",
]

TOKEN_ENV: dict[Provider, str] = {"github": "GITHUB_TOKEN", "gitlab": "GITLAB_TOKEN"}

PullState = Literal["open", "closed", "merged"]


@dataclass(frozen=True, slots=True)
class PullRequest:
    """A GitHub pull request or GitLab merge request, reduced to what the bot needs."""

    number: int  # GitHub number / GitLab iid
    url: str  # the page a human opens
    state: PullState
    title: str
    body: str
    head: str
    base: str
    draft: bool = False


@dataclass(frozen=True, slots=True)
class ForgeOptions:
    """Network behaviour: retries on 5xx with exponential backoff, and write pacing.

    The defaults suit the real services (GitHub asks for about a second between writes);
    tests shrink them.
    """

    retries: int = 4
    backoff: float = 1.0  # seconds before the first retry, doubled each time
    timeout: float = 30.0
    write_interval: float = 1.0


class ForgeError(TenantfixError):
    """An API call failed; the message is scrubbed and says what to do."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message, ExitCode.REMOTE)
        self.status = status


class Forge(Protocol):
    """The operations the bot performs on one repository."""

    provider: Provider
    repository: str  # owner/name as the forge spells it

    def default_branch(self) -> str: ...

    def find_pull_requests(
        self, head: str, *, state: Literal["open", "all"] = "open"
    ) -> list[PullRequest]:
        """Pull requests whose source branch is ``head`` in this repository, newest first."""
        ...

    def create_pull_request(
        self, *, head: str, base: str, title: str, body: str, draft: bool
    ) -> PullRequest:
        """Open one; raises :class:`PullRequestExists` when the forge says one already is."""
        ...

    def update_pull_request(
        self, number: int, *, title: str, body: str, base: str
    ) -> PullRequest: ...

    def close_pull_request(self, number: int, *, comment: str) -> PullRequest: ...

    def add_labels(self, number: int, labels: Sequence[str]) -> None: ...

    def request_reviewers(self, number: int, reviewers: Sequence[str]) -> None: ...


class PullRequestExists(ForgeError):
    """GitHub 422 / GitLab 409: an open pull request for this branch exists already."""


def read_token(provider: Provider, *, required: bool = True) -> str | None:
    """The token from the environment (never from flags, files or the remote URL)."""
    name = TOKEN_ENV[provider]
    token = os.environ.get(name, "").strip()
    if token:
        return token
    if required:
        raise ForgeError(
            f"{name} is not set. tenantfix reads the {provider} token only from the "
            f"{name} environment variable; export it (in GitHub Actions: "
            f"`env: {name}: ${{{{ secrets.{name} }}}}` or an App/PAT token) and run again. "
            "Nothing was written or pushed."
        )
    return None


def secret_forms(secret: str) -> list[str]:
    """The secret and the encodings it travels in (HTTP basic auth headers)."""
    forms = {secret}
    for user in ("x-access-token", "oauth2", "git", ""):
        forms.add(base64.b64encode(f"{user}:{secret}".encode()).decode())
    return sorted(forms, key=len, reverse=True)


def scrub(text: str, secrets: Sequence[str | None] = ()) -> str:
    """``text`` without any secret, nor credentials embedded in URLs."""
    candidates = [s for s in secrets if s]
    for name in TOKEN_ENV.values():
        value = os.environ.get(name, "").strip()
        if value:
            candidates.append(value)
    for secret in candidates:
        if len(secret) < 4:  # too short to replace without mangling ordinary text
            continue
        for form in secret_forms(secret):
            text = text.replace(form, "***")
    return redact_url(text)


def api_url_for(remote: RemoteURL, provider: Provider) -> str:
    """The REST API root for a remote: api.github.com, GHE's /api/v3, or the GitLab host."""
    if provider == "github":
        if remote.host.lower() == "github.com":
            return "https://api.github.com"
        return f"{remote.web_origin}/api/v3"
    return remote.web_origin


def forge_for_remote(
    url: str,
    *,
    provider: Provider | None = None,
    api_url: str | None = None,
    repository: str | None = None,
    token: str | None = None,
    options: ForgeOptions | None = None,
) -> Forge:
    """A forge client for the repository a remote URL points at.

    ``provider``, ``api_url`` and ``repository`` (owner/name) override what the URL says;
    ``token`` defaults to the provider's environment variable.
    """
    try:
        remote = parse_remote_url(url)
    except ValueError as exc:
        raise ForgeError(scrub(str(exc))) from None
    provider = provider or remote.provider
    if provider is None:
        raise ForgeError(
            f"cannot tell whether {redact_url(url)} is on GitHub or GitLab; pass "
            "--provider github|gitlab (and --api-url for a self-hosted server)"
        )
    if api_url is None:
        if not remote.host:
            raise ForgeError(
                f"remote {redact_url(url)} is a local path; pass --api-url and --repository "
                "to open a pull request"
            )
        api_url = api_url_for(remote, provider)
    full_name = repository or remote.full_name
    if "/" not in full_name:
        raise ForgeError(f"cannot read owner/name from {redact_url(url)}; pass --repository")
    token = token or read_token(provider)
    assert token is not None
    opts = options or ForgeOptions()
    from tenantfix.extras import require_forge

    # before the forge is first asked anything (nothing is written yet)
    require_forge("opening a pull request", provider)
    if provider == "github":
        from tenantfix.forge.github import GitHubForge

        return GitHubForge(api_url=api_url, repository=full_name, token=token, options=opts)
    from tenantfix.forge.gitlab import GitLabForge

    return GitLabForge(api_url=api_url, repository=full_name, token=token, options=opts)
