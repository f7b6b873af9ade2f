"""GitLab (gitlab.com and self-hosted) merge requests through python-gitlab."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from tenantfix.forge import ForgeError, ForgeOptions, PullRequest, PullRequestExists, scrub
from tenantfix.forge.remote_url import Provider

T = TypeVar("T")

_DRAFT = "Draft: "
_HINTS = {
    401: "the token in GITLAB_TOKEN was rejected (expired or mistyped)",
    403: "the token lacks permission: it needs the `api` scope and Developer role",
    404: "the project was not found, or the token cannot see it",
}


class GitLabForge:
    """One project on gitlab.com or a self-hosted GitLab."""

    provider: Provider = "gitlab"

    def __init__(self, *, api_url: str, repository: str, token: str, options: ForgeOptions) -> None:
        import gitlab

        self.repository = repository
        self._token = token
        # python-gitlab backs off 0.1 s * 2**n between retries (no knob for the delay), and
        # takes the retry count per request
        self._kw: dict[str, Any] = {"max_retries": options.retries}
        self._gl = gitlab.Gitlab(
            api_url.rstrip("/"),
            private_token=token,
            timeout=options.timeout,
            retry_transient_errors=True,
            user_agent="tenantfix",
        )
        self._project_obj: Any = None

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        import requests
        from gitlab import exceptions

        try:
            return fn()
        except exceptions.GitlabError as exc:
            status = exc.response_code or 0
            detail = exc.error_message
            if isinstance(detail, bytes):
                detail = detail.decode("utf-8", "replace")
            text = str(detail)
            if status in (409, 422) and "already exists" in text.lower():
                raise PullRequestExists(
                    scrub(f"GitLab: {what}: {text}", [self._token]), status
                ) from None
            hint = _HINTS.get(status, "")
            if status >= 500:
                hint = "GitLab kept failing after retries; try again later"
            message = f"GitLab API error {status or ''} while trying to {what}: {text}".replace(
                "error  while", "error while"
            )
            if hint:
                message += f". {hint}"
            raise ForgeError(scrub(message, [self._token]), status or None) from None
        except requests.RequestException as exc:
            raise ForgeError(
                scrub(f"cannot reach GitLab while trying to {what}: {exc}", [self._token])
            ) from None

    @property
    def _project(self) -> Any:
        if self._project_obj is None:
            self._project_obj = self._call(
                f"read project {self.repository}",
                lambda: self._gl.projects.get(self.repository, **self._kw),
            )
        return self._project_obj

    def default_branch(self) -> str:
        return str(self._project.default_branch)

    def find_pull_requests(
        self, head: str, *, state: Literal["open", "all"] = "open"
    ) -> list[PullRequest]:
        filters: dict[str, Any] = {"source_branch": head, "order_by": "created_at", "sort": "desc"}
        if state == "open":
            filters["state"] = "opened"
        mrs = self._call(
            f"list merge requests for {head}",
            lambda: self._project.mergerequests.list(get_all=True, **filters, **self._kw),
        )
        return [_convert(mr) for mr in mrs if mr.source_branch == head]

    def create_pull_request(
        self, *, head: str, base: str, title: str, body: str, draft: bool
    ) -> PullRequest:
        data = {
            "source_branch": head,
            "target_branch": base,
            "title": f"{_DRAFT}{title}" if draft else title,
            "description": body,
            "remove_source_branch": True,
        }
        mr = self._call(
            f"open a merge request from {head} into {base}",
            lambda: self._project.mergerequests.create(data, **self._kw),
        )
        return _convert(mr)

    def _mr(self, number: int) -> Any:
        return self._call(
            f"read merge request !{number}",
            lambda: self._project.mergerequests.get(number, **self._kw),
        )

    def update_pull_request(self, number: int, *, title: str, body: str, base: str) -> PullRequest:
        mr = self._mr(number)
        # keep a draft a draft: the marker lives in the title on GitLab
        if str(mr.title).startswith(_DRAFT) and not title.startswith(_DRAFT):
            title = f"{_DRAFT}{title}"
        mr.title = title
        mr.description = body
        mr.target_branch = base
        self._call(f"update merge request !{number}", lambda: mr.save(**self._kw))
        return _convert(mr)

    def close_pull_request(self, number: int, *, comment: str) -> PullRequest:
        mr = self._mr(number)
        self._call(
            f"comment on merge request !{number}",
            lambda: mr.notes.create({"body": comment}, **self._kw),
        )
        mr.state_event = "close"
        self._call(f"close merge request !{number}", lambda: mr.save(**self._kw))
        return _convert(mr)

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        if not labels:
            return
        mr = self._mr(number)
        mr.add_labels = ",".join(labels)
        self._call(f"label merge request !{number}", lambda: mr.save(**self._kw))

    def request_reviewers(self, number: int, reviewers: Sequence[str]) -> None:
        if not reviewers:
            return
        ids: list[int] = []
        for username in reviewers:
            users = self._call(
                f"look up user {username}",
                lambda u=username: self._gl.users.list(username=u, **self._kw),  # type: ignore[misc]
            )
            if not users:
                raise ForgeError(f"GitLab has no user named {username!r} (--reviewer)", 404)
            ids.append(int(users[0].id))
        mr = self._mr(number)
        mr.reviewer_ids = ids
        self._call(
            f"request reviewers on merge request !{number}",
            lambda: mr.save(**self._kw),
        )


def _convert(mr: Any) -> PullRequest:
    raw_state = str(mr.state)
    state: Literal["open", "closed", "merged"] = (
        "open"
        if raw_state in ("opened", "locked")
        else "merged"
        if raw_state == "merged"
        else "closed"
    )
    title = str(mr.title or "")
    draft = bool(getattr(mr, "draft", False)) or title.startswith(_DRAFT)
    return PullRequest(
        number=int(mr.iid),
        url=str(mr.web_url),
        state=state,
        title=title.removeprefix(_DRAFT),
        body=str(mr.description or ""),
        head=str(mr.source_branch),
        base=str(mr.target_branch),
        draft=draft,
    )
