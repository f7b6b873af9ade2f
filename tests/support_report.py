"""Fixtures for the report, rules and explain tests: a real check registered for one test."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest

from tenantfix.checks import CHECKS, Check
from tenantfix.graph.model import Location, ProjectGraph
from tenantfix.plan import Diagnostic

SAMPLE_DOC = """Sample problem used by the report tests.

Explains, in a second paragraph, why the sample problem breaks
`migrate_schemas --shared` and what to do about it.

Fix (unsafe): share the sample app, after reading what that changes.
"""


@pytest.fixture
def sample_check() -> Iterator[Check]:
    """Register ``TF999`` (slug ``sample-problem``) from a throwaway module, then remove it."""
    name = "tf999_sample_problem"
    module = types.ModuleType(name, SAMPLE_DOC)
    sys.modules[name] = module
    chk = Check(name, severity="warning")

    def run(graph: ProjectGraph) -> Iterator[Diagnostic]:
        yield Diagnostic("TF999", "sample", Location("settings.py", 1), "why", "fix")

    chk.register(run)
    try:
        yield chk
    finally:
        CHECKS.pop(chk.code, None)
        del sys.modules[name]
