"""The GitHub REST endpoints PyGithub calls for pull requests, with in-memory state."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from fakeforge._http import Response, error


@dataclass
class GitHubRepo:
    full_name: str
    default_branch: str = "main"
    pulls: list[dict[str, Any]] = field(default_factory=list)
    comments: dict[int, list[str]] = field(default_factory=dict)


@dataclass
class GitHubState:
    repos: dict[str, GitHubRepo] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def add_repo(self, full_name: str, default_branch: str = "main") -> GitHubRepo:
        repo = GitHubRepo(full_name, default_branch)
        self.repos[full_name] = repo
        return repo

    def pulls(self, full_name: str) -> list[dict[str, Any]]:
        return self.repos[full_name].pulls

    def open_pull(
        self,
        full_name: str,
        *,
        head: str,
        base: str,
        title: str,
        body: str,
        api: str,
        web: str,
        draft: bool = False,
    ) -> dict[str, Any]:
        """Create a pull request directly in the state (a human, or a racing bot run)."""
        repo = self.repos[full_name]
        owner = full_name.split("/")[0]
        number = len(repo.pulls) + 1
        pull = {
            "id": next(self._ids),
            "number": number,
            "url": f"{api}/repos/{full_name}/pulls/{number}",
            "issue_url": f"{api}/repos/{full_name}/issues/{number}",
            "html_url": f"{web}/{full_name}/pull/{number}",
            "state": "open",
            "title": title,
            "body": body,
            "draft": draft,
            "merged": False,
            "merged_at": None,
            "head": {"ref": head, "label": f"{owner}:{head}", "sha": "0" * 40},
            "base": {"ref": base, "label": f"{owner}:{base}", "sha": "0" * 40},
            "labels": [],
            "requested_reviewers": [],
            "requested_teams": [],
        }
        repo.pulls.append(pull)
        repo.comments[number] = []
        return pull


_REPO = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"


def dispatch(
    state: GitHubState, api: str, web: str, method: str, path: str, query: dict[str, str], body: Any
) -> Response:
    match = re.fullmatch(_REPO + r"(?P<rest>/.*)?", path)
    if not match:
        return error(404, "Not Found")
    full_name = f"{match['owner']}/{match['name']}"
    repo = state.repos.get(full_name)
    if repo is None:
        return error(404, "Not Found")
    rest = match["rest"] or ""
    if rest == "" and method == "GET":
        return Response(200, _repo_json(repo, api, web))
    if rest == "/pulls" and method == "GET":
        pulls = list(repo.pulls)
        if query.get("state", "open") != "all":
            pulls = [p for p in pulls if p["state"] == query.get("state", "open")]
        if "head" in query:
            pulls = [p for p in pulls if p["head"]["label"] == query["head"]]
        if "base" in query:
            pulls = [p for p in pulls if p["base"]["ref"] == query["base"]]
        if query.get("direction") == "desc":
            pulls.reverse()
        return Response(200, pulls)
    if rest == "/pulls" and method == "POST":
        head, base = body["head"], body["base"]
        owner = full_name.split("/")[0]
        label = head if ":" in head else f"{owner}:{head}"
        if any(p["state"] == "open" and p["head"]["label"] == label for p in repo.pulls):
            return error(
                422,
                "Validation Failed",
                errors=[
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for {label}.",
                    }
                ],
            )
        pull = state.open_pull(
            full_name,
            head=label.split(":", 1)[1],
            base=base,
            title=body["title"],
            body=body.get("body") or "",
            draft=bool(body.get("draft")),
            api=api,
            web=web,
        )
        return Response(201, pull)
    pull_match = re.fullmatch(r"/(?:pulls|issues)/(?P<n>\d+)(?P<tail>/.*)?", rest)
    if not pull_match:
        return error(404, "Not Found")
    number = int(pull_match["n"])
    pull = next((p for p in repo.pulls if p["number"] == number), None)
    if pull is None:
        return error(404, "Not Found")
    tail = pull_match["tail"] or ""
    if tail == "" and method == "GET":
        return Response(200, pull)
    if tail == "" and method == "PATCH":
        for key in ("title", "body", "state"):
            if key in body:
                pull[key] = body[key]
        if "base" in body:
            pull["base"]["ref"] = body["base"]
        return Response(200, pull)
    if tail == "/comments" and method == "POST":
        repo.comments[number].append(body["body"])
        return Response(
            201,
            {
                "id": next(state._ids),
                "body": body["body"],
                "url": f"{api}/repos/{full_name}/issues/comments/1",
            },
        )
    if tail == "/labels" and method == "POST":
        names = body if isinstance(body, list) else body.get("labels", [])
        for name in names:
            if name not in [label["name"] for label in pull["labels"]]:
                pull["labels"].append({"name": name, "color": "ededed"})
        return Response(200, pull["labels"])
    if tail == "/requested_reviewers" and method == "POST":
        for login in body.get("reviewers", []):
            pull["requested_reviewers"].append({"login": login})
        for slug in body.get("team_reviewers", []):
            pull["requested_teams"].append({"slug": slug})
        return Response(201, pull)
    return error(404, "Not Found")


def _repo_json(repo: GitHubRepo, api: str, web: str) -> dict[str, Any]:
    owner, name = repo.full_name.split("/")
    return {
        "id": 1,
        "name": name,
        "full_name": repo.full_name,
        "owner": {"login": owner},
        "default_branch": repo.default_branch,
        "url": f"{api}/repos/{repo.full_name}",
        "html_url": f"{web}/{repo.full_name}",
        "private": False,
    }
