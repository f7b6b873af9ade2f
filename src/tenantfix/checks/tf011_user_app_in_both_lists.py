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

Fix safety: no automatic fix; it is a policy choice. Users shared by all tenants: remove the app
from TENANT_APPS (``tenantfix apply`` does when it moves the user app). Users per tenant: keep it
and silence TF011 with a suppression comment.
https://django-tenants.readthedocs.io/en/latest/use.html
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantfix.checks import Check
from tenantfix.checks._app_list_fixes import label
from tenantfix.graph.model import ProjectGraph
from tenantfix.plan import Diagnostic

check = Check(__name__, severity="warning")


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
                f"{label(tenant_list)}; users per tenant on purpose: keep it and suppress TF011"
            ),
        )
