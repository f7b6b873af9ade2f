"""The django-tenants configuration itself is invalid: Django or django-tenants refuses it.

What breaks: every ``manage.py`` command (or ``migrate_schemas``, or the first tenant created)
stops with the error each finding quotes: SHARED_APPS or TENANT_APPS missing, TENANT_APPS empty,
TENANT_MODEL missing, or TENANT_MODEL / TENANT_DOMAIN_MODEL / AUTH_USER_MODEL not of the form
``app_label.ModelName`` or naming an app that is not installed or a model the app does not
define.

Why: ``DjangoTenantsConfig.ready()`` checks TENANT_APPS and TENANT_MODEL at start-up, its router
reads SHARED_APPS, ``DomainMixin`` has a foreign key to ``settings.TENANT_MODEL``, and Django's
``get_user_model()`` resolves AUTH_USER_MODEL through the app registry.

Only what the static reading knows for certain is reported: a setting is "missing" only when
everything was read and it is not set (never when a star import of an unreadable module could
define it), an app "not installed" only when every INSTALLED_APPS entry is known and located, a
model "not defined" only when no class or import of that name exists anywhere in the app's
package.

Example::

    # before: a model name without its app label
    TENANT_MODEL = "Client"
    # after
    TENANT_MODEL = "customers.Client"

Fix: none automatic (which app or model was meant is a human decision). ``apply`` refuses to
run on a project with this finding (exit 3): Django cannot start, so no fix can be checked.

See: https://django-tenants.readthedocs.io/en/latest/install.html
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tenantfix.checks import Check
from tenantfix.checks._app_list_fixes import settings_location
from tenantfix.graph.model import App, Location, Model, ProjectGraph, SettingValue
from tenantfix.plan import Diagnostic

# Each setting's unknown value is handled where it is read (unknown is never "missing").
check = Check(__name__, reads=frozenset({"HAS_MULTI_TYPE_TENANTS"}))

DOCS = "https://django-tenants.readthedocs.io/en/latest/install.html"
_DJANGO_TENANTS = frozenset({"django_tenants", "django_tenants.apps.DjangoTenantsConfig"})
_AUTH = frozenset({"django.contrib.auth", "django.contrib.auth.apps.AuthConfig"})


def startup_errors(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> list[Diagnostic]:
    """The TF014 findings among ``diagnostics``: with one, Django cannot run on the project."""
    return [d for d in diagnostics if d.code == check.code]


@check.register
def run(graph: ProjectGraph) -> Iterator[Diagnostic]:
    settings = graph.settings
    installed = settings.installed_apps
    if installed is None:
        return  # unknown, or not set (Django then loads no app at all: TF008's business)
    values = set(installed.values)
    if values & _DJANGO_TENANTS and not settings.legacy_tenant_schemas:
        yield from _tenant_lists(graph)
        if settings.tenant_model is None and not settings.is_unknown("TENANT_MODEL"):
            yield _diagnostic(
                settings_location(settings),
                "TENANT_MODEL is not defined",
                "Django stops at start-up (every manage.py command): importing "
                "django_tenants.models (TenantMixin, DomainMixin) reads settings.TENANT_MODEL and "
                "fails with `AttributeError: 'Settings' object has no attribute 'TENANT_MODEL'`.",
                "set TENANT_MODEL = 'app_label.ModelName' to your TenantMixin model",
            )
        for name, setting in (
            ("TENANT_MODEL", settings.tenant_model),
            ("TENANT_DOMAIN_MODEL", settings.tenant_domain_model),
        ):
            if setting is not None:
                yield from _tenant_model_reference(graph, name, setting)
    if values & _AUTH and settings.auth_user_model is not None:
        yield from _user_model_reference(graph, settings.auth_user_model)


def _tenant_lists(graph: ProjectGraph) -> Iterator[Diagnostic]:
    settings = graph.settings
    if settings.has_multi_type_tenants:
        return  # TENANT_TYPES replaces both lists
    if settings.shared_apps is None and not settings.is_unknown("SHARED_APPS"):
        yield _diagnostic(
            settings_location(settings),
            "SHARED_APPS is not defined",
            "django-tenants' router reads SHARED_APPS to decide what migrates in the public "
            "schema: `makemigrations` and `migrate_schemas` stop with "
            "`AttributeError: 'Settings' object has no attribute 'SHARED_APPS'`.",
            "define SHARED_APPS (django_tenants first, the tenant app, and the apps whose tables "
            "belong in public)",
        )
    tenant_apps = settings.tenant_apps
    if tenant_apps is None and not settings.is_unknown("TENANT_APPS"):
        yield _diagnostic(
            settings_location(settings),
            "TENANT_APPS is not defined",
            "django-tenants refuses to start (every manage.py command): "
            "`ImproperlyConfigured: TENANT_APPS setting not set`.",
            "define TENANT_APPS with the apps whose tables each tenant schema gets",
        )
    elif tenant_apps is not None and tenant_apps.complete and not tenant_apps.entries:
        yield _diagnostic(
            tenant_apps.assigned_at or tenant_apps.origin or settings_location(settings),
            "TENANT_APPS is empty",
            "django-tenants refuses to start (every manage.py command): "
            "`ImproperlyConfigured: TENANT_APPS is empty. Maybe you don't need this app?`.",
            "list the apps whose tables each tenant schema gets in TENANT_APPS (or, with no "
            "tenant-specific apps, drop django-tenants)",
        )


def _split(value: str) -> str | None:
    """The error Django's ``apps.get_model(value)`` raises for a malformed value, else None."""
    try:
        _label, _model = value.split(".")
    except ValueError as exc:
        return str(exc)
    return None


def _tenant_model_reference(
    graph: ProjectGraph, name: str, setting: SettingValue
) -> Iterator[Diagnostic]:
    value = setting.value
    when = (
        "Django's system check stops every command (DomainMixin's foreign key: fields.E300) and "
        "django-tenants' get_tenant_model() raises"
        if name == "TENANT_MODEL"
        else "creating a tenant or routing a request (get_tenant_domain_model()) raises"
    )
    split_error = _split(value)
    if split_error is not None:
        yield _diagnostic(
            setting.location,
            f"{name} = {value!r} is not of the form 'app_label.ModelName'",
            f"{when} `ValueError: {split_error}`.",
            f"set {name} to 'app_label.ModelName'",
        )
        return
    label, model = value.split(".")
    missing = _missing(graph, label, model)
    if missing == "app":
        yield _diagnostic(
            setting.location,
            f"{name} = {value!r} names app {label!r}, which is not installed",
            f"{when} `LookupError: No installed app with label '{label}'.`.",
            f"install the app that defines the model, or correct {name}",
        )
    elif missing == "model":
        yield _diagnostic(
            setting.location,
            f"{name} = {value!r}: app {label!r} defines no model {model!r}",
            f"{when} `LookupError: App '{label}' doesn't have a '{model}' model.`.",
            f"correct {name} to a model of {label!r}",
        )


def _user_model_reference(graph: ProjectGraph, setting: SettingValue) -> Iterator[Diagnostic]:
    value = setting.value
    if _split(value) is not None:
        yield _diagnostic(
            setting.location,
            f"AUTH_USER_MODEL = {value!r} is not of the form 'app_label.ModelName'",
            "Django refuses to start (every manage.py command): `ImproperlyConfigured: "
            "AUTH_USER_MODEL must be of the form 'app_label.model_name'`.",
            "set AUTH_USER_MODEL to 'app_label.ModelName' (the label, not the module path)",
        )
        return
    label, model = value.split(".")
    missing = _missing(graph, label, model)
    if missing is not None:
        what = (
            f"app {label!r} is not installed"
            if missing == "app"
            else f"app {label!r} defines no model {model!r}"
        )
        yield _diagnostic(
            setting.location,
            f"AUTH_USER_MODEL = {value!r} but {what}",
            "Django refuses to start (every manage.py command): `ImproperlyConfigured: "
            f"AUTH_USER_MODEL refers to model '{value}' that has not been installed`.",
            "install the user app, or correct AUTH_USER_MODEL to its label and model",
        )


def _missing(graph: ProjectGraph, label: str, model: str) -> str | None:
    """ "app" or "model" when certainly absent; None when present or not known for certain."""
    app = graph.app(label)
    if app is None:
        # Any entry we could not locate might carry this label (an AppConfig sets any label),
        # and so might an INSTALLED_APPS entry only known at run time.
        installed = graph.settings.installed_apps
        complete = installed is not None and installed.complete
        return "app" if complete and not graph.may_be_unresolved(label) else None
    if any(m.name.lower() == model.lower() for m in app.models):
        return None
    return "model" if _certainly_undefined(graph, app, model) else None


def _certainly_undefined(graph: ProjectGraph, app: App, model: str) -> bool:
    """No class and no import binding ``model`` in any module of the app's package.

    A model may be defined in any module the app imports, re-exported by an import, or live
    in another app with ``Meta.app_label``: a class or import of that name anywhere in the
    package, or any model of that name in the project, keeps it unknown.
    """
    wanted = model.lower()
    for other in graph.apps:
        for found in other.models:
            if found.name.lower() == wanted and _meta_app_label(graph, found) in (app.label, None):
                return False
    if app.path is None:
        return False
    directory = _absolute(graph, app.path)
    if not directory.is_dir():
        return False
    for path in directory.rglob("*.py"):
        if "migrations" in path.relative_to(directory).parts:
            continue
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (OSError, SyntaxError, ValueError):
            return False  # a module we cannot read might define it
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name.lower() == wanted:
                return False
            if isinstance(node, ast.ImportFrom | ast.Import):
                for alias in node.names:
                    bound = alias.asname or alias.name.rpartition(".")[2]
                    if alias.name == "*" or bound.lower() == wanted:
                        return False
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id.lower() == wanted for t in node.targets
            ):
                return False  # Model = type("Model", ...) or an alias
    return True


def _absolute(graph: ProjectGraph, path: str) -> Path:
    return Path(path) if Path(path).is_absolute() else Path(graph.root) / path


def _meta_app_label(graph: ProjectGraph, model: Model) -> str | None:
    """``Meta.app_label`` of a model class; "" when it sets none, None when it cannot be read."""
    try:
        tree = ast.parse(_absolute(graph, model.location.path).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.lineno == model.location.line:
            for meta in node.body:
                if not (isinstance(meta, ast.ClassDef) and meta.name == "Meta"):
                    continue
                for stmt in meta.body:
                    if isinstance(stmt, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == "app_label" for t in stmt.targets
                    ):
                        value = stmt.value
                        if isinstance(value, ast.Constant) and isinstance(value.value, str):
                            return value.value
                        return None
            return ""
    return None


def _diagnostic(location: Location, message: str, why: str, fix: str) -> Diagnostic:
    return Diagnostic(
        code=check.code,
        message=message,
        location=location,
        why=why + f" See {DOCS}.",
        fix_summary=fix,
    )
