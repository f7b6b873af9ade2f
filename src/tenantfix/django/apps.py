"""The AppConfig of ``tenantfix.django``: registers the system checks under the tag ``tenantfix``."""

from __future__ import annotations

from django.apps import AppConfig


class TenantfixConfig(AppConfig):  # type: ignore[misc]  # Django ships no type hints
    name = "tenantfix.django"
    label = "tenantfix"
    verbose_name = "tenantfix"

    def ready(self) -> None:
        from django.core import checks

        from tenantfix.django.checks import tenantfix_checks

        checks.register(tenantfix_checks, "tenantfix")
