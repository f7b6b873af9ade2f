"""TF009: django_tenants missing or not first in SHARED_APPS / INSTALLED_APPS."""

from __future__ import annotations

import dataclasses

from graphs_tf008_tf011 import SETTINGS, SHARED, app_list, graph, run

from tenantfix.checks import tf009_django_tenants_not_first as tf009
from tenantfix.graph.model import AppListEntry, Location

NOT_FIRST = ["customers", "django_tenants", "users", "django.contrib.admin"]


# -- noop ---------------------------------------------------------------------------------------
def test_noop_first_everywhere():
    assert run(tf009, graph()) == []


def test_noop_appconfig_path_first():
    shared = ["django_tenants.apps.DjangoTenantsConfig", *SHARED[1:]]
    assert run(tf009, graph(shared=shared)) == []


def test_noop_multi_type_public_apps_first():
    multi = {"public": ["django_tenants", "customers"], "shops": ["shop"]}
    installed = app_list("INSTALLED_APPS", ["django_tenants", "customers", "shop"], 60)
    assert run(tf009, graph(multi=multi, installed=installed)) == []


def test_noop_legacy_tenant_schemas_first():
    shared = ["tenant_schemas", "customers", "users"]
    assert run(tf009, graph(shared=shared, legacy=True)) == []


# -- finds --------------------------------------------------------------------------------------
def test_finds_not_first_in_shared_apps_once_when_installed_is_derived():
    (d,) = run(tf009, graph(shared=NOT_FIRST))
    assert d.message == "'django_tenants' is not first in SHARED_APPS ('customers' comes before it)"
    assert d.severity == "warning"
    assert d.location == Location(SETTINGS, 12, 4)
    (fix,) = d.fixes
    assert (fix.name, fix.path) == ("move_app_first_in_list", SETTINGS)
    assert dict(fix.args) == {"list_name": "SHARED_APPS", "key_path": "", "app": "django_tenants"}


def test_finds_not_first_names_the_apps_before_it_and_admins_templates():
    shared = ["django.contrib.admin", "django.contrib.auth", "django_tenants", *SHARED[1:3]]
    (d,) = run(tf009, graph(shared=shared))
    assert d.severity == "warning"
    assert "('django.contrib.admin', 'django.contrib.auth') win" in d.why
    assert "(django.contrib.admin's own do)" in d.why
    (d,) = run(tf009, graph(shared=NOT_FIRST))
    assert "django.contrib.admin's own do" not in d.why  # admin comes after it there


def test_finds_missing_from_shared_apps_with_insert():
    # INSTALLED_APPS is built from SHARED_APPS: the one fix covers both, so one finding.
    (d,) = run(tf009, graph(shared=SHARED[1:]))
    assert d.message == "'django_tenants' is missing from SHARED_APPS"
    assert d.severity == "error"  # INSTALLED_APPS is built from it: Django does not load it
    assert "Unknown command: 'migrate_schemas'" in d.why
    assert dict(d.fixes[0].args)["insert_if_missing"] == "yes"


def test_finds_missing_from_shared_apps_only_as_warning_while_installed():
    installed = app_list("INSTALLED_APPS", [*SHARED, "shop"], 60)
    (d,) = run(tf009, graph(shared=SHARED[1:], installed=installed))
    assert d.message == "'django_tenants' is missing from SHARED_APPS"
    assert d.severity == "warning"
    assert "works today" in d.why


def test_finds_missing_from_hand_written_installed_apps():
    installed = app_list("INSTALLED_APPS", [*SHARED[1:], "shop"], 60)
    (d,) = run(tf009, graph(installed=installed))
    assert d.message == "'django_tenants' is missing from INSTALLED_APPS"
    assert d.severity == "error"
    assert "Unknown command: 'migrate_schemas'" in d.why


def test_finds_missing_from_set_built_installed_apps_as_error():
    installed = app_list("INSTALLED_APPS", [*SHARED[1:], "shop"], 60, ordered=False)
    (d,) = run(tf009, graph(installed=installed))
    assert (d.message, d.severity) == ("'django_tenants' is missing from INSTALLED_APPS", "error")


def test_finds_hand_written_installed_apps_separately():
    installed = app_list("INSTALLED_APPS", [*NOT_FIRST, "shop"], 60)
    (d,) = run(tf009, graph(installed=installed))
    assert d.message.endswith("not first in INSTALLED_APPS ('customers' comes before it)")
    assert d.severity == "warning"
    assert "admin/index.html" in d.why and "`migrate` command" in d.why
    assert dict(d.fixes[0].args)["list_name"] == "INSTALLED_APPS"


def test_finds_set_ordering_with_safe_derive_fix():
    base = graph()
    installed = dataclasses.replace(base.settings.installed_apps, ordered=False)
    (d,) = run(tf009, graph(installed=installed))
    assert (
        d.message
        == "INSTALLED_APPS is built through set(): 'django_tenants' is first only by chance"
    )
    assert d.severity == "warning"
    (fix,) = d.fixes
    assert (fix.name, fix.safety, fix.args) == (
        "derive_installed_apps",
        "safe",
        (("create", "no"),),
    )


def test_finds_set_ordering_with_extra_apps_without_fix():
    base = graph()
    extra = AppListEntry("debug_toolbar", Location(SETTINGS, 70, 4))
    installed = dataclasses.replace(
        base.settings.installed_apps,
        ordered=False,
        entries=(*base.settings.installed_apps.entries, extra),
    )
    (d,) = run(tf009, graph(installed=installed))
    assert d.fixes == ()


def test_finds_multi_type_public_list_with_key_path():
    multi = {"public": ["customers", "django_tenants"], "shops": ["shop"]}
    installed = app_list("INSTALLED_APPS", ["django_tenants", "customers", "shop"], 90)
    (d,) = run(tf009, graph(multi=multi, installed=installed))
    assert "TENANT_TYPES['public']['APPS']" in d.message
    assert dict(d.fixes[0].args) == {
        "list_name": "TENANT_TYPES",
        "key_path": "public/APPS",
        "app": "django_tenants",
    }


def test_finds_entry_added_in_another_file_without_fix():
    shared = app_list("SHARED_APPS", ["customers", "users"], 10)
    added = AppListEntry("django_tenants", Location("proj/dev.py", 3, 0))
    shared = dataclasses.replace(shared, entries=(*shared.entries, added))
    g = graph()
    g = dataclasses.replace(g, settings=dataclasses.replace(g.settings, shared_apps=shared))
    (d, *_) = run(tf009, g)
    assert d.location == Location("proj/dev.py", 3, 0)
    assert d.fixes == ()
