"""Which findings fail a command: Django's ``manage.py check --fail-level``, for tenantfix.

Django's system checks print every message but make ``manage.py check`` fail only for messages
at or above ``--fail-level`` (default ``ERROR``); warnings are advice. tenantfix does the same:
``check`` (and ``apply``, for the findings it cannot fix) exits 1 only when a finding's severity
is at or above the fail level, ``error`` unless ``--fail-level warning`` or ``fail-level`` in
``[tool.tenantfix]`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from tenantfix.plan import Diagnostic

FailLevel = Literal["error", "warning"]
FAIL_LEVELS: tuple[FailLevel, ...] = ("error", "warning")
DEFAULT_FAIL_LEVEL: FailLevel = "error"

# Django's numeric levels (django.core.checks.messages): WARNING = 30, ERROR = 40
_RANK = {"warning": 30, "error": 40}


def parse_fail_level(value: str) -> FailLevel:
    """``"Error"`` -> ``"error"``; ValueError for anything that is not a fail level."""
    level = value.strip().lower()
    if level not in FAIL_LEVELS:
        raise ValueError(f"{value!r} is not a fail level; choose error or warning")
    return level


def failing(diagnostics: Iterable[Diagnostic], level: FailLevel) -> list[Diagnostic]:
    """The findings at or above ``level``: the ones that make the command exit 1."""
    threshold = _RANK[level]
    return [d for d in diagnostics if _RANK[d.severity] >= threshold]


def fails(diagnostics: Iterable[Diagnostic], level: FailLevel) -> bool:
    return bool(failing(diagnostics, level))
