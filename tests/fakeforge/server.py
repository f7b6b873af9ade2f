"""The HTTP server, request recording, auth and fault injection; APIs live in their modules."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fakeforge import github_api, gitlab_api
from fakeforge._http import Response


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str  # without the query string, as sent (still percent-encoded)
    query: dict[str, str]
    body: Any  # parsed JSON, raw text, or None
    headers: dict[str, str]

    @property
    def api(self) -> str:
        return self.path.split("/", 2)[1] if self.path.count("/") >= 1 else ""


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int | None
    times: int
    body: Any = None
    action: Callable[[], None] | None = None


class FakeForge:
    """State of the fake GitHub/GitLab; start with :meth:`start`, stop with :meth:`stop`."""

    def __init__(self, token: str, git_root: Path | None = None) -> None:
        self.token = token
        self.git_root = git_root
        self.requests: list[Recorded] = []
        self.github: github_api.GitHubState = github_api.GitHubState()
        self.gitlab: gitlab_api.GitLabState = gitlab_api.GitLabState()
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeForge:
        forge = self

        class Handler(_Handler):
            owner = forge

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def github_api_url(self) -> str:
        return f"{self.url}/github/api/v3"

    @property
    def gitlab_url(self) -> str:
        return f"{self.url}/gitlab"

    def git_url(self, full_name: str) -> str:
        return f"{self.url}/{full_name}.git"

    # ------------------------------------------------------------------ test knobs
    def fail(
        self, method: str, path_regex: str, status: int, *, times: int = 1, body: Any = None
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (before auth)."""
        with self._lock:
            self._faults.append(_Fault(method, re.compile(path_regex), status, times, body))

    def before(self, method: str, path_regex: str, action: Callable[[], None]) -> None:
        """Run ``action`` once just before the next matching request is handled (races)."""
        with self._lock:
            self._faults.append(_Fault(method, re.compile(path_regex), None, 1, action=action))

    def requests_to(self, method: str, path_regex: str) -> list[Recorded]:
        pattern = re.compile(path_regex)
        return [r for r in self.requests if r.method == method and pattern.search(r.path)]

    def writes(self) -> list[Recorded]:
        """Requests that change API state (git traffic excluded)."""
        return [r for r in self.requests if r.method in ("POST", "PATCH", "PUT", "DELETE")]

    # ------------------------------------------------------------------ dispatch
    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method == method and fault.pattern.search(path) and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Response:
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode("utf-8", "replace")
        if not is_git_path(parts.path):
            with self._lock:
                self.requests.append(Recorded(method, parts.path, query, parsed, headers))
        fault = self._take_fault(method, parts.path)
        if fault is not None:
            if fault.action is not None:
                fault.action()
            elif fault.status is not None:
                return Response(fault.status, fault.body or {"message": f"injected {fault.status}"})
        with self._lock:
            if parts.path.startswith("/github/api/v3/"):
                if not self._github_authorised(headers):
                    return Response(401, {"message": "Bad credentials"})
                sub = parts.path[len("/github/api/v3") :]
                return github_api.dispatch(
                    self.github, self.github_api_url, self.url, method, sub, query, parsed
                )
            if parts.path.startswith("/gitlab/api/v4/"):
                if headers.get("private-token") != self.token:
                    return Response(401, {"message": "401 Unauthorized"})
                sub = parts.path[len("/gitlab/api/v4") :]
                return gitlab_api.dispatch(self.gitlab, self.gitlab_url, method, sub, query, parsed)
        return Response(404, {"message": "Not Found"})

    def _github_authorised(self, headers: dict[str, str]) -> bool:
        value = headers.get("authorization", "")
        scheme, _, credential = value.partition(" ")
        return scheme.lower() in ("token", "bearer") and credential == self.token

    def git_authorised(self, headers: dict[str, str]) -> bool:
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            _user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return False
        return password == self.token


def is_git_path(path: str) -> bool:
    """Smart-HTTP git traffic: ``/<owner>/<name>.git/...`` (the APIs live under their prefix)."""
    return ".git/" in path and not path.startswith(("/github/", "/gitlab/"))


class _Handler(BaseHTTPRequestHandler):
    owner: FakeForge
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        body = self._body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        if is_git_path(urlsplit(self.path).path):
            self._git(headers, body)
            return
        response = self.owner.handle(self.command, self.path, headers, body)
        payload = b"" if response.body is None else json.dumps(response.body).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _git(self, headers: dict[str, str], body: bytes) -> None:
        forge = self.owner
        if forge.git_root is None or not forge.git_authorised(headers):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="fakeforge"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        parts = urlsplit(self.path)
        env = {
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "GIT_PROJECT_ROOT": str(forge.git_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "tenantfix-test",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_CONTENT_ENCODING": headers.get("content-encoding", ""),
            "GIT_PROTOCOL": headers.get("git-protocol", ""),
        }
        proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
        head, _, content = proc.stdout.partition(b"\r\n\r\n")
        status = 200
        cgi_headers: list[tuple[str, str]] = []
        for line in head.decode("latin-1").split("\r\n"):
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                cgi_headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in cgi_headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch
