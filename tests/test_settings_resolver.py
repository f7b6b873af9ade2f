"""The static settings resolver over every settings layout in tests/fixtures/layouts."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tenantfix.discover import discover
from tenantfix.errors import SettingsError
from tenantfix.settings import resolve_configurations, resolve_settings

LAYOUTS = Path(__file__).parent / "fixtures" / "layouts"


def resolve(name: str):
    return resolve_settings(discover(LAYOUTS / name / "before"))


def test_single_settings_file_with_derived_installed_apps():
    s = resolve("single_list")
    assert s.module == "proj.settings"
    assert s.shared_apps.values == (
        "django_tenants",
        "customers",
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
    )
    assert s.tenant_apps.values == ("users", "shop")
    # list(SHARED_APPS) + [a for a in TENANT_APPS if a not in SHARED_APPS]
    assert s.installed_apps.values == (*s.shared_apps.values, "users", "shop")
    assert s.installed_apps.derived and s.installed_apps.origin is None
    assert s.shared_apps.origin.path == "proj/settings.py"
    assert s.shared_apps.origin_name == "SHARED_APPS"
    assert s.tenant_apps.entries[0].location.line == 18
    assert s.user_model == "users.User"
    assert s.tenant_model.value == "customers.Client"
    assert s.database_engine.value == "django_tenants.postgresql_backend"
    assert [r.value for r in s.database_routers] == ["django_tenants.routers.TenantSyncRouter"]


def test_settings_package_star_import_and_augmented_assignment():
    s = resolve("settings_package")
    assert s.files == ("config/settings/dev.py", "config/settings/base.py")
    assert s.tenant_apps.values == ("shop", "users")
    # the entry added in dev.py is located in dev.py, the list's literal stays in base.py
    users = s.tenant_apps.find(frozenset({"users"}))
    assert users.location.path == "config/settings/dev.py"
    assert s.tenant_apps.origin.path == "config/settings/base.py"
    assert s.shared_apps.values[-1] == "django.contrib.sessions"
    assert s.shared_apps.origin.path == "config/settings/base.py"
    assert "users" in s.installed_apps.values


def test_tuples_and_reassignment_with_plus():
    s = resolve("tuples_concat")
    assert s.shared_apps.values[-1] == "django.contrib.sessions"
    assert s.tenant_apps.values == ("users", "shop")
    # SHARED_APPS = SHARED_APPS + (...) builds a new tuple; edits go to the first literal
    assert s.shared_apps.origin.line == 8
    assert s.shared_apps.origin_name == "SHARED_APPS"


def test_lists_in_a_separate_module_imported_by_name():
    s = resolve("lists_module")
    assert s.shared_apps.origin.path == "proj/apps_lists.py"
    assert s.tenant_apps.entries[0].location.path == "proj/apps_lists.py"
    assert s.files == ("proj/settings.py", "proj/apps_lists.py")


def test_appconfig_paths_and_append():
    s = resolve("appconfig_paths")
    assert s.tenant_apps.values == (
        "apps.users.apps.UsersConfig",
        "shop",
        "django.contrib.sessions",
    )
    assert s.user_model == "accounts.User"


def write_project(tmp_path: Path, settings: str) -> Path:
    (tmp_path / "manage.py").write_text(
        'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")\n'
    )
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "settings.py").write_text(textwrap.dedent(settings))
    return tmp_path


def test_unresolvable_list_is_unknown_with_file_line_and_name(tmp_path):
    root = write_project(
        tmp_path,
        """
        import environ
        env = environ.Env()
        SHARED_APPS = env.list("SHARED_APPS")
        TENANT_APPS = ["shop"]
        """,
    )
    resolution = resolve_configurations(discover(root))
    # unset: django-environ raises ImproperlyConfigured (Django cannot start); set: unknown
    assert len(resolution.configurations) == 1
    assert resolution.dropped and "ImproperlyConfigured" in resolution.dropped[0]
    settings = resolution.configurations[0].settings
    assert settings.shared_apps is None
    (unknown,) = settings.unknown
    assert unknown.name == "SHARED_APPS"
    assert str(unknown.location) == "proj/settings.py:4"
    assert "SHARED_APPS" in unknown.reason


def test_runtime_condition_forks_configurations(tmp_path):
    root = write_project(
        tmp_path,
        """
        import os
        SHARED_APPS = ["django_tenants"]
        TENANT_APPS = ["shop"]
        if os.environ.get("WITH_USERS"):
            TENANT_APPS += ["users"]
        """,
    )
    configs = resolve_configurations(discover(root)).configurations
    assert sorted(c.settings.tenant_apps.values for c in configs) == [("shop",), ("shop", "users")]
    with_users = next(c for c in configs if "users" in c.settings.tenant_apps.values)
    assert "proj/settings.py:5" in with_users.describe()
    assert all(not c.settings.unknown for c in configs)


def test_constant_condition_is_followed(tmp_path):
    root = write_project(
        tmp_path,
        """
        DEBUG = True
        SHARED_APPS = ["django_tenants"]
        TENANT_APPS = ["shop"]
        if DEBUG:
            TENANT_APPS += ["debug_app"]
        else:
            TENANT_APPS += ["prod_app"]
        """,
    )
    assert resolve_settings(discover(root)).tenant_apps.values == ("shop", "debug_app")


def test_syntax_error_names_the_file(tmp_path):
    root = write_project(tmp_path, "SHARED_APPS = [\n")
    with pytest.raises(SettingsError) as info:
        resolve_settings(discover(root))
    assert "proj/settings.py" in info.value.message
    assert "does not parse" in info.value.message


def test_set_idiom_marks_the_order_as_lost(tmp_path):
    root = write_project(
        tmp_path,
        """
        SHARED_APPS = ["django_tenants", "customers"]
        TENANT_APPS = ["shop"]
        INSTALLED_APPS = list(set(SHARED_APPS + TENANT_APPS))
        """,
    )
    s = resolve_settings(discover(root))
    assert not s.installed_apps.ordered
    assert s.shared_apps.ordered


def test_unpacking_a_set_ordered_list_keeps_the_order_lost(tmp_path):
    # the one-line install of tenantfix.django appended to such a project
    root = write_project(
        tmp_path,
        """
        SHARED_APPS = ["django_tenants", "customers"]
        TENANT_APPS = ["shop"]
        INSTALLED_APPS = list(set(SHARED_APPS + TENANT_APPS))
        INSTALLED_APPS = [*INSTALLED_APPS, "tenantfix.django"]
        """,
    )
    s = resolve_settings(discover(root))
    assert not s.installed_apps.ordered
    assert s.installed_apps.values[-1] == "tenantfix.django"


def test_multi_type_tenants(tmp_path):
    root = write_project(
        tmp_path,
        """
        HAS_MULTI_TYPE_TENANTS = True
        MULTI_TYPE_DATABASE_FIELD = "type"
        TENANT_TYPES = {
            "public": {"APPS": ["django_tenants", "customers"], "URLCONF": "urls_public"},
            "shop": {"APPS": ["users", "shop"], "URLCONF": "urls"},
        }
        """,
    )
    s = resolve_settings(discover(root))
    assert s.has_multi_type_tenants
    assert s.public_apps().values == ("django_tenants", "customers")
    assert s.public_apps().key_path == ("public", "APPS")
    assert [lst.values for lst in s.tenant_app_lists()] == [("users", "shop")]


def test_manage_py_discovery_errors(tmp_path):
    with pytest.raises(SettingsError, match=r"no manage\.py"):
        discover(tmp_path)
    (tmp_path / "manage.py").write_text("print('no settings default here')\n")
    with pytest.raises(SettingsError, match="--settings"):
        discover(tmp_path)


def test_multi_type_installed_apps_loop_from_the_django_tenants_docs(tmp_path):
    root = write_project(
        tmp_path,
        """
        HAS_MULTI_TYPE_TENANTS = True
        MULTI_TYPE_DATABASE_FIELD = "type"
        TENANT_TYPES = {
            "public": {"APPS": ["django_tenants", "customers", "django.contrib.auth"]},
            "shop": {"APPS": ["django.contrib.auth", "users", "shop"]},
        }
        INSTALLED_APPS = []
        for schema in TENANT_TYPES:
            INSTALLED_APPS += [app for app in TENANT_TYPES[schema]["APPS"] if app not in INSTALLED_APPS]
        """,
    )
    s = resolve_settings(discover(root))
    assert s.installed_apps.values == (
        "django_tenants",
        "customers",
        "django.contrib.auth",
        "users",
        "shop",
    )
    assert s.installed_apps.derived


def test_loop_over_a_runtime_value_makes_the_list_unknown(tmp_path):
    root = write_project(
        tmp_path,
        """
        import os
        SHARED_APPS = ["django_tenants"]
        TENANT_APPS = []
        for name in os.environ["EXTRA"].split(","):
            TENANT_APPS.append(name)
        """,
    )
    (config,) = resolve_configurations(discover(root)).configurations
    assert config.settings.is_unknown("TENANT_APPS")
    assert "for" in next(u.reason for u in config.settings.unknown if u.name == "TENANT_APPS")


def test_assigned_at_points_at_the_statement_that_binds_the_list():
    s = resolve("settings_package")
    assert s.installed_apps.assigned_at.path == "config/settings/dev.py"
    assert s.installed_apps.assigned_at.line == 8
    assert s.shared_apps.assigned_at.path == "config/settings/base.py"
