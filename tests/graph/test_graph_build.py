"""build_graph on the write-up project, on contrib apps from the venv and on small tmp projects."""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from tenantfix.discover import discover
from tenantfix.graph.build import build_graph
from tenantfix.graph.model import (
    USER_MODEL_SETTING,
    AppList,
    AppListEntry,
    Location,
    ProjectSettings,
)
from tenantfix.settings import resolve_settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _settings(installed: list[str], **kw: object) -> ProjectSettings:
    entries = tuple(
        AppListEntry(v, Location("proj/settings.py", i + 1)) for i, v in enumerate(installed)
    )
    lst = AppList("INSTALLED_APPS", entries, Location("proj/settings.py", 1))
    return ProjectSettings(
        module="proj.settings", path="proj/settings.py", files=(), installed_apps=lst, **kw
    )  # type: ignore[arg-type]


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.fixture(scope="module")
def writeup_graph(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("w") / "writeup_project"
    shutil.copytree(FIXTURES / "writeup_project", root)
    return build_graph(root, resolve_settings(discover(root)))


def test_writeup_apps_are_all_located(writeup_graph):
    labels = [a.label for a in writeup_graph.apps]
    assert writeup_graph.unresolved_apps == ()
    assert labels[:4] == ["django_tenants", "admin", "auth", "contenttypes"]
    assert {"users", "tenants", "audit", "django_celery_beat"} <= set(labels)


def test_local_app_paths_are_relative_and_installed_absolute(writeup_graph):
    users = writeup_graph.app("users")
    assert users.local and users.path == "users" and users.models_path == "users/models.py"
    assert users.migrations[0].location.path == "users/migrations/0001_initial.py"
    admin = writeup_graph.app("admin")
    assert not admin.local and Path(admin.path).is_absolute()
    assert admin.config_path == "django.contrib.admin.apps.AdminConfig"
    assert admin.name == "django.contrib.admin"


def test_unmigrated_app_has_models_and_no_migrations(writeup_graph):
    audit = writeup_graph.app("audit")
    assert not audit.has_migrations_module and audit.migrations == ()
    [entry] = audit.models
    [actor] = entry.relations
    assert actor.target == USER_MODEL_SETTING and actor.written == "settings.AUTH_USER_MODEL"


def test_admin_swappable_dependency_points_at_user_app(writeup_graph):
    first = writeup_graph.app("admin").migrations[0]
    assert first.name == "0001_initial"
    swappable = [d for d in first.dependencies if d.swappable]
    assert [(d.app_label, d.name, d.swappable) for d in swappable] == [
        ("users", "__first__", "AUTH_USER_MODEL")
    ]
    [logentry] = first.created_models
    assert logentry.db_table == "django_admin_log"
    assert {r.field_name: r.target for r in logentry.relations} == {
        "content_type": "contenttypes.ContentType",
        "user": USER_MODEL_SETTING,
    }


def test_user_model_relations_include_inherited_ones(writeup_graph):
    user = writeup_graph.model("users.User")
    assert user is not None and user.table == "users_user"
    targets = {r.field_name: r.target for r in user.relations}
    assert targets["tenant"] == "tenants.Tenant"
    assert targets["groups"] == "auth.Group"  # from PermissionsMixin via AbstractUser
    assert writeup_graph.model("auth.User").relations  # contrib models are read too


def test_auth_user_is_marked_swappable_in_its_migration(writeup_graph):
    auth0001 = writeup_graph.app("auth").migrations[0]
    user = next(c for c in auth0001.created_models if c.name == "User")
    assert user.swappable == "AUTH_USER_MODEL"


def test_domain_mixin_target_follows_tenant_model_setting(writeup_graph):
    mixin = writeup_graph.model("django_tenants.DomainMixin")
    assert mixin is not None and mixin.abstract
    assert mixin.relations[0].target == "tenants.Tenant"
    assert mixin.relations[0].written == "settings.TENANT_MODEL"


def test_appconfig_path_label_relations_and_layouts(tmp_path):
    _write(
        tmp_path,
        {
            "manage.py": "",
            "apps/__init__.py": "",
            "apps/users/__init__.py": "",
            "apps/users/apps.py": """
                from django.apps import AppConfig
                class UsersConfig(AppConfig):
                    name = "apps.users"
                    label = "accounts"
            """,
            "apps/users/models.py": """
                from django.contrib.auth.models import AbstractUser
                class User(AbstractUser):
                    class Meta:
                        db_table = "usuarios"
            """,
            "apps/users/migrations/__init__.py": "",
            "shop/__init__.py": "",
            "shop/models/__init__.py": "from .orders import *\n",
            "shop/models/orders.py": """
                from django.conf import settings
                from django.contrib.auth import get_user_model
                from django.contrib.auth.models import User as AuthUser
                from django.db import models
                from apps.users.models import User
                Account = get_user_model()

                class Stamped(models.Model):
                    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
                    class Meta:
                        abstract = True

                class Order(Stamped):
                    buyer = models.ForeignKey(User, on_delete=models.CASCADE)
                    seller = models.ForeignKey("accounts.User", on_delete=models.CASCADE)
                    legacy = models.ForeignKey(AuthUser, on_delete=models.CASCADE)
                    viewer = models.ForeignKey(get_user_model(), on_delete=models.CASCADE)
                    owner = models.OneToOneField(Account, on_delete=models.CASCADE)
                    parent = models.ForeignKey("self", null=True, on_delete=models.CASCADE)
                    lines = models.ManyToManyField("Line")

                class Line(models.Model):
                    pass

                class SpecialOrder(Order):
                    pass
            """,
            "shop/migrations/__init__.py": "",
            "shop/migrations/0001_initial.py": """
                from django.conf import settings
                from django.db import migrations, models

                class Migration(migrations.Migration):
                    initial = True
                    dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]
                    replaces = [("shop", "0001_old")]
                    run_before = [("other", "0001_initial")]
                    operations = [
                        migrations.CreateModel(
                            name="Order",
                            fields=[
                                ("id", models.AutoField(primary_key=True)),
                                ("buyer", models.ForeignKey(on_delete=models.CASCADE, to=settings.AUTH_USER_MODEL)),
                                ("legacy", models.ForeignKey(on_delete=models.CASCADE, to="auth.user")),
                            ],
                            options={"db_table": "orders", "managed": True},
                        ),
                        migrations.AddField("order", "seller", models.ForeignKey(on_delete=models.CASCADE, to="accounts.user")),
                        migrations.AlterModelTable(name="order", table="shop_orders"),
                    ]
            """,
        },
    )
    settings = _settings(
        [
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "apps.users.apps.UsersConfig",
            "shop",
            "missing_app",
        ],
        auth_user_model=None,
    )
    graph = build_graph(tmp_path, settings)
    assert [e.value for e in graph.unresolved_apps] == ["missing_app"]
    users = graph.app("accounts")
    assert users is not None and users.name == "apps.users"
    assert users.config_path == "apps.users.apps.UsersConfig"
    assert users.path == "apps/users" and users.has_migrations_module and users.migrations == ()
    assert graph.model("accounts.User").table == "usuarios"

    shop = graph.app("shop")
    assert shop.models_path == "shop/models/__init__.py"
    order = graph.model("shop.Order")
    rels = {r.field_name: (r.target, r.written) for r in order.relations}
    assert rels == {
        "created_by": (USER_MODEL_SETTING, "settings.AUTH_USER_MODEL"),
        "buyer": ("accounts.User", "User"),
        "seller": ("accounts.User", '"accounts.User"'),
        "legacy": ("auth.User", "AuthUser"),
        "viewer": (USER_MODEL_SETTING, "get_user_model()"),
        "owner": (USER_MODEL_SETTING, "Account"),
        "parent": ("shop.Order", '"self"'),
        "lines": ("shop.Line", '"Line"'),
    }
    assert order.relations[0].location.path == "shop/models/orders.py"
    special = graph.model("shop.SpecialOrder")
    assert [(r.field_name, r.target) for r in special.relations] == [("order_ptr", "shop.Order")]

    [mig] = shop.migrations
    assert (
        mig.initial
        and mig.replaces == (("shop", "0001_old"),)
        and mig.run_before == (("other", "0001_initial"),)
    )
    # AUTH_USER_MODEL unset: the swappable dependency points at auth
    assert [(d.app_label, d.name, d.swappable) for d in mig.dependencies] == [
        ("auth", "__first__", "AUTH_USER_MODEL")
    ]
    [order_cm] = mig.created_models
    assert order_cm.table("shop") == "orders"
    assert [(r.field_name, r.target) for r in order_cm.relations] == [
        ("buyer", USER_MODEL_SETTING),
        ("legacy", "auth.user"),
    ]
    assert [(m, r.field_name, r.target) for m, r in mig.added_relations] == [
        ("order", "seller", "accounts.user")
    ]
    assert mig.altered_tables == (("order", "shop_orders"),)


def test_missing_installed_apps_falls_back_to_the_lists(tmp_path):
    _write(tmp_path, {"core/__init__.py": "", "core/models.py": ""})
    loc = Location("proj/settings.py", 1)
    shared = AppList(
        "SHARED_APPS", (AppListEntry("django_tenants", loc), AppListEntry("core", loc)), loc
    )
    tenant = AppList(
        "TENANT_APPS", (AppListEntry("core", loc), AppListEntry("django.contrib.auth", loc)), loc
    )
    settings = ProjectSettings(
        "proj.settings", "proj/settings.py", (), shared_apps=shared, tenant_apps=tenant
    )
    graph = build_graph(tmp_path, settings)
    assert [a.label for a in graph.apps] == ["django_tenants", "core", "auth"]


def test_other_interpreter_sys_path_is_used(tmp_path):
    # The system interpreter has no Django: contrib apps come from the bundled table, and a
    # third-party app stays unresolved (unknown)
    system_python = shutil.which("python3", path="/usr/bin")
    if system_python is None or Path(system_python).resolve() == Path(sys.executable).resolve():
        pytest.skip("no separate system interpreter")
    _write(tmp_path, {"core/__init__.py": ""})
    graph = build_graph(
        tmp_path, _settings(["django.contrib.auth", "core", "django_tenants"]), python=system_python
    )
    assert [a.label for a in graph.apps] == ["auth", "core"]
    assert [e.value for e in graph.unresolved_apps] == ["django_tenants"]
    assert graph.packages is not None
    assert (graph.packages.source, graph.packages.bundled) == ("python", ("auth",))
