"""TF006: a model field hard-codes the user model (small graphs built from the dataclasses)."""

from __future__ import annotations

import pytest

from tenantfix.checks import load_checks
from tenantfix.graph.model import (
    USER_MODEL_SETTING,
    App,
    Location,
    Model,
    ProjectGraph,
    ProjectSettings,
    Relation,
    SettingValue,
)


def run(graph):
    return list(load_checks()["TF006"].run(graph))


def graph_with(relation, *, user_model="users.User", app_label="shop", local=True, extra=()):
    settings = ProjectSettings(
        module="proj.settings",
        path="proj/settings.py",
        files=("proj/settings.py",),
        auth_user_model=(
            SettingValue(user_model, Location("proj/settings.py", 3)) if user_model else None
        ),
    )
    users = App(
        label="users",
        name="users",
        models=(Model("users", "User", Location("users/models.py", 4)),),
    )
    owner = Model(
        app_label,
        "Order",
        Location(f"{app_label}/models.py", 10),
        relations=(relation,),
    )
    apps = (users,) if app_label == "users" else (users, App(app_label, app_label, local=local))
    apps = tuple(
        a if a.label != app_label else App(a.label, a.name, local=local, models=(*a.models, owner))
        for a in apps
    )
    return ProjectGraph(root="/p", settings=settings, apps=(*apps, *extra))


def rel(target, written, field="customer", app_label="shop"):
    return Relation("ForeignKey", field, target, written, Location(f"{app_label}/models.py", 11, 4))


@pytest.mark.parametrize(
    "relation, user_model",
    [
        pytest.param(
            rel(USER_MODEL_SETTING, "settings.AUTH_USER_MODEL"), "users.User", id="setting"
        ),
        pytest.param(
            rel(USER_MODEL_SETTING, "dj_settings.AUTH_USER_MODEL"),
            "users.User",
            id="aliased-setting",
        ),
        pytest.param(rel("auth.User", "'auth.User'"), None, id="default-user-model-unset"),
        pytest.param(rel("auth.User", "User"), "auth.User", id="default-user-model-imported"),
        pytest.param(rel("shop.Product", "'Product'"), "users.User", id="other-model"),
        pytest.param(rel("auth.Group", "Group"), "users.User", id="auth-group"),
        pytest.param(rel(None, "SomethingUnknown"), "users.User", id="unresolved"),
    ],
)
def test_noop(relation, user_model):
    assert run(graph_with(relation, user_model=user_model)) == []


def test_noop_user_app_referring_to_its_own_class():
    relation = rel("users.User", "User", field="invited_by", app_label="users")
    assert run(graph_with(relation, app_label="users")) == []


def test_noop_self_reference_in_user_app():
    relation = rel("users.User", "'self'", field="invited_by", app_label="users")
    assert run(graph_with(relation, app_label="users")) == []


def test_noop_installed_package():
    assert run(graph_with(rel("auth.User", "'auth.User'"), local=False)) == []


def test_finds_inherited_relation_once_on_its_abstract_base():
    base_rel = rel("auth.User", "'auth.User'", field="created_by")
    base = Model(
        "shop", "Stamped", Location("shop/models.py", 5), abstract=True, relations=(base_rel,)
    )
    child = Model(
        "shop",
        "Order",
        Location("shop/models.py", 20),
        bases=("shop.Stamped",),
        relations=(base_rel,),
    )
    settings = ProjectSettings(
        "proj.settings",
        "proj/settings.py",
        ("proj/settings.py",),
        auth_user_model=SettingValue("users.User", Location("proj/settings.py", 3)),
    )
    graph = ProjectGraph(
        "/p", settings, apps=(App("users", "users"), App("shop", "shop", models=(base, child)))
    )
    found = run(graph)
    assert [d.fixes[0].args for d in found] == [(("model", "Stamped"), ("field", "created_by"))]


def test_noop_multi_table_parent_link_to_user():
    link = Relation(
        "OneToOneField", "user_ptr", "users.User", "users.User", Location("shop/models.py", 10)
    )
    model = Model(
        "shop", "Customer", Location("shop/models.py", 10), bases=("users.User",), relations=(link,)
    )
    settings = ProjectSettings(
        "proj.settings",
        "proj/settings.py",
        ("proj/settings.py",),
        auth_user_model=SettingValue("users.User", Location("proj/settings.py", 3)),
    )
    graph = ProjectGraph(
        "/p", settings, apps=(App("users", "users"), App("shop", "shop", models=(model,)))
    )
    assert run(graph) == []


@pytest.mark.parametrize(
    "relation",
    [
        pytest.param(rel("auth.User", "'auth.User'"), id="string"),
        pytest.param(rel("auth.User", "User"), id="imported-contrib-class"),
        pytest.param(rel("auth.user", "to='auth.user'"), id="lowercase"),
    ],
)
def test_finds_swapped_auth_user(relation):
    [diag] = run(graph_with(relation))
    assert diag.code == "TF006"
    assert diag.severity == "error"
    assert diag.location == relation.location
    assert "fields.E301" in diag.why
    assert "HINT: Update the relation to point at 'settings.AUTH_USER_MODEL'." in diag.why
    assert 'relation "auth_user" does not exist' in diag.why
    assert diag.prediction is not None
    assert diag.prediction.error == (
        "SystemCheckError: shop.Order.customer: (fields.E301) Field defines a relation with "
        "the model 'auth.User', which has been swapped out."
    )
    [fix] = diag.fixes
    assert (fix.kind, fix.name, fix.path, fix.safety) == (
        "codemod",
        "use_auth_user_model_setting",
        "shop/models.py",
        "safe",
    )
    assert fix.args == (("model", "Order"), ("field", "customer"))


@pytest.mark.parametrize(
    "relation",
    [
        pytest.param(rel("users.User", "'users.User'"), id="literal-string"),
        pytest.param(rel("users.User", "User"), id="imported-class"),
        pytest.param(rel("users.User", "user_models.User"), id="module-attribute"),
        pytest.param(rel(USER_MODEL_SETTING, "get_user_model()"), id="get_user_model"),
        pytest.param(rel(USER_MODEL_SETTING, "User"), id="alias-of-get_user_model"),
    ],
)
def test_noop_current_user_model_named_literally(relation):
    """Those work: the opt-in style rule TF013 reports them, TF006 does not."""
    assert run(graph_with(relation)) == []


def test_finds_auth_models_user_attribute():
    [diag] = run(graph_with(rel("auth.User", "auth.models.User")))
    assert diag.severity == "error"
    assert "(auth.models.User)" in diag.message


def test_finds_auth_user_in_user_app_itself():
    relation = rel("auth.User", "'auth.User'", field="legacy", app_label="users")
    [diag] = run(graph_with(relation, app_label="users"))
    assert diag.severity == "error"
