"""Small inline project graphs for the TF008-TF011 check tests (built from the dataclasses)."""

from __future__ import annotations

from tenantfix.graph.model import (
    App,
    AppList,
    AppListEntry,
    Location,
    Model,
    ProjectGraph,
    ProjectSettings,
    SettingValue,
)

SETTINGS = "proj/settings.py"


def app_list(
    name,
    values,
    line,
    *,
    key_path=(),
    origin_name=None,
    derived=False,
    ordered=True,
    origin=True,
    path=SETTINGS,
):
    """A list whose literal starts at ``line`` with one entry per following line."""
    entries = tuple(AppListEntry(v, Location(path, line + 1 + i, 4)) for i, v in enumerate(values))
    return AppList(
        name=name,
        entries=entries,
        origin=Location(path, line, 14) if origin else None,
        key_path=tuple(key_path),
        derived=derived,
        ordered=ordered,
        origin_name=(origin_name if origin_name is not None else (None if key_path else name))
        if origin
        else None,
    )


def derived_installed(shared, tenant):
    """``list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]``."""
    values = set(shared.values)
    entries = shared.entries + tuple(e for e in tenant.entries if e.value not in values)
    return AppList("INSTALLED_APPS", entries, origin=None, derived=True)


def app(label, name=None, *, models=(), migrations=False):
    from tenantfix.graph.model import Migration

    name = name or label
    return App(
        label=label,
        name=name,
        config_path=f"{name}.apps.{label.title()}Config",
        models=tuple(
            Model(label, m, Location(f"{label}/models.py", 3 + i)) for i, m in enumerate(models)
        ),
        migrations=(
            (Migration(label, "0001_initial", Location(f"{label}/migrations/0001_initial.py", 1)),)
            if migrations
            else ()
        ),
    )


STANDARD_APPS = (
    app("django_tenants"),
    app("customers", models=("Client", "Domain"), migrations=True),
    app("admin", "django.contrib.admin", models=("LogEntry",), migrations=True),
    app("auth", "django.contrib.auth", models=("Permission", "Group", "User"), migrations=True),
    app("contenttypes", "django.contrib.contenttypes", models=("ContentType",), migrations=True),
    app("users", models=("User",), migrations=True),
    app("shop", models=("Order",), migrations=True),
)

SHARED = [
    "django_tenants",
    "customers",
    "users",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
]
TENANT = ["shop"]


def graph(
    *,
    shared=None,
    tenant=None,
    installed="derived",
    apps=STANDARD_APPS,
    user_model="users.User",
    routers=("django_tenants.routers.TenantSyncRouter",),
    engine="django_tenants.postgresql_backend",
    multi=None,
    legacy=False,
):
    """A project graph; ``multi`` = {type: [apps]} makes it a multi-type project."""
    shared_list = app_list("SHARED_APPS", SHARED if shared is None else shared, 10)
    tenant_list = app_list("TENANT_APPS", TENANT if tenant is None else tenant, 30)
    if installed == "derived":
        installed_list = derived_installed(shared_list, tenant_list)
    else:
        installed_list = installed
    tenant_types = ()
    if multi:
        tenant_types = tuple(
            (t, app_list("TENANT_TYPES", values, 50 + 20 * i, key_path=(t, "APPS")))
            for i, (t, values) in enumerate(multi.items())
        )
    settings = ProjectSettings(
        module="proj.settings",
        path=SETTINGS,
        files=(SETTINGS,),
        shared_apps=None if multi else shared_list,
        tenant_apps=None if multi else tenant_list,
        installed_apps=installed_list,
        tenant_types=tenant_types,
        has_multi_type_tenants=bool(multi),
        auth_user_model=SettingValue(user_model, Location(SETTINGS, 3)) if user_model else None,
        database_routers=(
            None
            if routers is None
            else tuple(
                SettingValue(r, Location(SETTINGS, 90 + i, 4)) for i, r in enumerate(routers)
            )
        ),
        database_engine=SettingValue(engine, Location(SETTINGS, 80, 18)) if engine else None,
        legacy_tenant_schemas=legacy,
    )
    return ProjectGraph(root="/project", settings=settings, apps=tuple(apps))


def run(check_module, g):
    return list(check_module.check.run(g))
