"""TF007: a first-party migration hard-codes the user model (small graphs from the dataclasses)."""

from __future__ import annotations

import pytest

from tenantfix.checks import load_checks
from tenantfix.graph.model import (
    USER_MODEL_SETTING,
    App,
    AppList,
    AppListEntry,
    CreatedModel,
    Dependency,
    Location,
    Migration,
    ProjectGraph,
    ProjectSettings,
    Relation,
    SettingValue,
)

PATH = "shop/migrations/0001_initial.py"
SWAPPABLE = Dependency("users", "__first__", "AUTH_USER_MODEL")
HARD = Dependency("users", "0001_initial")


def run(graph):
    return list(load_checks()["TF007"].run(graph))


def app_list(name, *values):
    return AppList(
        name, tuple(AppListEntry(v, Location("proj/settings.py", 1)) for v in values), None
    )


def graph_with(
    relation=None,
    dependencies=(SWAPPABLE,),
    *,
    user_model="users.User",
    app_label="shop",
    local=True,
    added=False,
    shared=(),
    tenant=("shop",),
    extra=(),
    extra_users=(),
):
    settings = ProjectSettings(
        module="proj.settings",
        path="proj/settings.py",
        files=("proj/settings.py",),
        shared_apps=app_list("SHARED_APPS", "django_tenants", "users", *shared),
        tenant_apps=app_list("TENANT_APPS", *tenant),
        auth_user_model=(
            SettingValue(user_model, Location("proj/settings.py", 3)) if user_model else None
        ),
    )
    relations = () if relation is None else (relation,)
    creation = Migration(
        "users",
        "0001_initial",
        Location("users/migrations/0001_initial.py", 8),
        created_models=(CreatedModel("User", None),),
    )
    migration = Migration(
        app_label,
        "0001_initial",
        Location(f"{app_label}/migrations/0001_initial.py", 8),
        dependencies=tuple(dependencies),
        created_models=() if added else (CreatedModel("Order", None, relations),),
        added_relations=tuple(("order", r) for r in relations) if added else (),
    )
    users = App(
        "users",
        "users",
        migrations=(migration,) if app_label == "users" else (creation, *extra_users),
    )
    apps = [users]
    if app_label != "users":
        apps.append(App(app_label, app_label, local=local, migrations=(migration, *extra)))
    return ProjectGraph(root="/p", settings=settings, apps=tuple(apps))


def rel(target, written, field="customer"):
    return Relation("ForeignKey", field, target, written, Location(PATH, 20, 16))


SETTING_REL = rel(USER_MODEL_SETTING, "settings.AUTH_USER_MODEL")
BASE = Migration(
    "shop",
    "0000_base",
    Location("shop/migrations/0000_base.py", 8),
    dependencies=(Dependency("users", "0001_initial"),),
)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param(dict(relation=SETTING_REL), id="generated-by-makemigrations"),
        pytest.param(
            dict(relation=SETTING_REL, dependencies=(SWAPPABLE, HARD)), id="swappable-plus-hard"
        ),
        pytest.param(dict(relation=rel("shop.product", "'shop.product'")), id="other-model"),
        pytest.param(
            dict(relation=None, dependencies=(HARD,)), id="hard-dep-without-user-relation"
        ),
        pytest.param(
            dict(relation=rel("auth.user", "'auth.user'"), dependencies=(), user_model=None),
            id="default-user-model",
        ),
        pytest.param(
            dict(relation=rel("users.user", "'users.user'"), dependencies=(HARD,), local=False),
            id="installed-package",
        ),
        pytest.param(
            dict(relation=rel("users.user", "'users.user'"), dependencies=(), app_label="users"),
            id="user-app-own-migration",
        ),
        pytest.param(
            dict(relation=SETTING_REL, dependencies=(), app_label="users"),
            id="user-app-own-migration-without-swappable-dependency",
        ),
        # the current user model named literally, reaching its creation: TF013's style point
        pytest.param(
            dict(relation=rel("users.user", "'users.user'"), dependencies=(HARD,)),
            id="literal-current-user-model-reaching-creation",
        ),
        pytest.param(dict(relation=SETTING_REL, dependencies=(HARD,)), id="hard-dependency"),
        # other dependencies lead to the user model's initial migration
        pytest.param(
            dict(
                relation=SETTING_REL,
                dependencies=(Dependency("shop", "0000_base"),),
                extra=(BASE,),
            ),
            id="transitive-path-through-another-migration",
        ),
        # a dependency we could not read: unknown is not absent
        pytest.param(
            dict(relation=SETTING_REL, dependencies=(Dependency("billing", "0003_x"),)),
            id="dependency-not-read",
        ),
    ],
)
def test_noop(kwargs):
    assert run(graph_with(**kwargs)) == []


@pytest.mark.parametrize("added", [False, True], ids=["create-model", "add-field"])
def test_finds_swapped_auth_user(added):
    relation = rel("auth.user", "'auth.user'")
    dep = Dependency("auth", "0012_alter_user_first_name_max_length")
    [diag] = run(graph_with(relation, (dep,), added=added))
    assert (diag.code, diag.severity, diag.location) == ("TF007", "error", relation.location)
    assert 'relation "auth_user" does not exist' in diag.why
    assert diag.prediction is not None
    assert (diag.prediction.step, diag.prediction.migration, diag.prediction.error) == (
        "migrate_schemas --tenant",
        "shop.0001_initial",
        'relation "auth_user" does not exist',
    )
    [fix] = diag.fixes
    assert (fix.kind, fix.name, fix.path, fix.args, fix.safety) == (
        "codemod",
        "use_swappable_user_in_migration",
        PATH,
        (("target", "auth.user"),),
        "unsafe",
    )


def test_finds_swapped_auth_user_in_shared_app_predicts_shared_step():
    diag = run(graph_with(rel("auth.user", "'auth.user'"), (), shared=("shop",), tenant=()))[0]
    assert diag.prediction is not None
    assert diag.prediction.step == "migrate_schemas --shared"


def test_finds_missing_dependency_on_user_model():
    [diag] = run(graph_with(SETTING_REL, ()))
    assert diag.severity == "error"
    assert "no dependency path reaches users.0001_initial" in diag.message
    assert "ValueError: Related model 'users.user' cannot be resolved" in diag.why
    [fix] = diag.fixes
    assert (fix.args, fix.safety) == (
        (("target", "users.user"), ("replace_only", "0001_initial")),
        "safe",
    )


def test_finds_literal_current_user_model_without_path():
    [diag] = run(graph_with(rel("users.user", "'users.user'"), ()))
    assert diag.severity == "error"
    assert "no dependency path" in diag.message


def test_finds_no_path_when_other_dependencies_lead_elsewhere():
    other = Migration(
        "shop", "0000_base", Location("shop/migrations/0000_base.py", 8), dependencies=()
    )
    graph = graph_with(SETTING_REL, (Dependency("shop", "0000_base"),), extra=(other,))
    [diag] = run(graph)
    assert diag.severity == "error"


def test_run_before_counts_as_a_path():
    creation = Migration(
        "users",
        "0001_initial",
        Location("users/migrations/0001_initial.py", 8),
        run_before=(("shop", "0001_initial"),),
        created_models=(CreatedModel("User", None),),
    )
    graph = graph_with(SETTING_REL, ())
    users = App("users", "users", migrations=(creation,))
    graph = ProjectGraph("/p", graph.settings, (users, graph.apps[1]))
    assert run(graph) == []


def test_finds_swapped_auth_user_in_the_user_apps_own_migration():
    relation = rel("auth.user", "'auth.user'")
    [diag] = run(graph_with(relation, (), app_label="users"))
    assert diag.severity == "error"
    assert diag.prediction is not None and diag.prediction.migration == "users.0001_initial"
