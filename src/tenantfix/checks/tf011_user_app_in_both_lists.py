"""The user model's app is in both SHARED_APPS and TENANT_APPS: tenant users shadow public ones.

Why: an app in both lists gets its tables in public and again in every tenant schema. On a
tenant's ``search_path = tenant, public`` the tenant's own ``users_user`` shadows
``public.users_user``: a user created in public (the superuser, logins on the public domain)
does not exist inside a tenant, foreign keys from tenant apps bind to the tenant's table, and
with ``django.contrib.auth`` in both lists permissions and groups are per tenant too. No
migration fails, so it surfaces as logins and permissions that differ from tenant to tenant.
That can be the design (per-tenant users), so this is a warning. Multi-type projects: the user
app in ``TENANT_TYPES['public']['APPS']`` and in another type's APPS.

Example::

    # before: every tenant gets its own users_user, shadowing public.users_user
    SHARED_APPS = ["django_tenants", "customers", "users", "django.contrib.auth", ...]
    TENANT_APPS = ["users", "shop"]
    # after (users shared by all tenants)
    SHARED_APPS = ["django_tenants", "customers", "users", "django.contrib.auth", ...]
    TENANT_APPS = ["shop"]

Fix (unsafe, only with ``--unsafe-fixes``): remove the user app from TENANT_APPS (each
tenant type's APPS), keeping the list's comments, quotes and commas. Unsafe because it changes
what an existing database means: every tenant schema keeps its own user table, which still
shadows the public one on the tenant's ``search_path`` and which the tenant tables' foreign keys
still reference, while tenants created afterwards have none. On a database that has
tenant users, move them into public with ``tenantfix move-users`` (plan, ``--verify``,
``--execute``; README: "Moving users from per-tenant to global") before deploying the change. No
migration is generated: the user app's tables already exist in public. Code that creates a
user per tenant (an ``admin`` made on each tenant's creation) then writes into public, where the
second such username clashes. Offered only when the entry is written in the tenant list's own
assignment (not in a list both lists are built from).
Users per tenant on purpose: keep the app and silence TF011 with a suppression comment.
https://django-tenants.readthedocs.io/en/latest/use.html
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tenantfix.checks import Check
from tenantfix.checks._app_list_fixes import label, removal
from tenantfix.graph.model import AppList, AppListEntry, ProjectGraph
from tenantfix.plan import Diagnostic, Fix

check = Check(__name__, severity="warning", safety="unsafe")

RUNBOOK = 'README: "Moving users from per-tenant to global: `tenantfix move-users`"'


def _user_app_values(graph: ProjectGraph) -> frozenset[str]:
    app_label = graph.settings.user_model.partition(".")[0]
    app = graph.app(app_label)
    if app is not None:
        return app.list_values()
    # Not in the graph: Django's default label is the last part of the module path.
    lists = [graph.settings.public_apps(), *graph.settings.tenant_app_lists()]
    return frozenset(
        value
        for lst in lists
        if lst is not None
        for value in lst.values
        if value.split(".apps.")[0].rpartition(".")[2] == app_label
    )


def _statement_lines(graph: ProjectGraph, path: str, name: str) -> list[tuple[int, int]]:
    """Line spans of the statements that bind or extend ``name`` in ``path`` (what the
    ``remove_app_from_list`` codemod edits: assignments, ``+=`` and ``NAME.append(...)``)."""
    file = Path(path) if Path(path).is_absolute() else Path(graph.root) / path
    try:
        tree = ast.parse(file.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return []
    spans: list[tuple[int, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        elif (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr == "append"
        ):
            targets = [node.value.func.value]
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            spans.append((node.lineno, node.end_lineno or node.lineno))
    return spans


def _removal(
    graph: ProjectGraph, public: AppList, tenant_list: AppList, entry: AppListEntry
) -> tuple[Fix, ...]:
    """The unsafe fix, when one edit of the tenant list's own statements removes the entry.

    Not offered when the entry comes from another list (``TENANT_APPS = COMMON + [...]``):
    editing ``COMMON`` would take the app out of SHARED_APPS too, and editing TENANT_APPS
    would change nothing. The apply re-check still proves the finding gone.
    """
    shared_entry = public.find(frozenset({entry.value}))
    if shared_entry is not None and shared_entry.location == entry.location:
        return ()
    line = entry.location.line
    spans = _statement_lines(graph, entry.location.path, tenant_list.name)
    if not any(first <= line <= last for first, last in spans):
        return ()
    return (removal(tenant_list, entry, "unsafe"),)


@check.register
def run(graph: ProjectGraph) -> Iterator[Diagnostic]:
    settings = graph.settings
    public = settings.public_apps()
    values = _user_app_values(graph)
    if public is None or not values or public.find(values) is None:
        return
    user_model = settings.user_model
    model = graph.model(user_model)
    app_label, _, model_name = user_model.partition(".")
    table = model.table if model else f"{app_label}_{model_name.lower()}"
    for tenant_list in settings.tenant_app_lists():
        entry = tenant_list.find(values)
        if entry is None:
            continue
        auth_note = (
            " and `auth_permission`/`auth_group` are per tenant as well"
            if app_label == "auth"
            else ""
        )
        fixes = _removal(graph, public, tenant_list, entry)
        by_hand = (
            ""
            if fixes
            else (
                f" — by hand: {entry.value!r} is written at {entry.location}, not in "
                f"{label(tenant_list)}'s own assignment (a list both lists are built from), so "
                "no single edit removes it from the tenant list only"
            )
        )
        yield Diagnostic(
            code=check.code,
            message=(
                f"the user app {entry.value!r} ({user_model}) is in both {label(public)} "
                f"and {label(tenant_list)}"
            ),
            location=entry.location,
            severity="warning",
            why=(
                f"Every tenant schema gets its own `{table}`, which shadows `public.{table}` on "
                "`search_path = tenant, public`: users created in public (the superuser, logins "
                "on the public domain) do not exist inside tenants, and foreign keys to "
                f"{user_model} in tenant apps bind to the tenant's own table{auth_note}. No "
                "migration fails; logins and permissions just differ per tenant."
            ),
            fix_summary=(
                f"users shared by every tenant: remove {entry.value!r} from "
                f"{label(tenant_list)}; a database with tenant users needs them moved into "
                f"public with `tenantfix move-users` before deploying that change ({RUNBOOK}); "
                "users per tenant on "
                "purpose: keep it and suppress TF011" + by_hand
            ),
            fixes=fixes,
        )
