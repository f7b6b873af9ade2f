"""GitHub (and GitHub Enterprise) pull requests through PyGithub."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from tenantfix.forge import ForgeError, ForgeOptions, PullRequest, PullRequestExists, scrub
from tenantfix.forge.remote_url import Provider

T = TypeVar("T")

_HINTS = {
    401: "the token in GITHUB_TOKEN was rejected (expired or mistyped)",
    403: "the token lacks permission: it needs `contents: write` and `pull-requests: write`",
    404: "the repository was not found, or the token cannot see it",
}


class GitHubForge:
    """One repository on github.com or a GitHub Enterprise server."""

    provider: Provider = "github"

    def __init__(self, *, api_url: str, repository: str, token: str, options: ForgeOptions) -> None:
        from github import Auth, Github, GithubRetry

        self.repository = repository
        self._token = token
        self._owner = repository.split("/", 1)[0]
        retry = GithubRetry(
            total=options.retries,
            backoff_factor=options.backoff / 2,  # urllib3 waits factor * 2**(n-1)
            status_forcelist=[500, 502, 503, 504],
            # return the last 5xx instead of raising urllib3's MaxRetryError, so the error
            # carries GitHub's status and message
            raise_on_status=False,
        )
        self._gh = Github(
            auth=Auth.Token(token),
            base_url=api_url.rstrip("/"),
            timeout=int(options.timeout),
            retry=retry,
            seconds_between_requests=None,
            seconds_between_writes=options.write_interval or None,
            user_agent="tenantfix",
        )
        self._repo_obj: Any = None

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        import requests
        from github import GithubException

        try:
            return fn()
        except GithubException as exc:
            data = exc.data if isinstance(exc.data, dict) else {}
            detail = str(data.get("message") or exc.data or "")
            errors = data.get("errors") or []
            extra = "; ".join(
                str(e.get("message") or e.get("code")) for e in errors if isinstance(e, dict)
            )
            if exc.status == 422 and "already exists" in f"{detail} {extra}".lower():
                raise PullRequestExists(
                    scrub(f"GitHub: {what}: {extra or detail}", [self._token]), 422
                ) from None
            hint = _HINTS.get(exc.status, "")
            if exc.status >= 500:
                hint = "GitHub kept failing after retries; try again later"
            message = f"GitHub API error {exc.status} while trying to {what}: {detail}"
            if extra:
                message += f" ({extra})"
            if hint:
                message += f". {hint}"
            raise ForgeError(scrub(message, [self._token]), exc.status) from None
        except requests.RequestException as exc:
            raise ForgeError(
                scrub(f"cannot reach GitHub while trying to {what}: {exc}", [self._token])
            ) from None

    @property
    def _repo(self) -> Any:
        if self._repo_obj is None:
            self._repo_obj = self._call(
                f"read repository {self.repository}", lambda: self._gh.get_repo(self.repository)
            )
        return self._repo_obj

    def default_branch(self) -> str:
        return str(self._repo.default_branch)

    def find_pull_requests(
        self, head: str, *, state: Literal["open", "all"] = "open"
    ) -> list[PullRequest]:
        pulls = self._call(
            f"list pull requests for {head}",
            lambda: list(
                self._repo.get_pulls(
                    state=state, head=f"{self._owner}:{head}", sort="created", direction="desc"
                )
            ),
        )
        # the head filter is a hint some servers ignore; keep only exact matches
        return [_convert(p) for p in pulls if p.head.ref == head]

    def create_pull_request(
        self, *, head: str, base: str, title: str, body: str, draft: bool
    ) -> PullRequest:
        pr = self._call(
            f"open a pull request from {head} into {base}",
            lambda: self._repo.create_pull(
                base=base, head=head, title=title, body=body, draft=draft
            ),
        )
        return _convert(pr)

    def _pull(self, number: int) -> Any:
        return self._call(f"read pull request #{number}", lambda: self._repo.get_pull(number))

    def update_pull_request(self, number: int, *, title: str, body: str, base: str) -> PullRequest:
        pr = self._pull(number)
        self._call(
            f"update pull request #{number}", lambda: pr.edit(title=title, body=body, base=base)
        )
        return _convert(pr)

    def close_pull_request(self, number: int, *, comment: str) -> PullRequest:
        pr = self._pull(number)
        self._call(f"comment on pull request #{number}", lambda: pr.create_issue_comment(comment))
        self._call(f"close pull request #{number}", lambda: pr.edit(state="closed"))
        return _convert(pr)

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        if not labels:
            return
        pr = self._pull(number)
        self._call(f"label pull request #{number}", lambda: pr.add_to_labels(*labels))

    def request_reviewers(self, number: int, reviewers: Sequence[str]) -> None:
        if not reviewers:
            return
        users = [r for r in reviewers if "/" not in r]
        # "org/team" names a team; GitHub wants the team slug alone
        teams = [r.split("/", 1)[1] for r in reviewers if "/" in r]
        pr = self._pull(number)
        self._call(
            f"request reviewers on pull request #{number}",
            lambda: pr.create_review_request(reviewers=users, team_reviewers=teams),
        )


def _convert(pr: Any) -> PullRequest:
    state: Literal["open", "closed", "merged"] = "open" if pr.state == "open" else "closed"
    if state == "closed" and pr.merged_at is not None:
        state = "merged"
    return PullRequest(
        number=int(pr.number),
        url=str(pr.html_url),
        state=state,
        title=str(pr.title or ""),
        body=str(pr.body or ""),
        head=str(pr.head.ref),
        base=str(pr.base.ref),
        draft=bool(pr.draft),
    )
