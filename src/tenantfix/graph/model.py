"""The project graph: settings, apps, models, relations and migrations, read statically.

Everything here is a frozen value with no I/O, so checks and the simulation are pure functions
of a :class:`ProjectGraph`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

USER_MODEL_SETTING = "settings.AUTH_USER_MODEL"


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A place in a file; ``path`` is POSIX and relative to the project root when inside it."""

    path: str
    line: int
    column: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class AppListEntry:
    """One string of an app list, exactly as written (``'users'``, ``'apps.users.apps.UsersConfig'``)."""

    value: str
    location: Location


@dataclass(frozen=True, slots=True)
class AppList:
    """A resolved app list setting (SHARED_APPS, TENANT_APPS, INSTALLED_APPS, a TENANT_TYPES list).

    ``origin`` is the literal that first built the list: where a codemod adds entries, found
    by ``origin_name`` (the variable assigned there, e.g. ``SHARED_APPS`` or ``BASE_SHARED``).
    ``key_path`` locates that literal inside the assigned value (``("public", "APPS")`` for
    ``TENANT_TYPES``), empty for a plain ``NAME = [...]``.
    """

    name: str
    entries: tuple[AppListEntry, ...]
    origin: Location | None
    key_path: tuple[str, ...] = ()
    derived: bool = False  # built from other lists (INSTALLED_APPS = SHARED_APPS + ...)
    ordered: bool = True  # False when built through a set(): Django sees an arbitrary order
    origin_name: str | None = None  # the variable assigned at ``origin`` (may differ from name)
    assigned_at: Location | None = None  # the statement that last bound the list's name
    complete: bool = True  # False: some entries are only known at run time (see unknown)

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(e.value for e in self.entries)

    def find(self, values: set[str] | frozenset[str]) -> AppListEntry | None:
        return next((e for e in self.entries if e.value in values), None)


@dataclass(frozen=True, slots=True)
class SettingValue:
    """A scalar setting (a string) and where it was assigned."""

    value: str
    location: Location


@dataclass(frozen=True, slots=True)
class UnknownSetting:
    """A setting tenantfix could not read statically, and what made it so (file:line, why)."""

    name: str
    reason: str
    location: Location

    def __str__(self) -> str:
        return f"{self.location}: {self.name}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ProjectSettings:
    """The settings tenantfix cares about, resolved without executing them."""

    module: str
    path: str  # the settings module's file, relative to the root
    files: tuple[str, ...]  # every file the resolution read, in order
    shared_apps: AppList | None = None
    tenant_apps: AppList | None = None
    installed_apps: AppList | None = None
    tenant_types: tuple[tuple[str, AppList], ...] = ()  # multi-type: (type name, APPS)
    has_multi_type_tenants: bool = False
    auth_user_model: SettingValue | None = None
    tenant_model: SettingValue | None = None
    tenant_domain_model: SettingValue | None = None
    database_routers: tuple[SettingValue, ...] | None = None
    database_engine: SettingValue | None = None
    # the URLconf the public schema's domain serves (django-tenants' PublicSchemaMiddleware /
    # TenantMainMiddleware use PUBLIC_SCHEMA_URLCONF, else ROOT_URLCONF) and the session backend
    public_schema_urlconf: SettingValue | None = None
    root_urlconf: SettingValue | None = None
    session_engine: SettingValue | None = None
    legacy_tenant_schemas: bool = False  # django-tenant-schemas (``tenant_schemas``)
    # Settings only known at run time in this configuration: never read as "not set".
    unknown: tuple[UnknownSetting, ...] = ()

    def is_unknown(self, name: str) -> bool:
        return any(u.name == name for u in self.unknown)

    @property
    def user_model(self) -> str:
        return self.auth_user_model.value if self.auth_user_model else "auth.User"

    def public_apps(self) -> AppList | None:
        """The list that decides what migrates in public."""
        if self.has_multi_type_tenants:
            return dict(self.tenant_types).get("public")
        return self.shared_apps

    def tenant_app_lists(self) -> tuple[AppList, ...]:
        """The lists that decide what migrates in tenant schemas (one per tenant type)."""
        if self.has_multi_type_tenants:
            return tuple(lst for name, lst in self.tenant_types if name != "public")
        return (self.tenant_apps,) if self.tenant_apps else ()


@dataclass(frozen=True, slots=True)
class Relation:
    """A ForeignKey / OneToOneField / ManyToManyField as written in models or a migration.

    ``target`` is the model reference normalised to ``app_label.ModelName`` when it can be
    resolved statically, or :data:`USER_MODEL_SETTING` for ``settings.AUTH_USER_MODEL``;
    ``written`` is the source text of the target (``'auth.User'``, ``User``, ``get_user_model()``).
    """

    kind: str  # "ForeignKey" | "OneToOneField" | "ManyToManyField"
    field_name: str
    target: str | None
    written: str
    location: Location

    @property
    def is_swappable_user(self) -> bool:
        return self.target == USER_MODEL_SETTING


@dataclass(frozen=True, slots=True)
class Model:
    """A concrete or abstract model class of an app."""

    app_label: str
    name: str
    location: Location
    db_table: str | None = None  # explicit Meta.db_table
    abstract: bool = False
    proxy: bool = False
    bases: tuple[str, ...] = ()
    relations: tuple[Relation, ...] = ()

    @property
    def table(self) -> str:
        return self.db_table or f"{self.app_label}_{self.name.lower()}"

    @property
    def key(self) -> str:
        return f"{self.app_label}.{self.name.lower()}"


@dataclass(frozen=True, slots=True)
class Dependency:
    """A migration dependency; ``swappable`` marks ``swappable_dependency(settings.X)``."""

    app_label: str
    name: str  # "__first__" for swappable / __first__ dependencies
    swappable: str | None = None  # the setting name, e.g. "AUTH_USER_MODEL"


@dataclass(frozen=True, slots=True)
class CreatedModel:
    """A ``CreateModel`` operation: the table it makes and the relations it declares."""

    name: str
    db_table: str | None
    relations: tuple[Relation, ...] = ()
    proxy: bool = False
    managed: bool = True
    swappable: str | None = None  # options["swappable"]: no table when the setting swaps it out

    def table(self, app_label: str) -> str:
        return self.db_table or f"{app_label}_{self.name.lower()}"


@dataclass(frozen=True, slots=True)
class CodeOperation:
    """A ``RunPython`` or ``RunSQL`` operation and what it reads, as far as ``ast`` can follow.

    ``models`` are ``app_label.ModelName`` from ``apps.get_model(...)`` calls in the function the
    operation runs (and the same module's helpers it calls); ``tables`` the tables a RunSQL
    statement names. ``schemas`` is ``"public"`` / ``"tenant"`` when django-tenants'
    ``@tenant_migration`` limits the function to those schemas, else ``"all"``. ``complete`` is
    False when part of it could not be read (a function from another module, a computed name).
    """

    kind: str  # "RunPython" | "RunSQL"
    location: Location
    index: int  # position in ``operations``
    models: tuple[tuple[str, Location], ...] = ()
    tables: tuple[tuple[str, Location], ...] = ()
    schemas: str = "all"
    complete: bool = True
    function: str | None = None  # RunPython: the name of the function it runs


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file, read with ``ast``."""

    app_label: str
    name: str
    location: Location
    dependencies: tuple[Dependency, ...] = ()
    run_before: tuple[tuple[str, str], ...] = ()
    replaces: tuple[tuple[str, str], ...] = ()
    initial: bool = False
    created_models: tuple[CreatedModel, ...] = ()
    added_relations: tuple[
        tuple[str, Relation], ...
    ] = ()  # (model name, relation) of AddField/AlterField
    altered_tables: tuple[
        tuple[str, str | None], ...
    ] = ()  # (model name, new db_table) of AlterModelTable
    code_operations: tuple[CodeOperation, ...] = ()
    operation_kinds: tuple[str, ...] = ()  # every operation's class name, in order

    @property
    def key(self) -> tuple[str, str]:
        return (self.app_label, self.name)


@dataclass(frozen=True, slots=True)
class App:
    """An installed app (local or from the environment) and what tenantfix read of it."""

    label: str
    name: str  # the module path, ``apps.users``
    config_path: str | None = None  # ``apps.users.apps.UsersConfig`` when apps.py defines one
    path: str | None = None  # the package directory (relative to root for local apps)
    local: bool = True
    models: tuple[Model, ...] = ()
    migrations: tuple[Migration, ...] = ()
    has_migrations_module: bool = False  # a migrations package exists (maybe empty)
    models_path: str | None = None
    # git ignores its migration files ("<ignore file>:<line>: <pattern>"): they are made
    # outside the checkout, so their absence here says nothing (tenantfix.graph.ignored)
    migrations_ignored: str | None = None

    def list_values(self) -> frozenset[str]:
        """Every string that names this app in an app list (module or AppConfig path)."""
        values = {self.name}
        if self.config_path:
            values.add(self.config_path)
        return frozenset(values)

    @property
    def concrete_models(self) -> tuple[Model, ...]:
        return tuple(m for m in self.models if not m.abstract and not m.proxy)


@dataclass(frozen=True, slots=True)
class PackagesUsed:
    """Where the project's installed packages were looked for (``check`` prints it).

    ``source`` is ``"python"`` (``--python``, asked for its ``sys.path``), ``"virtual_env"``
    (``$VIRTUAL_ENV``), ``"venv"`` (a ``.venv/`` or ``venv/`` at the project or repository root)
    or ``"interpreter"`` (the one running tenantfix). Environments are read as files, never run.
    ``path`` is relative to the project root when inside it. ``bundled`` lists the labels of
    Django contrib apps taken from tenantfix's own table because no Django was found.
    """

    source: str
    path: str
    bundled: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UrlRoute:
    """A URL pattern that serves Django's admin or login views (``admin.site.urls``,
    ``include("django.contrib.auth.urls")``, ``auth_views.LoginView``, ``include("allauth.urls")``)."""

    kind: str  # "admin" | "auth"
    written: str
    location: Location


@dataclass(frozen=True, slots=True)
class UrlConf:
    """A URLconf module named by ROOT_URLCONF / PUBLIC_SCHEMA_URLCONF, read with ``ast`` with
    the project's own modules it includes. ``path`` is None when the module was not found in the
    project (an installed package, or a name only known at run time): its routes are unknown."""

    module: str
    path: str | None
    routes: tuple[UrlRoute, ...] = ()


@dataclass(frozen=True, slots=True)
class ProjectGraph:
    """Settings plus every app they name; the single input of checks and the simulation."""

    root: str
    settings: ProjectSettings
    apps: tuple[App, ...] = ()
    unresolved_apps: tuple[AppListEntry, ...] = ()  # list entries we could not locate
    source: str = "static"  # "static" or "probe" (the project's interpreter was asked)
    packages: PackagesUsed | None = None  # where installed apps were looked for
    urlconfs: tuple[UrlConf, ...] = ()  # every URLconf module a configuration names
    _by_label: dict[str, App] = field(default_factory=dict, compare=False, repr=False)
    _by_value: dict[str, App] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_label.update({a.label: a for a in self.apps})
        self._by_value.update({v: a for a in reversed(self.apps) for v in a.list_values()})

    def app(self, label: str) -> App | None:
        return self._by_label.get(label)

    def urlconf(self, module: str) -> UrlConf | None:
        return next((u for u in self.urlconfs if u.module == module), None)

    def app_for_entry(self, value: str) -> App | None:
        return self._by_value.get(value)

    def app_for_model(self, model_ref: str) -> App | None:
        label = model_ref.partition(".")[0]
        return self.app(label)

    @property
    def user_app(self) -> App | None:
        return self.app_for_model(self.settings.user_model)

    def in_list(self, app: App, app_list: AppList | None) -> bool:
        if app_list is None:
            return False
        values = app.list_values()  # once, not once per entry (a 500-app list made it O(n^2))
        return any(e.value in values for e in app_list.entries)

    def is_shared(self, app: App) -> bool:
        return self.in_list(app, self.settings.public_apps())

    def is_tenant(self, app: App) -> bool:
        return any(self.in_list(app, lst) for lst in self.settings.tenant_app_lists())

    def resolve_model(self, ref: str) -> str:
        """``settings.AUTH_USER_MODEL`` → the configured ``app_label.modelname`` (lower case)."""
        if ref == USER_MODEL_SETTING:
            ref = self.settings.user_model
        label, _, name = ref.partition(".")
        return f"{label}.{name.lower()}"

    def model(self, ref: str) -> Model | None:
        key = self.resolve_model(ref)
        app = self.app(key.partition(".")[0])
        if app is None:
            return None
        return next((m for m in app.models if m.key == key), None)

    # Unknown is not absent: an entry we could not locate may be any app, with any models.
    def unresolved_in(self, app_list: AppList | None) -> tuple[AppListEntry, ...]:
        """Entries of ``app_list`` that name no located app (their models are unknown)."""
        if app_list is None or not self.unresolved_apps:
            return ()
        missing = {e.value for e in self.unresolved_apps}
        return tuple(e for e in app_list.entries if e.value in missing)

    def may_be_unresolved(self, label: str) -> bool:
        """True when no located app has ``label`` but some entry could not be located: the app
        may be installed (one of those entries) and its contents are unknown."""
        return self.app(label) is None and bool(self.unresolved_apps)
