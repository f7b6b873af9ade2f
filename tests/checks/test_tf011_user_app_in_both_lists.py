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
def test_finds_user_app_in_both_as_warning_without_fix_when_the_file_is_unreadable():
    # the graph's settings file does not exist: no statement is known to hold the entry
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


def test_finds_with_an_unsafe_removal_when_the_entry_is_in_the_tenant_list(tmp_path):
    import dataclasses

    settings = tmp_path / "proj" / "settings.py"
    settings.parent.mkdir()
    lines = [""] * 40
    lines[29] = "TENANT_APPS = ["
    lines[30], lines[31], lines[32] = '    "shop",', '    "users",', "]"
    settings.write_text("\n".join(lines) + "\n")
    g = dataclasses.replace(graph(tenant=["shop", "users"]), root=str(tmp_path))
    (d,) = run(tf011, g)
    (fix,) = d.fixes
    assert (fix.name, fix.safety, fix.path) == (
        "remove_app_from_list",
        "unsafe",
        "proj/settings.py",
    )
    assert dict(fix.args) == {"list_name": "TENANT_APPS", "app": "users", "key_path": ""}
    assert "tenantfix move-users" in d.fix_summary
