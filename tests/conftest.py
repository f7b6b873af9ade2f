"""Shared pytest configuration; fixtures live in support_* plugin modules."""

from __future__ import annotations

import os
import shutil
import tempfile

pytest_plugins: list[str] = [
    "support_report",
    "support_forge",
    "support_git",
    "support_pg",
    "support_django_app",
]

_CACHE_DIR = tempfile.mkdtemp(prefix="tenantfix-test-cache-")


def pytest_configure(config: object) -> None:
    # The parse cache (tenantfix.graph.cache) of every CLI run and subprocess of the session
    # goes to a throwaway directory, never into the real user cache directory.
    os.environ["TENANTFIX_CACHE_DIR"] = _CACHE_DIR
    os.environ.pop("TENANTFIX_NO_CACHE", None)


def pytest_unconfigure(config: object) -> None:
    shutil.rmtree(_CACHE_DIR, ignore_errors=True)
