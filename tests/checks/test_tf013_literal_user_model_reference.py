"""TF013 (opt-in): a model field or migration names the current user model literally."""

from __future__ import annotations

import pytest
from test_tf006_hardcoded_user_model_in_field import graph_with, rel
from test_tf007_hardcoded_user_model_in_migration import HARD, SETTING_REL, SWAPPABLE
from test_tf007_hardcoded_user_model_in_migration import graph_with as migration_graph
from test_tf007_hardcoded_user_model_in_migration import rel as migration_rel

from tenantfix.checks import load_checks, run_checks, selected_checks
from tenantfix.graph.model import USER_MODEL_SETTING, Dependency, Location, Migration

HARD_LATER = Dependency("users", "0014_switch_pk_to_uuid")
LATER = Migration(
    "users",
    "0014_switch_pk_to_uuid",
    Location("users/migrations/0014_switch_pk_to_uuid.py", 8),
    dependencies=(HARD,),
)


def run(graph):
    return list(load_checks()["TF013"].run(graph))


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
def test_finds_current_user_model_named_in_a_field(relation):
    [diag] = run(graph_with(relation))
    assert (diag.code, diag.severity, diag.prediction) == ("TF013", "warning", None)
    assert relation.written in diag.message
    assert "settings.AUTH_USER_MODEL" in diag.why
    [fix] = diag.fixes
    assert (fix.name, fix.safety, fix.args) == (
        "use_auth_user_model_setting",
        "safe",
        (("model", "Order"), ("field", "customer")),
    )


@pytest.mark.parametrize(
    "relation, user_model",
    [
        pytest.param(
            rel(USER_MODEL_SETTING, "settings.AUTH_USER_MODEL"), "users.User", id="setting"
        ),
        pytest.param(rel("auth.User", "'auth.User'"), "users.User", id="swapped-is-tf006"),
        pytest.param(rel("auth.User", "User"), None, id="default-user-model"),
        pytest.param(rel("shop.Product", "'Product'"), "users.User", id="other-model"),
    ],
)
def test_noop_field(relation, user_model):
    assert run(graph_with(relation, user_model=user_model)) == []


def test_noop_user_app_naming_its_own_class():
    relation = rel("users.User", "User", field="invited_by", app_label="users")
    assert run(graph_with(relation, app_label="users")) == []


def test_finds_get_user_model_even_in_user_app():
    relation = rel(USER_MODEL_SETTING, "get_user_model()", field="friend", app_label="users")
    [diag] = run(graph_with(relation, app_label="users"))
    assert diag.fixes[0].path == "users/models.py"


def test_noop_installed_package():
    assert run(graph_with(rel("users.User", "'users.User'"), local=False)) == []


def test_finds_migration_literal_that_reaches_the_user_table():
    relation = migration_rel("users.user", "'users.user'")
    [diag] = run(migration_graph(relation, (HARD,)))
    assert (diag.code, diag.severity) == ("TF013", "warning")
    assert "'users.user'" in diag.message
    [fix] = diag.fixes
    assert (fix.name, fix.args, fix.safety) == (
        "use_swappable_user_in_migration",
        (("target", "users.user"), ("replace_only", "0001_initial")),
        "safe",
    )


def test_finds_hard_dependency_instead_of_swappable():
    [diag] = run(migration_graph(SETTING_REL, (HARD,)))
    assert "('users', '0001_initial')" in diag.message
    assert diag.location.line == 8


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param(dict(relation=SETTING_REL, dependencies=(SWAPPABLE,)), id="makemigrations"),
        # a dependency on a later migration of the user app (a pk change) is there on purpose
        pytest.param(
            dict(relation=SETTING_REL, dependencies=(HARD_LATER,), extra_users=(LATER,)),
            id="hard-dependency-on-a-later-user-migration",
        ),
        # no path at all: TF007's error, not a style point
        pytest.param(
            dict(relation=migration_rel("users.user", "'users.user'"), dependencies=()),
            id="literal-without-path-is-tf007",
        ),
        pytest.param(
            dict(relation=migration_rel("users.user", "'users.user'"), app_label="users"),
            id="user-app-own-migration",
        ),
    ],
)
def test_noop_migration(kwargs):
    assert run(migration_graph(**kwargs)) == []


def test_opt_in_runs_only_when_selected():
    graph = graph_with(rel("users.User", "'users.User'"))
    assert "TF013" not in {c.code for c in selected_checks()}
    assert "TF013" not in {d.code for d in run_checks(graph)}
    assert [d.code for d in run_checks(graph, select=["TF013"])] == ["TF013"]
    # as ruff: a prefix reaches opt-in rules too; --ignore still wins
    assert "TF013" in {c.code for c in selected_checks(["TF"])}
    assert "TF013" in {c.code for c in selected_checks(["TF01"])}
    assert "TF013" not in {c.code for c in selected_checks(["TF"], ["TF013"])}
    assert "TF001" in {c.code for c in selected_checks()}
