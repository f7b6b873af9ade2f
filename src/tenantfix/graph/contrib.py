"""Django's contrib apps as data: what the checks and the simulation read of them.

Used only when ``django`` itself cannot be found (tenantfix installed with pipx or uvx, no
project virtualenv at hand): when Django is found, its real files are read and stay the source
of truth. The table is what :mod:`tenantfix.graph.read_models` and
:mod:`tenantfix.graph.read_migrations` read from Django 5.2's files; the models' relations and
the migrations that create tables have not changed from Django 2.2 to 6.0
(tests/graph/test_contrib_table.py compares the table with the installed Django, and with any
other Django version it finds). Migrations that only alter columns are listed by name and
dependencies (the latest Django's set: a project's migration may depend on any of them).
"""

from __future__ import annotations

from typing import NamedTuple

from tenantfix.graph.model import (
    USER_MODEL_SETTING,
    App,
    CreatedModel,
    Dependency,
    Location,
    Migration,
    Model,
    Relation,
)
from tenantfix.graph.read_models import TargetResolver

USER = "AUTH_USER_MODEL"  # a swappable dependency / relation on settings.AUTH_USER_MODEL
PATH_PREFIX = "<bundled>/"  # locations of table apps: no file of the project's was read


class Rel(NamedTuple):
    """A relation field. ``target`` is ``app_label.Model`` or ``settings.AUTH_USER_MODEL``;
    ``via`` names the models module a class target is imported from: the reader resolves it
    only when that app is installed (``ForeignKey(ContentType)``), as Django would fail then."""

    kind: str
    field: str
    target: str
    written: str
    via: str = ""


class ModelSpec(NamedTuple):
    name: str
    db_table: str | None = None
    abstract: bool = False
    bases: tuple[str, ...] = ("django.db.models.Model",)
    relations: tuple[Rel, ...] = ()


class CreateSpec(NamedTuple):
    name: str
    db_table: str | None = None
    swappable: str | None = None
    relations: tuple[Rel, ...] = ()


class MigrationSpec(NamedTuple):
    """``dependencies``: ``(app_label, name)`` pairs; ``(USER, "__first__")`` is
    ``swappable_dependency(settings.AUTH_USER_MODEL)``."""

    name: str
    dependencies: tuple[tuple[str, str], ...] = ()
    created: tuple[CreateSpec, ...] = ()


class ContribApp(NamedTuple):
    name: str  # the module, ``django.contrib.admin``
    configs: tuple[str, ...]  # AppConfig classes in apps.py, the default one first
    models: tuple[ModelSpec, ...] = ()
    migrations: tuple[MigrationSpec, ...] = ()

    @property
    def label(self) -> str:
        return self.name.rpartition(".")[2]


_CT = "django.contrib.contenttypes.models"
_SITES = "django.contrib.sites.models"
_USER_REL_MODEL = Rel("ForeignKey", "user", USER_MODEL_SETTING, "settings.AUTH_USER_MODEL")
_CT_REL_MODEL = Rel("ForeignKey", "content_type", "contenttypes.ContentType", "ContentType", _CT)
_PERMISSIONS = Rel("ManyToManyField", "user_permissions", "auth.Permission", "Permission")
_GROUPS = Rel("ManyToManyField", "groups", "auth.Group", "Group")

TABLE: dict[str, ContribApp] = {
    "django.contrib.admin": ContribApp(
        "django.contrib.admin",
        ("AdminConfig", "SimpleAdminConfig"),
        models=(
            ModelSpec("LogEntry", "django_admin_log", relations=(_USER_REL_MODEL, _CT_REL_MODEL)),
        ),
        migrations=(
            MigrationSpec(
                "0001_initial",
                ((USER, "__first__"), ("contenttypes", "__first__")),
                (
                    CreateSpec(
                        "LogEntry",
                        "django_admin_log",
                        relations=(
                            Rel(
                                "ForeignKey",
                                "content_type",
                                "contenttypes.ContentType",
                                '"contenttypes.ContentType"',
                            ),
                            _USER_REL_MODEL,
                        ),
                    ),
                ),
            ),
            MigrationSpec("0002_logentry_remove_auto_add", (("admin", "0001_initial"),)),
            MigrationSpec(
                "0003_logentry_add_action_flag_choices",
                (("admin", "0002_logentry_remove_auto_add"),),
            ),
        ),
    ),
    "django.contrib.auth": ContribApp(
        "django.contrib.auth",
        ("AuthConfig",),
        models=(
            ModelSpec("Permission", relations=(_CT_REL_MODEL,)),
            ModelSpec(
                "Group",
                relations=(Rel("ManyToManyField", "permissions", "auth.Permission", "Permission"),),
            ),
            ModelSpec("PermissionsMixin", abstract=True, relations=(_GROUPS, _PERMISSIONS)),
            # relations as declared; groups/user_permissions reach these by inheritance
            ModelSpec(
                "AbstractUser",
                abstract=True,
                bases=("auth.AbstractBaseUser", "auth.PermissionsMixin"),
            ),
            ModelSpec("User", bases=("auth.AbstractUser",)),
        ),
        migrations=(
            MigrationSpec(
                "0001_initial",
                (("contenttypes", "__first__"),),
                (
                    CreateSpec(
                        "Permission",
                        relations=(
                            Rel(
                                "ForeignKey",
                                "content_type",
                                "contenttypes.ContentType",
                                '"contenttypes.ContentType"',
                            ),
                        ),
                    ),
                    CreateSpec(
                        "Group",
                        relations=(
                            Rel(
                                "ManyToManyField",
                                "permissions",
                                "auth.Permission",
                                '"auth.Permission"',
                            ),
                        ),
                    ),
                    CreateSpec(
                        "User",
                        swappable=USER,
                        relations=(
                            Rel("ManyToManyField", "groups", "auth.Group", '"auth.Group"'),
                            Rel(
                                "ManyToManyField",
                                "user_permissions",
                                "auth.Permission",
                                '"auth.Permission"',
                            ),
                        ),
                    ),
                ),
            ),
            MigrationSpec("0002_alter_permission_name_max_length", (("auth", "0001_initial"),)),
            MigrationSpec(
                "0003_alter_user_email_max_length",
                (("auth", "0002_alter_permission_name_max_length"),),
            ),
            MigrationSpec(
                "0004_alter_user_username_opts", (("auth", "0003_alter_user_email_max_length"),)
            ),
            MigrationSpec(
                "0005_alter_user_last_login_null", (("auth", "0004_alter_user_username_opts"),)
            ),
            MigrationSpec(
                "0006_require_contenttypes_0002",
                (
                    ("auth", "0005_alter_user_last_login_null"),
                    ("contenttypes", "0002_remove_content_type_name"),
                ),
            ),
            MigrationSpec(
                "0007_alter_validators_add_error_messages",
                (("auth", "0006_require_contenttypes_0002"),),
            ),
            MigrationSpec(
                "0008_alter_user_username_max_length",
                (("auth", "0007_alter_validators_add_error_messages"),),
            ),
            MigrationSpec(
                "0009_alter_user_last_name_max_length",
                (("auth", "0008_alter_user_username_max_length"),),
            ),
            MigrationSpec(
                "0010_alter_group_name_max_length",
                (("auth", "0009_alter_user_last_name_max_length"),),
            ),
            MigrationSpec(
                "0011_update_proxy_permissions",
                (
                    ("auth", "0010_alter_group_name_max_length"),
                    ("contenttypes", "0002_remove_content_type_name"),
                ),
            ),
            MigrationSpec(
                "0012_alter_user_first_name_max_length",
                (("auth", "0011_update_proxy_permissions"),),
            ),
        ),
    ),
    "django.contrib.contenttypes": ContribApp(
        "django.contrib.contenttypes",
        ("ContentTypesConfig",),
        models=(ModelSpec("ContentType", "django_content_type"),),
        migrations=(
            MigrationSpec("0001_initial", (), (CreateSpec("ContentType", "django_content_type"),)),
            MigrationSpec("0002_remove_content_type_name", (("contenttypes", "0001_initial"),)),
        ),
    ),
    "django.contrib.sessions": ContribApp(
        "django.contrib.sessions",
        ("SessionsConfig",),
        models=(ModelSpec("Session", "django_session", bases=("sessions.AbstractBaseSession",)),),
        migrations=(MigrationSpec("0001_initial", (), (CreateSpec("Session", "django_session"),)),),
    ),
    "django.contrib.sites": ContribApp(
        "django.contrib.sites",
        ("SitesConfig",),
        models=(ModelSpec("Site", "django_site"),),
        migrations=(
            MigrationSpec("0001_initial", (), (CreateSpec("Site", "django_site"),)),
            MigrationSpec("0002_alter_domain_unique", (("sites", "0001_initial"),)),
        ),
    ),
    "django.contrib.flatpages": ContribApp(
        "django.contrib.flatpages",
        ("FlatPagesConfig",),
        models=(
            ModelSpec(
                "FlatPage",
                "django_flatpage",
                relations=(Rel("ManyToManyField", "sites", "sites.Site", "Site", _SITES),),
            ),
        ),
        migrations=(
            MigrationSpec(
                "0001_initial",
                (("sites", "0001_initial"),),
                (
                    CreateSpec(
                        "FlatPage",
                        "django_flatpage",
                        relations=(Rel("ManyToManyField", "sites", "sites.Site", '"sites.Site"'),),
                    ),
                ),
            ),
        ),
    ),
    "django.contrib.redirects": ContribApp(
        "django.contrib.redirects",
        ("RedirectsConfig",),
        models=(
            ModelSpec(
                "Redirect",
                "django_redirect",
                relations=(Rel("ForeignKey", "site", "sites.Site", "Site", _SITES),),
            ),
        ),
        migrations=(
            MigrationSpec(
                "0001_initial",
                (("sites", "0001_initial"),),
                (
                    CreateSpec(
                        "Redirect",
                        "django_redirect",
                        relations=(Rel("ForeignKey", "site", "sites.Site", '"sites.Site"'),),
                    ),
                ),
            ),
            # Django 4.0+; a project on 2.2-3.2 never depends on it, and it creates nothing
            MigrationSpec(
                "0002_alter_redirect_new_path_help_text", (("redirects", "0001_initial"),)
            ),
        ),
    ),
    # apps without models or migrations: only their AppConfig matters
    "django.contrib.messages": ContribApp("django.contrib.messages", ("MessagesConfig",)),
    "django.contrib.staticfiles": ContribApp("django.contrib.staticfiles", ("StaticFilesConfig",)),
    "django.contrib.humanize": ContribApp("django.contrib.humanize", ("HumanizeConfig",)),
    "django.contrib.postgres": ContribApp("django.contrib.postgres", ("PostgresConfig",)),
    "django.contrib.gis": ContribApp("django.contrib.gis", ("GISConfig",)),
    "django.contrib.admindocs": ContribApp("django.contrib.admindocs", ("AdminDocsConfig",)),
    "django.contrib.sitemaps": ContribApp("django.contrib.sitemaps", ("SiteMapsConfig",)),
    "django.contrib.syndication": ContribApp("django.contrib.syndication", ("SyndicationConfig",)),
}


def lookup(entry: str) -> tuple[ContribApp, str] | None:
    """The contrib app an INSTALLED_APPS entry names, and its AppConfig path."""
    found = TABLE.get(entry)
    if found is not None:
        return found, f"{found.name}.apps.{found.configs[0]}"
    module, _, class_name = entry.rpartition(".")
    found = TABLE.get(module.removesuffix(".apps")) if module.endswith(".apps") else None
    if found is not None and class_name in found.configs:
        return found, entry
    return None


def bundled_models(spec: ContribApp, module_labels: dict[str, str]) -> tuple[Model, ...]:
    """The app's models as :func:`tenantfix.graph.read_models.read_models` would read them."""
    resolver = TargetResolver(spec.label, {}, module_labels)
    path = f"{PATH_PREFIX}{spec.name.replace('.', '/')}/models.py"
    return tuple(
        Model(
            app_label=spec.label,
            name=m.name,
            location=Location(path, 1),
            db_table=m.db_table,
            abstract=m.abstract,
            bases=m.bases,
            relations=tuple(_relation(r, resolver, Location(path, 1)) for r in m.relations),
        )
        for m in spec.models
    )


def bundled_migrations(spec: ContribApp, user_label: str) -> tuple[Migration, ...]:
    """The app's migrations; the swappable dependency points at ``user_label``'s app."""
    resolver = TargetResolver(spec.label, {}, {})
    out: list[Migration] = []
    for mig in spec.migrations:
        path = f"{PATH_PREFIX}{spec.name.replace('.', '/')}/migrations/{mig.name}.py"
        here = Location(path, 1)
        out.append(
            Migration(
                app_label=spec.label,
                name=mig.name,
                location=here,
                dependencies=tuple(
                    Dependency(user_label, name, USER) if label == USER else Dependency(label, name)
                    for label, name in mig.dependencies
                ),
                created_models=tuple(
                    CreatedModel(
                        name=c.name,
                        db_table=c.db_table,
                        relations=tuple(_relation(r, resolver, here) for r in c.relations),
                        swappable=c.swappable,
                    )
                    for c in mig.created
                ),
            )
        )
    return tuple(out)


def bundled_app(
    spec: ContribApp,
    config_path: str,
    module_labels: dict[str, str],
    user_label: str,
    models: tuple[Model, ...] | None = None,
) -> App:
    """An :class:`App` from the table (``models`` after inheritance, when already computed)."""
    migrations = bundled_migrations(spec, user_label)
    return App(
        label=spec.label,
        name=spec.name,
        config_path=config_path,
        path=None,
        local=False,
        models=bundled_models(spec, module_labels) if models is None else models,
        migrations=migrations,
        has_migrations_module=bool(migrations),
        models_path=None,
    )


def _relation(rel: Rel, resolver: TargetResolver, location: Location) -> Relation:
    target: str | None = rel.target
    if rel.via:
        # an imported class resolves only when its app is installed (module_labels)
        target = resolver.qualified_class(f"{rel.via}.{rel.target.partition('.')[2]}")
    return Relation(rel.kind, rel.field, target, rel.written, location)
