"""Diagnostics shaped like the ones the TF001/TF005/TF011 checks produce, for format tests."""

from __future__ import annotations

from tenantfix.graph.model import Location
from tenantfix.plan import Diagnostic, Fix, Prediction


def sample() -> list[Diagnostic]:
    return [
        Diagnostic(
            code="TF001",
            message="user app `users` is not in SHARED_APPS, but `django.contrib.admin` is",
            location=Location("accreditation_portal/settings.py", 13, 0),
            why="admin.0001_initial creates django_admin_log with an FK to users_user, "
            "which only exists in tenant schemas.",
            fix_summary="add 'users' to SHARED_APPS",
            prediction=Prediction(
                "migrate_schemas --shared",
                "admin.0001_initial",
                'relation "users_user" does not exist',
            ),
            fixes=(
                Fix(
                    "codemod",
                    "add_app_to_list",
                    "accreditation_portal/settings.py",
                    (("list_name", "SHARED_APPS"), ("app", "users")),
                    description="add 'users' to SHARED_APPS",
                ),
            ),
        ),
        Diagnostic(
            code="TF004",
            message="shared model `core.Org` references tenant-only `docs.Doc`",
            location=Location("core/models.py", 7, 4),
            why="public tables cannot reference tables that exist only in tenant schemas",
            fix_summary="share `docs`, move `Org`, or drop the FK",
            fixes=(
                Fix(
                    "codemod",
                    "add_app_to_list",
                    "accreditation_portal/settings.py",
                    (("list_name", "SHARED_APPS"), ("app", "docs")),
                    safety="unsafe",
                    description="add 'docs' to SHARED_APPS",
                ),
            ),
        ),
        Diagnostic(
            code="TF005",
            message="app `audit` has models but no migrations",
            location=Location("audit/models.py", 1, 0),
            why="an app without migrations is synced by nobody",
            fix_summary="run makemigrations audit",
            prediction=Prediction(
                "migrate_schemas --tenant", None, 'relation "audit_entry" does not exist'
            ),
            fixes=(
                Fix(
                    "makemigrations",
                    "makemigrations",
                    None,
                    (("app_label", "audit"),),
                    description="makemigrations audit",
                ),
            ),
        ),
        Diagnostic(
            code="TF011",
            message="user app `users` is in both SHARED_APPS and TENANT_APPS",
            location=Location("accreditation_portal/settings.py", 30, 4),
            why="each tenant gets its own users_user,\nwhich shadows public.users_user",
            fix_summary="",
            severity="warning",
        ),
    ]
