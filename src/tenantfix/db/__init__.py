"""Database helpers: connection parameters and PostgreSQL inspection for verify/repair-db."""

from __future__ import annotations
