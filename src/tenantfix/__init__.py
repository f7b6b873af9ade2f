"""tenantfix: find and fix cross-schema mistakes in django-tenants projects."""

from __future__ import annotations

__version__ = "0.1.0"
