"""apply refuses a TF015 fix whose regenerated migrations still form a cycle (any TF015 left
after regenerating is the fix's own: its migrations have new names, so its message differs)."""

from __future__ import annotations

import pytest

from tenantfix.apply import _require_fixed
from tenantfix.errors import ExitCode, TenantfixError
from tenantfix.graph.model import Location
from tenantfix.pipeline import FixResult
from tenantfix.plan import REGENERATE, Diagnostic, Fix


def _cycle(message: str, *, regenerate: bool) -> Diagnostic:
    fixes = (
        (Fix("makemigrations", REGENERATE, None, (("app_label", "users"), ("remove", "x"))),)
        if regenerate
        else ()
    )
    return Diagnostic(
        "TF015", message, Location("users/migrations/0001_initial.py", 1), "", "", fixes=fixes
    )


def _result(fixed: Diagnostic, remaining: tuple[Diagnostic, ...]) -> FixResult:
    return FixResult(
        analysis=None,  # type: ignore[arg-type]  # not read by _require_fixed
        changes={},
        originals={},
        fixed=(fixed,),
        unfixed=(),
        remaining_after=remaining,
    )


def test_a_new_cycle_after_regenerating_refuses_the_fix():
    before = _cycle(
        "migrations `customers.0001_initial`, `users.0001_initial` ...", regenerate=True
    )
    after = _cycle(
        "migrations `customers.0002_initial`, `users.0001_initial` ...", regenerate=False
    )
    with pytest.raises(TenantfixError) as raised:
        _require_fixed(_result(before, (after,)))
    assert raised.value.exit_code == ExitCode.VERIFY_FAILED
    assert "customers.0002_initial" in raised.value.message


def test_no_cycle_left_passes():
    before = _cycle(
        "migrations `customers.0001_initial`, `users.0001_initial` ...", regenerate=True
    )
    _require_fixed(_result(before, ()))
