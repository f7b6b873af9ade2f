"""What RunPython/RunSQL operations read (tenantfix.graph.read_code_operations), inline."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tenantfix.graph.read_migrations import read_migration
from tenantfix.graph.read_models import TargetResolver


def _read(tmp_path: Path, source: str):
    path = tmp_path / "0002_data.py"
    path.write_text(textwrap.dedent(source))
    resolver = TargetResolver("core", {}, {})
    migration = read_migration(path, "core/migrations/0002_data.py", "core", "core", resolver, {})
    assert migration is not None
    return migration


HEAD = """
from django.db import migrations
from django_tenants.utils import tenant_migration
from elsewhere import imported_func
"""


def test_get_model_both_spellings_and_helpers(tmp_path):
    m = _read(
        tmp_path,
        HEAD
        + """
def _helper(apps):
    return apps.get_model("shop.Order").objects.exists()

def forwards(apps, schema_editor):
    Setting = apps.get_model("core", "Setting")
    _helper(apps)
    _helper(apps)

class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
""",
    )
    (op,) = m.code_operations
    assert op.kind == "RunPython" and op.function == "forwards"
    assert [ref for ref, _ in op.models] == ["core.Setting", "shop.Order"]
    assert op.complete and op.schemas == "all"
    assert m.operation_kinds == ("RunPython",)


def test_tenant_migration_decorator_and_keywords(tmp_path):
    m = _read(
        tmp_path,
        HEAD
        + """
@tenant_migration
def only_tenants(apps, schema_editor):
    apps.get_model("shop", "Order")

@tenant_migration(tenant_schema=False, public_schema=True)
def only_public(apps, schema_editor):
    apps.get_model(app_label="shop", model_name="Order")

class Migration(migrations.Migration):
    operations = [
        migrations.RunPython(only_tenants),
        migrations.RunPython(code=only_public),
        migrations.RunPython(lambda apps, se: apps.get_model("shop", "Item")),
    ]
""",
    )
    a, b, c = m.code_operations
    assert a.schemas == "tenant" and b.schemas == "public" and c.schemas == "all"
    assert [r for r, _ in b.models] == ["shop.Order"]
    assert [r for r, _ in c.models] == ["shop.Item"]


def test_unreadable_functions_are_incomplete_not_empty(tmp_path):
    m = _read(
        tmp_path,
        HEAD
        + """
def computed(apps, schema_editor):
    for name in ("Order", "Item"):
        apps.get_model("shop", name)

class Migration(migrations.Migration):
    operations = [migrations.RunPython(imported_func), migrations.RunPython(computed)]
""",
    )
    imported, computed = m.code_operations
    assert not imported.complete and imported.models == ()
    assert not computed.complete


def test_runsql_tables(tmp_path):
    m = _read(
        tmp_path,
        HEAD
        + """
class Migration(migrations.Migration):
    operations = [
        migrations.RunSQL(
            [
                'INSERT INTO core_setting (key) SELECT name FROM "shop_order"',
                ("UPDATE shop_item SET n = %s", [1]),
                "SELECT * FROM public.other_table",
            ]
        ),
        migrations.RunSQL(sql=SOME_SQL),
    ]
""",
    )
    literal, computed = m.code_operations
    assert [t for t, _ in literal.tables] == ["core_setting", "shop_order", "shop_item"]
    assert literal.complete and not computed.complete


def test_imported_model_classes_and_user_model_alias(tmp_path):
    """GeoSight-OS's idiom: the data migration imports real model classes."""
    path = tmp_path / "0003_roles.py"
    path.write_text(
        textwrap.dedent(
            """
            from django.contrib.auth import get_user_model
            from django.db import migrations
            from shop.models import Order, STATUS

            User = get_user_model()

            def run(apps, schema_editor):
                for user in User.objects.all():
                    Order.objects.filter(buyer=user, status=STATUS.OPEN)

            class Migration(migrations.Migration):
                operations = [migrations.RunPython(run)]
            """
        )
    )
    resolver = TargetResolver("core", {}, {"shop": "shop", "core": "core"})
    m = read_migration(path, "core/migrations/0003_roles.py", "core", "core", resolver, {})
    (op,) = m.code_operations
    # STATUS is read too; it names no model, so rules and the simulation ignore it
    assert [r for r, _ in op.models] == ["settings.AUTH_USER_MODEL", "shop.Order", "shop.STATUS"]
