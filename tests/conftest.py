"""Shared pytest configuration; fixtures live in support_* plugin modules."""

from __future__ import annotations

pytest_plugins: list[str] = [
    "support_report",
    "support_forge",
    "support_git",
    "support_pg",
]
