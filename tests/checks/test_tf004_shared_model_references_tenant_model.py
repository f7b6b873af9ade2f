"""TF004: a shared model references a tenant-only model (real fixture projects, read statically)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from tenantfix.checks import tf004_shared_model_references_tenant_model as tf004
from tenantfix.discover import discover
from tenantfix.graph.build import build_graph
from tenantfix.settings import resolve_settings
from tenantfix.simulate import predict

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _project(tmp_path: Path, name: str = "sim_shared_fk_to_tenant", **edits: str) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root, ignore=shutil.ignore_patterns("__pycache__"))
    for rel, text in edits.items():
        # keyword names stand for paths: core__models_py -> core/models.py
        path = root / (rel.replace("__", "/").removesuffix("_py") + ".py")
        path.write_text(textwrap.dedent(text))
    return root


def _run(root: Path):
    graph = build_graph(root, resolve_settings(discover(root)))
    return graph, list(tf004.check.run(graph))


def _settings(shared: list[str], tenant: list[str]) -> str:
    body = (FIXTURES / "sim_shared_fk_to_tenant/proj/settings.py").read_text()
    start, end = body.index("SHARED_APPS = ["), body.index("INSTALLED_APPS =")
    lists = f"SHARED_APPS = {shared!r}\n\nTENANT_APPS = {tenant!r}\n\n"
    return body[:start] + lists + body[end:]


BASE_SHARED = ["django_tenants", "customers", "django.contrib.contenttypes", "django.contrib.auth"]
BASE_TENANT = ["django.contrib.contenttypes", "django.contrib.auth"]


# -- finds --------------------------------------------------------------------------------------
def test_finds_shared_fk_to_tenant_only_model(tmp_path):
    graph, found = _run(_project(tmp_path))
    (d,) = found
    assert d.code == "TF004" and d.severity == "error"
    assert d.message == (
        "shared model core.Organization.main_customer (ForeignKey to crm.Customer) references "
        "a model of tenant-only app 'crm'"
    )
    assert (d.location.path, d.location.line) == ("core/models.py", 6)
    # the prediction is the simulation's, which test_simulate checks against a real run
    assert d.prediction == predict(graph)[0].to_prediction()
    assert d.prediction.migration == "core.0001_initial"
    assert d.prediction.error == 'relation "crm_customer" does not exist'
    for way in ("share 'crm'", "move Organization into a tenant app", "plain id field"):
        assert way in d.fix_summary
    (fix,) = d.fixes
    assert (fix.kind, fix.name, fix.safety, fix.path) == (
        "codemod",
        "add_app_to_list",
        "unsafe",
        "proj/settings.py",
    )
    assert fix.arg("list_name") == "SHARED_APPS" and fix.arg("app") == "crm"


def test_finds_custom_table_m2m_and_appconfig_spelling(tmp_path):
    root = _project(
        tmp_path,
        proj__settings_py=_settings([*BASE_SHARED, "core"], [*BASE_TENANT, "crm.apps.CrmConfig"]),
        crm__models_py="""
            from django.db import models


            class Customer(models.Model):
                name = models.CharField(max_length=100)

                class Meta:
                    db_table = "clientes"
        """,
        core__models_py="""
            from crm.models import Customer
            from django.db import models


            class Organization(models.Model):
                customers = models.ManyToManyField(Customer)
        """,
    )
    _, found = _run(root)
    (d,) = found
    assert "ManyToManyField to crm.Customer" in d.message
    assert d.prediction.error == 'relation "clientes" does not exist'
    assert d.fixes[0].arg("app") == "crm.apps.CrmConfig"


def test_finds_in_multi_type_public_list(tmp_path):
    _, found = _run(
        _project(
            tmp_path,
            "sim_multi_type",
            grades__models_py="""
        from django.db import models


        class Grade(models.Model):
            textbook = models.ForeignKey("library.Book", on_delete=models.PROTECT)
    """,
            proj__settings_py=(FIXTURES / "sim_multi_type/proj/settings.py")
            .read_text()
            .replace(
                '"customers",\n            "django.contrib.contenttypes",',
                '"customers",\n            "grades",\n            "django.contrib.contenttypes",',
            ),
        )
    )
    (d,) = found
    assert "tenant-only app 'library'" in d.message
    assert "TENANT_TYPES['public']['APPS']" in d.why
    assert d.fixes[0].arg("key_path") == "public/APPS"


# -- noop ---------------------------------------------------------------------------------------
def test_noop_when_target_app_is_shared(tmp_path):
    root = _project(
        tmp_path, proj__settings_py=_settings([*BASE_SHARED, "core", "crm"], BASE_TENANT)
    )
    assert _run(root)[1] == []


def test_noop_when_both_sides_are_tenant_apps(tmp_path):
    root = _project(
        tmp_path, proj__settings_py=_settings(BASE_SHARED, [*BASE_TENANT, "core", "crm"])
    )
    assert _run(root)[1] == []


def test_noop_user_and_tenant_model_targets_are_other_rules(tmp_path):
    # users.User is TENANT-only (TF001's finding) in the write-up project: no TF004 there
    assert _run(_project(tmp_path, "writeup_project"))[1] == []


def test_noop_other_fixture_projects(tmp_path):
    for name in (
        "sim_custom_db_table",
        "sim_contenttypes_not_shared",
        "sim_tenant_app_not_shared",
        "sim_multi_type",
    ):
        assert _run(_project(tmp_path / name, name))[1] == [], name


def test_docstring_names_the_three_ways_out():
    doc = tf004.check.doc
    assert doc.splitlines()[0].startswith("A shared model has a ForeignKey")
    assert (
        "share the target app" in doc
        and "move the referencing model" in doc
        and "drop the database-level link" in doc
    )
    assert "Fix (unsafe" in doc
