"""TF011: the user app in both lists (tenant tables shadow the public ones)."""

from __future__ import annotations

from graphs_tf008_tf011 import STANDARD_APPS, graph, run

from tenantfix.checks import tf011_user_app_in_both_lists as tf011


# -- noop ---------------------------------------------------------------------------------------
def test_noop_user_app_shared_only():
    assert run(tf011, graph()) == []


def test_noop_auth_in_both_lists_with_custom_user_model():
    assert run(tf011, graph(tenant=["shop", "django.contrib.auth"])) == []


def test_noop_user_app_tenant_only():
    shared = ["django_tenants", "customers", "django.contrib.contenttypes"]
    assert run(tf011, graph(shared=shared, tenant=["users", "shop"])) == []


# -- finds --------------------------------------------------------------------------------------
def test_finds_user_app_in_both_as_warning_without_fix():
    (d,) = run(tf011, graph(tenant=["shop", "users"]))
    assert (d.code, d.severity, d.fixes) == ("TF011", "warning", ())
    assert d.message == "the user app 'users' (users.User) is in both SHARED_APPS and TENANT_APPS"
    assert d.location.line == 32  # the TENANT_APPS entry
    assert "`users_user`, which shadows `public.users_user`" in d.why
    assert "search_path = tenant, public" in d.why


def test_finds_appconfig_path_spelling():
    (d,) = run(tf011, graph(tenant=["shop", "users.apps.UsersConfig"]))
    assert "'users.apps.UsersConfig'" in d.message


def test_finds_default_user_model_with_auth_in_both():
    (d,) = run(tf011, graph(user_model=None, tenant=["shop", "django.contrib.auth"]))
    assert "(auth.User)" in d.message
    assert "`auth_user`" in d.why and "auth_permission" in d.why


def test_finds_user_app_missing_from_graph_by_default_label():
    apps = tuple(a for a in STANDARD_APPS if a.label != "users")
    (d,) = run(tf011, graph(apps=apps, tenant=["shop", "users"]))
    assert "'users'" in d.message


def test_finds_each_tenant_type_of_a_multi_type_project():
    multi = {"public": ["django_tenants", "users"], "shops": ["users", "shop"], "blogs": ["users"]}
    found = run(tf011, graph(multi=multi, installed=None))
    assert [d.message.rpartition(" and ")[2] for d in found] == [
        "TENANT_TYPES['shops']['APPS']",
        "TENANT_TYPES['blogs']['APPS']",
    ]
