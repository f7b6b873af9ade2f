"""The built-in codemod catalogue of tenantfix: one codemod per module."""

from __future__ import annotations
