"""Compatibility name: the settings are read by :mod:`tenantfix.settings`."""

from __future__ import annotations

from tenantfix.settings import resolve_configurations, resolve_settings

__all__ = ["resolve_configurations", "resolve_settings"]
