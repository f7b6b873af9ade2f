"""``django_tenants`` is missing from, or not first in, SHARED_APPS or INSTALLED_APPS.

What it finds: ``django_tenants`` missing from INSTALLED_APPS (error), and ``django_tenants``
present but behind another app, or in a list built through ``set()`` (warning). Missing from
SHARED_APPS alone is a warning while INSTALLED_APPS still has it (INSTALLED_APPS is what Django
loads). Multi-type projects are checked in ``TENANT_TYPES['public']['APPS']``; legacy
django-tenant-schemas projects for ``tenant_schemas``.

Why: without ``django_tenants`` installed, ``manage.py migrate_schemas`` answers
``Unknown command: 'migrate_schemas'``: nothing migrates. Installed but behind another app, it
works, but Django looks up management commands and templates in INSTALLED_APPS order: an app
before it that ships its own ``migrate`` command or ``admin/index.html`` /
``admin/app_list.html`` wins over django-tenants' (its ``migrate`` runs ``migrate_schemas``; its
admin templates hide tenant-only apps in the public admin). django-tenants' install guide puts
it first. A list built through ``set()`` (``list(set(SHARED_APPS + TENANT_APPS))``) has a
different order on every interpreter start, so the app is first only by chance.

Example::

    SHARED_APPS = ["django.contrib.admin", "django_tenants", "customers"]   # before
    SHARED_APPS = ["django_tenants", "django.contrib.admin", "customers"]   # after

Fix safety: safe: ``move_app_first_in_list`` moves (or inserts) the entry in the list's literal;
an unordered INSTALLED_APPS with exactly the apps of the two lists is rewritten by
``derive_installed_apps``. Lists built in ways a codemod cannot edit are reported without a fix.
https://django-tenants.readthedocs.io/en/latest/install.html
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantfix.checks import Check
from tenantfix.checks._app_list_fixes import in_origin, label, literal_target, settings_location
from tenantfix.graph.model import AppList, Location, ProjectGraph, ProjectSettings
from tenantfix.plan import Diagnostic, Fix, Severity

check = Check(__name__, also=("warning",))


def _app(settings: ProjectSettings) -> tuple[str, frozenset[str]]:
    if settings.legacy_tenant_schemas:
        return "tenant_schemas", frozenset({"tenant_schemas"})
    return "django_tenants", frozenset(
        {"django_tenants", "django_tenants.apps.DjangoTenantsConfig"}
    )


def _problem(app_list: AppList, names: frozenset[str]) -> str | None:
    index = next((i for i, v in enumerate(app_list.values) if v in names), None)
    if index is None:
        return "missing"  # whatever the order: nothing loads django-tenants from this list
    if not app_list.ordered:
        return "unordered"
    return None if index == 0 else "not_first"


def _follows(installed: AppList, public: AppList | None) -> bool:
    """INSTALLED_APPS takes its order from the public list (``list(SHARED_APPS) + ...``)."""
    return bool(
        public is not None
        and public.entries
        and installed.entries
        and installed.entries[0].location == public.entries[0].location
    )


@check.register
def run(graph: ProjectGraph) -> Iterator[Diagnostic]:
    settings = graph.settings
    app, names = _app(settings)
    public = settings.public_apps()
    public_problem = _problem(public, names) if public is not None else None
    installed = settings.installed_apps
    problem = _problem(installed, names) if installed is not None else None
    if public is not None and public_problem is not None:
        # missing from the public list breaks migrate only when Django does not load it either
        # (INSTALLED_APPS built from SHARED_APPS); an unresolved INSTALLED_APPS is TF008's
        severity: Severity = (
            "error" if public_problem == "missing" and problem == "missing" else "warning"
        )
        yield _diagnostic(graph, public, public_problem, app, names, severity)
    if installed is None or problem is None:
        return
    if public_problem is not None and problem != "unordered" and _follows(installed, public):
        return  # fixing the public list fixes INSTALLED_APPS, which is built from it
    yield _diagnostic(
        graph, installed, problem, app, names, "error" if problem == "missing" else "warning"
    )


def _diagnostic(
    graph: ProjectGraph,
    app_list: AppList,
    problem: str,
    app: str,
    names: frozenset[str],
    severity: Severity,
) -> Diagnostic:
    settings = graph.settings
    name = label(app_list)
    entry = app_list.find(names)
    location: Location = (
        entry.location
        if entry is not None
        else app_list.entries[0].location
        if app_list.entries
        else app_list.origin or settings_location(settings)
    )
    is_installed = app_list is settings.installed_apps
    fixes: tuple[Fix, ...] = ()
    if problem == "unordered":
        message = f"{name} is built through set(): {app!r} is first only by chance"
        why = (
            f"It works today, but set() gives {name} a different order on each interpreter "
            "start (string hashing is randomised), so which app's `migrate` command and admin "
            "templates (index.html, app_list.html) win changes from one run to the next."
        )
        summary = f"build {name} in a fixed order with {app!r} first"
        fixes = _derive_fix(graph, app_list) if is_installed else ()
        if fixes:
            summary = (
                "derive INSTALLED_APPS as list(SHARED_APPS) + "
                "[app for app in TENANT_APPS if app not in SHARED_APPS]"
            )
    else:
        first = app_list.entries[0].value if app_list.entries else None
        if problem == "missing":
            message = f"{app!r} is missing from {name}"
        else:
            message = f"{app!r} is not first in {name} ({first!r} comes before it)"
        if is_installed and problem == "missing":
            why = (
                f"Without {app!r} in INSTALLED_APPS Django does not load django-tenants: "
                "`manage.py migrate_schemas` fails with `Unknown command: 'migrate_schemas'` "
                "and no request is routed to a tenant schema."
            )
        elif is_installed:
            why = "It works, but " + _shadowing(app_list, names, app)
        elif severity == "error":
            why = (
                f"INSTALLED_APPS is built from {name}, so Django does not load {app!r} either: "
                "`manage.py migrate_schemas` fails with `Unknown command: 'migrate_schemas'`."
            )
        elif problem == "missing":
            why = (
                f"INSTALLED_APPS has {app!r}, so it works today, but django-tenants' install "
                f"guide lists it first in {name}; when INSTALLED_APPS is next derived from the "
                "lists it drops out, and `manage.py migrate_schemas` fails with "
                "`Unknown command: 'migrate_schemas'`."
            )
        else:
            why = (
                f"It works, but django-tenants' install guide puts {app!r} first in {name}, "
                "and INSTALLED_APPS is normally built from it: " + _shadowing(app_list, names, app)
            )
        summary = f"put {app!r} first in {name}"
        target = literal_target(app_list)
        entries_ok = not app_list.entries or (
            in_origin(app_list, app_list.entries[0])
            and (entry is None or in_origin(app_list, entry))
        )
        if target is not None and entries_ok and app_list.origin is not None:
            args = (*target, ("app", entry.value if entry else app))
            if problem == "missing":
                args = (*args, ("insert_if_missing", "yes"))
            fixes = (
                Fix(
                    kind="codemod",
                    name="move_app_first_in_list",
                    path=app_list.origin.path,
                    args=args,
                    description=summary,
                ),
            )
    return Diagnostic(
        code=check.code,
        message=message,
        location=location,
        why=why,
        fix_summary=summary,
        severity=severity,
        fixes=fixes,
    )


def _shadowing(app_list: AppList, names: frozenset[str], app: str) -> str:
    """What the apps listed before django-tenants take over (Django's lookups go in order)."""
    values = app_list.values
    index = next((i for i, v in enumerate(values) if v in names), len(values))
    before = ", ".join(repr(v) for v in values[:index][:3]) + (", ..." if index > 3 else "")
    admin = (
        " (django.contrib.admin's own do)"
        if any(
            v == "django.contrib.admin" or v.startswith("django.contrib.admin.")
            for v in values[:index]
        )
        else ""
    )
    return (
        "Django looks up templates and management commands in INSTALLED_APPS order, so the "
        f"apps before {app!r} ({before}) win: an admin/index.html or admin/app_list.html they "
        f"ship{admin} replaces django-tenants' (which hide tenant-only apps in the public "
        "admin), and a `migrate` command they ship replaces django-tenants' (which runs "
        "migrate_schemas)."
    )


def _derive_fix(graph: ProjectGraph, installed: AppList) -> tuple[Fix, ...]:
    """Safe only when the derived list holds exactly the same apps (order aside)."""
    settings = graph.settings
    if settings.has_multi_type_tenants or not (settings.shared_apps and settings.tenant_apps):
        return ()
    union = set(settings.shared_apps.values) | set(settings.tenant_apps.values)
    if set(installed.values) != union:
        return ()
    path = installed.assigned_at.path if installed.assigned_at is not None else settings.path
    return (
        Fix(
            kind="codemod",
            name="derive_installed_apps",
            path=path,
            args=(("create", "no"),),
            description="derive INSTALLED_APPS from SHARED_APPS and TENANT_APPS, in order",
        ),
    )
