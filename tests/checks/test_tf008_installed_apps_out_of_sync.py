"""TF008: installed but in neither list, or listed but not installed."""

from __future__ import annotations

import dataclasses

from graphs_tf008_tf011 import SETTINGS, STANDARD_APPS, app, app_list, graph, run

from tenantfix.checks import tf008_installed_apps_out_of_sync as tf008

HAND_INSTALLED = [
    "django_tenants",
    "customers",
    "users",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
]


# -- noop ---------------------------------------------------------------------------------------
def test_noop_derived_installed_apps():
    assert run(tf008, graph()) == []


def test_noop_modelless_app_installed_only():
    htmx = app("django_htmx")
    installed = app_list("INSTALLED_APPS", [*HAND_INSTALLED, "shop", "django_htmx"], 60)
    assert run(tf008, graph(installed=installed, apps=(*STANDARD_APPS, htmx))) == []


def test_noop_appconfig_path_and_module_name_are_the_same_app():
    installed = app_list(
        "INSTALLED_APPS",
        [*HAND_INSTALLED[:-1], "django.contrib.contenttypes", "shop.apps.ShopConfig"],
        60,
    )
    assert run(tf008, graph(installed=installed)) == []


def test_noop_multi_type_union_installed():
    multi = {"public": ["django_tenants", "customers", "users"], "shops": ["shop"]}
    installed = app_list("INSTALLED_APPS", ["django_tenants", "customers", "users", "shop"], 60)
    assert run(tf008, graph(multi=multi, installed=installed)) == []


# -- finds --------------------------------------------------------------------------------------
def test_finds_listed_but_not_installed_and_adds_it_to_the_literal():
    installed = app_list("INSTALLED_APPS", HAND_INSTALLED, 60)
    (d,) = run(tf008, graph(installed=installed, tenant=["users", "shop"]))
    assert d.code == "TF008"
    assert d.message == "'shop' is in TENANT_APPS but not in INSTALLED_APPS"
    assert d.severity == "warning"  # only installed apps are read: tables unknown
    assert "never loads 'shop'" in d.why
    assert d.location.line == 32  # the 'shop' entry of TENANT_APPS
    (fix,) = d.fixes
    assert (fix.name, fix.path, fix.safety) == ("add_app_to_list", SETTINGS, "safe")
    assert dict(fix.args) == {"list_name": "INSTALLED_APPS", "app": "shop", "after": "users"}


def test_finds_listed_but_not_installed_without_own_literal_offers_unsafe_derive():
    shared = app_list("SHARED_APPS", HAND_INSTALLED, 10)
    installed = dataclasses.replace(
        shared, name="INSTALLED_APPS", derived=True
    )  # = list(SHARED_APPS)
    (d,) = run(tf008, graph(installed=installed))
    assert "'shop'" in d.message
    (fix,) = d.fixes
    assert (fix.name, fix.safety) == ("derive_installed_apps", "unsafe")


def test_finds_installed_with_models_in_neither_list_without_fix():
    ledger = app("ledger", models=("Entry",), migrations=True)
    installed = app_list("INSTALLED_APPS", [*HAND_INSTALLED, "shop", "ledger"], 60)
    (d,) = run(tf008, graph(installed=installed, apps=(*STANDARD_APPS, ledger)))
    assert d.message == "'ledger' is installed but in neither SHARED_APPS nor TENANT_APPS"
    assert d.severity == "error"
    assert d.location.line == 68
    assert '`relation "ledger_entry" does not exist`' in d.why
    assert d.fixes == ()


def test_finds_in_neither_list_as_warning_naming_other_routers():
    ledger = app("ledger", models=("Entry",), migrations=True)
    installed = app_list("INSTALLED_APPS", [*HAND_INSTALLED, "shop", "ledger"], 60)
    routers = ("proj.routers.LedgerRouter", "django_tenants.routers.TenantSyncRouter")
    g = graph(installed=installed, apps=(*STANDARD_APPS, ledger), routers=routers)
    (d,) = run(tf008, g)
    assert d.severity == "warning"
    assert "'proj.routers.LedgerRouter'" in d.message
    assert "TenantSyncRouter" not in d.message
    assert "'proj.routers.LedgerRouter'" in d.why


def test_finds_missing_installed_apps():
    (d,) = run(tf008, graph(installed=None))
    assert d.message.startswith("INSTALLED_APPS is not set")
    (fix,) = d.fixes
    assert (fix.name, fix.args, fix.safety) == ("derive_installed_apps", (), "safe")


def test_finds_multi_type_app_not_installed():
    multi = {"public": ["django_tenants", "customers", "users"], "shops": ["shop"]}
    installed = app_list("INSTALLED_APPS", ["django_tenants", "customers", "users"], 60)
    (d,) = run(tf008, graph(multi=multi, installed=installed))
    assert d.message == "'shop' is in TENANT_TYPES['shops']['APPS'] but not in INSTALLED_APPS"
