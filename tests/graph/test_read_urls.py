"""URLconf reading for TF017 (tenantfix.graph.read_urls): admin and login routes, includes."""

from __future__ import annotations

from tenantfix.graph.read_urls import read_urlconfs


def test_routes_are_found_through_local_includes(tmp_path):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj/__init__.py").write_text("")
    (tmp_path / "proj/urls.py").write_text(
        "from django.urls import include, path\n"
        'urlpatterns = [path("", include("accounts.urls")), path("x/", include("allauth.urls"))]\n'
    )
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts/__init__.py").write_text("")
    (tmp_path / "accounts/urls.py").write_text(
        "from django.contrib.auth.views import LoginView\n"
        "from django.urls import path\n"
        'urlpatterns = [path("login/", LoginView.as_view())]\n'
    )
    (conf,) = read_urlconfs(tmp_path, ["proj.urls", "proj.urls"])
    assert conf.path == "proj/urls.py"
    assert sorted((r.kind, r.written, str(r.location)) for r in conf.routes) == [
        ("auth", "LoginView", "accounts/urls.py:3"),
        ("auth", 'include("allauth.urls")', "proj/urls.py:2"),
    ]


def test_admin_only_from_django_contrib_admin(tmp_path):
    (tmp_path / "urls.py").write_text(
        "from django.contrib import admin\n"
        "from myproject import custom\n"
        'urlpatterns = [path("admin/", admin.site.urls), path("c/", custom.site.urls)]\n'
    )
    (conf,) = read_urlconfs(tmp_path, ["urls"])
    assert [(r.kind, r.written) for r in conf.routes] == [("admin", "admin.site.urls")]


def test_a_module_outside_the_project_is_unknown_not_empty(tmp_path):
    (conf,) = read_urlconfs(tmp_path, ["somepackage.urls"])
    assert conf.path is None and conf.routes == ()
