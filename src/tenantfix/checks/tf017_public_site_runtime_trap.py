"""The public site serves admin or login without their tables in public; celery beat in one list.

What breaks: nothing while migrating; at run time on the public domain. django-tenants serves the
public schema's domain with PUBLIC_SCHEMA_URLCONF (ROOT_URLCONF when that is not set). When that
URLconf routes to the admin (``admin.site.urls``) or to login views
(``include("django.contrib.auth.urls")``, ``LoginView``, ``include("allauth.urls")``) while an
app those views need is not in SHARED_APPS, the first request fails with
``django.db.utils.ProgrammingError: relation "django_session" does not exist`` (sessions, with a
database session engine), ``relation "users_user" does not exist`` (the user app) or
``relation "django_admin_log" does not exist`` (admin). ``django_celery_beat`` in TENANT_APPS
only: the beat process, which runs in public, fails with ``relation
"django_celery_beat_periodictask" does not exist``; in SHARED_APPS only while tasks are
tenant-aware (``tenant_schemas_celery`` installed as an app): one schedule for every tenant, and
a task beat starts runs in public unless it is given a tenant. A table whose absence already
makes ``migrate_schemas --shared`` fail is left to the migrate-time rules (TF001 for the user app
under a shared admin).

Why: public holds only SHARED_APPS' tables (search path ``public``), whatever the URLconf
routes to. The finding names the route (file:line) and the setting it was read from.

Example::

    # before: urls_public.py has path("admin/", admin.site.urls); sessions is tenant-only
    SHARED_APPS = ["django_tenants", "customers", "django.contrib.contenttypes"]
    TENANT_APPS = ["django.contrib.sessions", "django.contrib.admin", "django.contrib.auth", ...]
    # after: what the public site serves is shared
    SHARED_APPS = ["django_tenants", "customers", "django.contrib.contenttypes",
                   "django.contrib.sessions", "django.contrib.admin", "django.contrib.auth", ...]

Fix: none automatic (warning): share the apps the public site needs (their data becomes global:
one admin log, one user table for the public site), or stop serving admin/login on the public
domain. For celery beat: list ``django_celery_beat`` in both lists, or only in SHARED_APPS with
tenant-aware tasks (tenant-schemas-celery).

See: https://django-tenants.readthedocs.io/en/latest/install.html#configure-tenant-and-shared-applications
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantfix.checks import APP_SETTINGS, Check
from tenantfix.graph.model import App, Location, ProjectGraph, UrlRoute
from tenantfix.plan import Diagnostic, Prediction
from tenantfix.simulate import predict

check = Check(
    __name__,
    severity="warning",
    reads=APP_SETTINGS | {"PUBLIC_SCHEMA_URLCONF", "ROOT_URLCONF", "SESSION_ENGINE"},
)

_DB_SESSIONS = {
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
}
_BEAT = "django_celery_beat"


def _public_urlconf(graph: ProjectGraph) -> tuple[str, str, Location] | None:
    settings = graph.settings
    if settings.public_schema_urlconf is not None:
        value = settings.public_schema_urlconf
        return value.value, "PUBLIC_SCHEMA_URLCONF", value.location
    if settings.root_urlconf is not None:
        return settings.root_urlconf.value, "ROOT_URLCONF", settings.root_urlconf.location
    return None


def _needed(graph: ProjectGraph, kinds: set[str]) -> Iterator[tuple[App, str, str]]:
    """(app, its table the views query, what for) for the apps the routes need."""
    settings = graph.settings
    engine = settings.session_engine.value if settings.session_engine else None
    sessions = graph.app("sessions")
    if sessions is not None and (engine is None or engine in _DB_SESSIONS):
        yield sessions, "django_session", "logins keep their session there"
    user = graph.model(settings.user_model)
    user_app = graph.user_app
    if user is not None and user_app is not None:
        yield user_app, user.table, "the login looks the user up there"
    admin = graph.app("admin")
    if "admin" in kinds and admin is not None:
        yield admin, "django_admin_log", "the admin index lists recent actions from it"


@check.register
def run(graph: ProjectGraph) -> Iterator[Diagnostic]:
    yield from _url_traps(graph)
    yield from _celery_beat(graph)


def _url_traps(graph: ProjectGraph) -> Iterator[Diagnostic]:
    found = _public_urlconf(graph)
    public = graph.settings.public_apps()
    if found is None or public is None or not public.complete:
        return
    module, setting, setting_at = found
    urlconf = graph.urlconf(module)
    if urlconf is None or urlconf.path is None:
        return  # not in the project's source: its routes are unknown
    routes: dict[str, UrlRoute] = {}
    for route in urlconf.routes:
        routes.setdefault(route.kind, route)
    if not routes:
        return
    first = min(routes.values(), key=lambda r: r.location)
    served = " and ".join(
        f"{'the admin' if kind == 'admin' else 'login views'} (`{r.written}`, {r.location})"
        for kind, r in sorted(routes.items())
    )
    list_name = (
        "TENANT_TYPES['public']['APPS']"
        if graph.settings.has_multi_type_tenants
        else ("SHARED_APPS")
    )
    # a table whose absence already fails migrate_schemas --shared is a migrate-time rule's
    # finding (TF001 for the user app under a shared admin): only the run-time trap is ours
    migrate_errors = {error for _, error in predict(graph)[0].failures}
    for app, table, purpose in _needed(graph, set(routes)):
        if graph.is_shared(app) or f'relation "{table}" does not exist' in migrate_errors:
            continue
        yield Diagnostic(
            code=check.code,
            message=(
                f"the public site ({setting} = {module!r}) serves {served}, but "
                f"`{app.label}` is not in {list_name}"
            ),
            location=first.location,
            why=(
                f"{setting} ({setting_at}) is the URLconf of the public schema's domain; "
                f"public only has {list_name}' tables, and `{table}` is not one of them "
                f"({purpose})."
            ),
            fix_summary=(
                f"add `{app.name}` to {list_name} (one shared `{table}` for the public site), or "
                "stop serving these views on the public domain"
            ),
            severity="warning",
            prediction=Prediction("runtime", None, f'relation "{table}" does not exist'),
        )


def _tenant_aware_tasks(graph: ProjectGraph) -> bool:
    # tenant-schemas-celery is a library more often than an app: only its app entry is read
    return graph.app("tenant_schemas_celery") is not None or any(
        e.value.startswith("tenant_schemas_celery") for e in graph.unresolved_apps
    )


def _celery_beat(graph: ProjectGraph) -> Iterator[Diagnostic]:
    beat = graph.app(_BEAT)
    settings = graph.settings
    public = settings.public_apps()
    tenant_lists = settings.tenant_app_lists()
    if beat is None or public is None or not tenant_lists:
        return
    if not public.complete or not all(lst.complete for lst in tenant_lists):
        return
    shared = graph.is_shared(beat)
    tenant = graph.is_tenant(beat)
    if shared == tenant:
        return  # in both lists (or neither: TF008)
    if shared and not _tenant_aware_tasks(graph):
        return  # one global schedule of tasks that never set a tenant: nothing is wrong
    entry = next(
        (
            e
            for lst in ((public,) if shared else tenant_lists)
            for e in lst.entries
            if e.value in beat.list_values()
        ),
        None,
    )
    location = entry.location if entry is not None else Location(settings.path, 1)
    if tenant:
        yield Diagnostic(
            code=check.code,
            message=f"`{_BEAT}` is in the tenant apps only",
            location=location,
            why=(
                "celery beat's DatabaseScheduler runs outside any tenant, in public, where "
                "`django_celery_beat_periodictask` is never created."
            ),
            fix_summary=f"add `{_BEAT}` to SHARED_APPS as well (or only there)",
            severity="warning",
            prediction=Prediction(
                "runtime", None, 'relation "django_celery_beat_periodictask" does not exist'
            ),
        )
        return
    yield Diagnostic(
        code=check.code,
        message=f"`{_BEAT}` is in SHARED_APPS only",
        location=location,
        why=(
            "one schedule serves every tenant: periodic tasks live in public, and a task beat "
            "starts runs in the public schema unless it sets its tenant itself."
        ),
        fix_summary=(
            "make the scheduled tasks tenant-aware (tenant-schemas-celery), or list "
            f"`{_BEAT}` in TENANT_APPS too for per-tenant schedules"
        ),
        severity="warning",
    )
