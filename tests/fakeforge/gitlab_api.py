"""The GitLab v4 endpoints python-gitlab calls for merge requests, with in-memory state."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from fakeforge._http import Response, error


@dataclass
class GitLabProject:
    id: int
    path_with_namespace: str
    default_branch: str = "main"
    merge_requests: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[int, list[str]] = field(default_factory=dict)


@dataclass
class GitLabState:
    projects: dict[int, GitLabProject] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)

    def add_project(self, path: str, default_branch: str = "main") -> GitLabProject:
        project = GitLabProject(len(self.projects) + 1, path, default_branch)
        self.projects[project.id] = project
        return project

    def add_user(self, username: str) -> int:
        self.users[username] = len(self.users) + 100
        return self.users[username]

    def project(self, key: str) -> GitLabProject | None:
        key = unquote(key)
        if key.isdigit():
            return self.projects.get(int(key))
        return next((p for p in self.projects.values() if p.path_with_namespace == key), None)

    def merge_requests(self, path: str) -> list[dict[str, Any]]:
        project = self.project(path)
        assert project is not None
        return project.merge_requests


def dispatch(
    state: GitLabState, web: str, method: str, path: str, query: dict[str, str], body: Any
) -> Response:
    if path == "/users" and method == "GET":
        name = query.get("username")
        return Response(
            200, [{"id": uid, "username": u} for u, uid in state.users.items() if name in (None, u)]
        )
    match = re.fullmatch(r"/projects/(?P<id>[^/]+)(?P<rest>/.*)?", path)
    if not match:
        return error(404, "404 Not Found")
    project = state.project(match["id"])
    if project is None:
        return error(404, "404 Project Not Found")
    rest = match["rest"] or ""
    if rest == "" and method == "GET":
        return Response(
            200,
            {
                "id": project.id,
                "path_with_namespace": project.path_with_namespace,
                "default_branch": project.default_branch,
                "web_url": f"{web}/{project.path_with_namespace}",
            },
        )
    if rest == "/merge_requests" and method == "GET":
        mrs = list(project.merge_requests)
        if query.get("state", "all") != "all":
            mrs = [m for m in mrs if m["state"] == query["state"]]
        if "source_branch" in query:
            mrs = [m for m in mrs if m["source_branch"] == query["source_branch"]]
        if query.get("sort", "desc") == "desc":
            mrs.reverse()
        return Response(200, mrs)
    if rest == "/merge_requests" and method == "POST":
        if any(
            m["state"] == "opened" and m["source_branch"] == body["source_branch"]
            for m in project.merge_requests
        ):
            existing = next(
                m
                for m in project.merge_requests
                if m["state"] == "opened" and m["source_branch"] == body["source_branch"]
            )
            return error(
                409,
                [
                    f"Another open merge request already exists for this source "
                    f"branch: !{existing['iid']}"
                ],
            )
        iid = len(project.merge_requests) + 1
        title = body["title"]
        mr = {
            "id": 5000 + iid,
            "iid": iid,
            "project_id": project.id,
            "title": title,
            "description": body.get("description", ""),
            "state": "opened",
            "source_branch": body["source_branch"],
            "target_branch": body["target_branch"],
            "draft": title.startswith("Draft:"),
            "labels": [x for x in str(body.get("labels", "")).split(",") if x],
            "reviewers": [],
            "web_url": f"{web}/{project.path_with_namespace}/-/merge_requests/{iid}",
        }
        project.merge_requests.append(mr)
        project.notes[iid] = []
        return Response(201, mr)
    mr_match = re.fullmatch(r"/merge_requests/(?P<iid>\d+)(?P<tail>/.*)?", rest)
    if not mr_match:
        return error(404, "404 Not Found")
    mr = next((m for m in project.merge_requests if m["iid"] == int(mr_match["iid"])), None)
    if mr is None:
        return error(404, "404 Not found")
    tail = mr_match["tail"] or ""
    if tail == "" and method == "GET":
        return Response(200, mr)
    if tail == "" and method == "PUT":
        for key in ("title", "description", "target_branch"):
            if key in body:
                mr[key] = body[key]
        mr["draft"] = mr["title"].startswith("Draft:")
        if body.get("state_event") == "close":
            mr["state"] = "closed"
        for label in str(body.get("add_labels", "")).split(","):
            if label and label not in mr["labels"]:
                mr["labels"].append(label)
        if "reviewer_ids" in body:
            names = {uid: u for u, uid in state.users.items()}
            mr["reviewers"] = [
                {"id": i, "username": names.get(i, "?")} for i in body["reviewer_ids"]
            ]
        return Response(200, mr)
    if tail == "/notes" and method == "POST":
        project.notes[mr["iid"]].append(body["body"])
        return Response(201, {"id": 1, "body": body["body"]})
    return error(404, "404 Not Found")
