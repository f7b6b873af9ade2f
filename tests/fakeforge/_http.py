"""The response value the API modules return to the server."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def error(status: int, message: str, **extra: Any) -> Response:
    return Response(status, {"message": message, **extra})
