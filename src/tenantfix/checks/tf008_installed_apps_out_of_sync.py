"""An app is installed but in neither SHARED_APPS nor TENANT_APPS, or listed but not installed.

What it finds: an app with models (or migrations) that INSTALLED_APPS has and no tenant list
names, and an app of a tenant list that INSTALLED_APPS lacks. Apps without models are never
reported (``debug_toolbar`` installed alone has nothing to migrate). Multi-type projects compare
INSTALLED_APPS with the union of every ``TENANT_TYPES[...]['APPS']``.

Severity: error when the app's tables then exist nowhere: an app with models installed in
neither list while django-tenants' router is the only one, or INSTALLED_APPS not set at all.
Warning when DATABASE_ROUTERS has routers besides TenantSyncRouter (the message names them):
one of them may send the app to another database, which works; tenantfix cannot tell without
running them. When DATABASE_ROUTERS cannot be read statically (a router object, an environment
value) the rule is held back in that configuration and a note says so. An app listed but not
installed is a warning: Django never loads it, and tenantfix reads only installed apps, so
whether it has tables to lose is unknown (unknown is not absent).

Why: Django loads only INSTALLED_APPS; django-tenants migrates an app only in the schemas whose
list names it. An app with models that is installed but in neither list is planned in every
schema, its operations are skipped everywhere, and each migration is still recorded as applied:
``migrate_schemas`` prints OK and its tables exist nowhere (``relation "<table>" does not
exist`` at the first query). An app listed but not installed is never loaded at all: no
migrations, no tables, no templates or commands.

Example::

    SHARED_APPS = ["django_tenants", "customers"]                      # before
    TENANT_APPS = ["shop"]
    INSTALLED_APPS = ["django_tenants", "customers", "shop", "billing"]
    SHARED_APPS = ["django_tenants", "customers", "billing"]           # after (a human's choice)

Fix safety: "listed but not installed" adds the app to the INSTALLED_APPS literal (safe); when
INSTALLED_APPS has no literal of its own it offers ``derive_installed_apps`` (unsafe: it may
reorder INSTALLED_APPS and uninstall apps that are in neither list). "Installed but in neither
list" has no automatic fix: choosing SHARED_APPS (public tables) or TENANT_APPS (per-tenant
tables) decides where data lives, which is a human's call.
https://django-tenants.readthedocs.io/en/latest/install.html#configure-tenant-and-shared-applications
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantfix.checks import APP_SETTINGS, Check
from tenantfix.checks._app_list_fixes import app_key, label, settings_location
from tenantfix.graph.model import AppList, AppListEntry, ProjectGraph, ProjectSettings
from tenantfix.plan import Diagnostic, Fix, Severity

# Other routers decide between error and warning: an unreadable DATABASE_ROUTERS holds it back.
check = Check(__name__, also=("warning",), reads=APP_SETTINGS | {"DATABASE_ROUTERS"})

_TENANT_ROUTERS = frozenset(
    {"django_tenants.routers.TenantSyncRouter", "tenant_schemas.routers.TenantSyncRouter"}
)


def _other_routers(settings: ProjectSettings) -> list[str]:
    """DATABASE_ROUTERS entries that are not django-tenants' (or django-tenant-schemas') router."""
    return [r.value for r in settings.database_routers or () if r.value not in _TENANT_ROUTERS]


def _listed(graph: ProjectGraph) -> list[tuple[AppListEntry, AppList]]:
    settings = graph.settings
    lists: list[AppList] = []
    if settings.has_multi_type_tenants:
        lists = [lst for _, lst in settings.tenant_types]
    else:
        lists = [lst for lst in (settings.shared_apps, settings.tenant_apps) if lst is not None]
    return [(entry, lst) for lst in lists for entry in lst.entries]


def _list_names(graph: ProjectGraph) -> str:
    if graph.settings.has_multi_type_tenants:
        return "any TENANT_TYPES[...]['APPS']"
    return "SHARED_APPS nor TENANT_APPS"


@check.register
def run(graph: ProjectGraph) -> Iterator[Diagnostic]:
    settings = graph.settings
    listed = _listed(graph)
    installed = settings.installed_apps
    if installed is None:
        if listed:
            yield _no_installed_apps(graph)
        return
    installed_keys = {app_key(graph, v) for v in installed.values}
    reported: set[str] = set()
    for entry, app_list in listed:
        key = app_key(graph, entry.value)
        if key in installed_keys or key in reported:
            continue
        reported.add(key)
        yield _not_installed(graph, entry, app_list)
    listed_keys = {app_key(graph, e.value) for e, _ in listed}
    for entry in installed.entries:
        key = app_key(graph, entry.value)
        if key in listed_keys or key in reported:
            continue
        reported.add(key)
        app = graph.app_for_entry(entry.value)
        # An app without models or migrations has nothing to migrate: any schema is fine.
        if app is None or not (app.concrete_models or app.migrations):
            continue
        tables = ", ".join(f"`{m.table}`" for m in app.concrete_models[:3]) or "its tables"
        first_table = app.concrete_models[0].table if app.concrete_models else app.label
        why = (
            f"django-tenants' router lets {entry.value!r} migrate in no schema: "
            "`migrate_schemas` prints OK for each of its migrations and records them as "
            f"applied, but {tables} never exist, so the first query fails with "
            f'`relation "{first_table}" does not exist`.'
        )
        severity: Severity = "error"
        others = _other_routers(settings)
        message = f"{entry.value!r} is installed but in neither {_list_names(graph)}"
        if others:
            # a project router consulted before or after TenantSyncRouter may send the app to
            # another database: that works, and only running the routers would tell
            severity = "warning"
            names = ", ".join(repr(r) for r in others)
            message += f" (DATABASE_ROUTERS also has {names})"
            why = (
                f"Unless {names} sends {entry.value!r} to a database of its own, "
                + why[0].lower()
                + why[1:]
                + " If that router migrates it elsewhere, this is fine: check which database "
                "its models live in."
            )
        yield Diagnostic(
            code=check.code,
            message=message,
            location=entry.location,
            why=why,
            severity=severity,
            fix_summary=(
                f"add {entry.value!r} to SHARED_APPS (one copy of its tables, in public) or to "
                "TENANT_APPS (a copy per tenant), or remove it from INSTALLED_APPS"
                if not settings.has_multi_type_tenants
                else f"add {entry.value!r} to the APPS of the tenant types that use it"
            ),
        )


def _not_installed(graph: ProjectGraph, entry: AppListEntry, app_list: AppList) -> Diagnostic:
    settings = graph.settings
    installed = settings.installed_apps
    assert installed is not None
    name = label(app_list)
    fixes: tuple[Fix, ...] = ()
    # A literal that belongs to INSTALLED_APPS alone (not SHARED_APPS it was built from).
    if installed.origin is not None and installed.origin_name in (None, "INSTALLED_APPS"):
        previous = _previous_installed(graph, entry, app_list)
        fixes = (
            Fix(
                kind="codemod",
                name="add_app_to_list",
                path=installed.origin.path,
                args=(
                    ("list_name", "INSTALLED_APPS"),
                    ("app", entry.value),
                    ("after", previous or ""),
                ),
                description=f"add {entry.value!r} to INSTALLED_APPS",
            ),
        )
    elif not settings.has_multi_type_tenants:
        fixes = (
            Fix(
                kind="codemod",
                name="derive_installed_apps",
                path=_installed_assignment(settings),
                args=(("create", "no"),),
                safety="unsafe",
                description=(
                    "derive INSTALLED_APPS as list(SHARED_APPS) + "
                    "[app for app in TENANT_APPS if app not in SHARED_APPS]"
                ),
            ),
        )
    return Diagnostic(
        code=check.code,
        message=f"{entry.value!r} is in {name} but not in INSTALLED_APPS",
        location=entry.location,
        why=(
            f"Django never loads {entry.value!r}: its templates and commands are unknown, and "
            "if it has models `migrate_schemas` runs none of its migrations in any schema and "
            "reports nothing, so its tables never exist (tenantfix reads only installed apps, "
            "so it cannot tell whether this one has tables)."
        ),
        # only installed apps are read: whether it has tables is unknown, so not an error
        severity="warning",
        fix_summary=f"add {entry.value!r} to INSTALLED_APPS (or derive INSTALLED_APPS from the lists)",
        fixes=fixes,
    )


def _previous_installed(graph: ProjectGraph, entry: AppListEntry, app_list: AppList) -> str | None:
    """The entry before ``entry`` in its own list that INSTALLED_APPS has: the place to put it."""
    installed = graph.settings.installed_apps
    assert installed is not None
    values = set(installed.values)
    index = app_list.entries.index(entry)
    return next((e.value for e in reversed(app_list.entries[:index]) if e.value in values), None)


def _no_installed_apps(graph: ProjectGraph) -> Diagnostic:
    settings = graph.settings
    multi = settings.has_multi_type_tenants
    fixes: tuple[Fix, ...] = ()
    if not multi and settings.shared_apps is not None and settings.tenant_apps is not None:
        fixes = (
            Fix(
                kind="codemod",
                name="derive_installed_apps",
                path=settings.path,
                description="define INSTALLED_APPS from SHARED_APPS and TENANT_APPS",
            ),
        )
    return Diagnostic(
        code=check.code,
        message="INSTALLED_APPS is not set: no app of the tenant lists is installed",
        location=settings_location(settings),
        why=(
            "Django installs nothing, so `migrate_schemas` is an unknown command and no app's "
            "tables are created in any schema."
        ),
        fix_summary=(
            "define INSTALLED_APPS = list(SHARED_APPS) + "
            "[app for app in TENANT_APPS if app not in SHARED_APPS]"
            if not multi
            else "define INSTALLED_APPS as the union of every TENANT_TYPES[...]['APPS']"
        ),
        fixes=fixes,
    )


def _installed_assignment(settings: ProjectSettings) -> str:
    """The file whose INSTALLED_APPS statement the derived list replaces."""
    installed = settings.installed_apps
    if installed is not None and installed.assigned_at is not None:
        return installed.assigned_at.path
    return settings.path
