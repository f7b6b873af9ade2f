"""A local stand-in for the GitHub and GitLab REST APIs, and a git smart-HTTP server.

Real HTTP on 127.0.0.1 in a background thread: PyGithub and python-gitlab talk to it through
their base URL exactly as they talk to the real services, and git pushes to it through
``git http-backend``. It keeps state (repositories, pull requests, comments, labels), records
every request, and can inject failures (status codes, races) for the error paths.
"""

from __future__ import annotations

from fakeforge.server import FakeForge, Recorded

__all__ = ["FakeForge", "Recorded"]
