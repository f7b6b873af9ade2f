"""A first-party migration targets the swapped-out ``auth.User``, or can run before the user table exists.

What it finds: in a migration of a first-party app, while AUTH_USER_MODEL names a custom user
model, a relation with ``to='auth.user'`` (the model the setting swapped out), and a migration
with a relation to the user model (``settings.AUTH_USER_MODEL`` or the model's name) from which
no dependency path, followed transitively through every app's migrations, reaches the migration
that creates the user model (``swappable_dependency(settings.AUTH_USER_MODEL)`` counts as
reaching it). A dependency on a migration tenantfix could not read makes the path unknown, and
unknown is not reported. A migration that names the current user model literally and does reach
its creation works: that style point is the opt-in rule TF013. Installed packages are never
reported or edited: their migrations are not ours to change.

Why: AUTH_USER_MODEL swaps out ``auth.User``, so its ``auth_user`` table is never created and a
migration that points at it fails on every fresh schema (each new tenant) with ``relation
"auth_user" does not exist``. Django orders migrations only by their dependencies: with no path
to the user model's creation, wherever the plan puts this migration first Django stops with
``ValueError: Related model 'users.user' cannot be resolved``. ``makemigrations`` writes
``to=settings.AUTH_USER_MODEL`` and ``migrations.swappable_dependency(settings.AUTH_USER_MODEL)``;
migrations written by hand, or while the user model was still ``auth.User``, do not.

Example::

    dependencies = [("auth", "0012_alter_user_first_name_max_length")]           # before
    ("buyer", models.ForeignKey(to="auth.user", on_delete=models.CASCADE)),
    dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]   # after
    ("buyer", models.ForeignKey(to=settings.AUTH_USER_MODEL, on_delete=models.CASCADE)),

Fix safety: the ``use_swappable_user_in_migration`` codemod writes ``to=settings.AUTH_USER_MODEL``,
puts the swappable dependency in place of the hard one when nothing else in the file needs that
app, and adds ``from django.conf import settings``. Safe for a missing dependency; unsafe for
``auth.user``: where the migration already ran, the column's foreign key still points at
``auth_user`` and must be re-pointed by hand.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantfix.checks import Check
from tenantfix.checks._user_model import (
    DEFAULT_USER,
    migration_relations,
    reaches,
    targets_user,
    user_creation,
)
from tenantfix.graph.model import App, Migration, ProjectGraph, Relation
from tenantfix.plan import Diagnostic, Fix, Prediction, Safety

check = Check(__name__)

CODEMOD = "use_swappable_user_in_migration"


@check.register
def run(graph: ProjectGraph) -> Iterator[Diagnostic]:
    user_model = graph.settings.user_model
    user_key = graph.resolve_model(user_model)
    if user_key == DEFAULT_USER:
        return
    creation = user_creation(graph, user_key)
    for app in graph.apps:
        if not app.local:
            continue
        for migration in app.migrations:
            yield from _check_migration(graph, app, migration, user_model, user_key, creation)


def _check_migration(
    graph: ProjectGraph,
    app: App,
    migration: Migration,
    user_model: str,
    user_key: str,
    creation: Migration | None,
) -> Iterator[Diagnostic]:
    name = f"{app.label}.{migration.name}"
    swapped = False
    relates = False
    for model_name, relation in migration_relations(migration):
        target = graph.resolve_model(relation.target) if relation.target else None
        if target == DEFAULT_USER and not relation.is_swappable_user:
            swapped = True
            field = f"{model_name}.{relation.field_name}"
            yield _swapped(graph, app, migration, relation, field, user_model, name)
        elif targets_user(graph, relation, user_key):
            relates = True
    if swapped or not relates or creation is None:
        return
    if reaches(graph, migration, creation) != "no":
        return
    created = f"{creation.app_label}.{creation.name}"
    yield Diagnostic(
        code=check.code,
        message=(
            f"{name} relates to the user model but no dependency path reaches {created}, "
            "which creates it"
        ),
        location=migration.location,
        why=(
            f"Django orders migrations only by their dependencies, and none of this migration's "
            f"leads to {created}: wherever the plan runs it before the user table exists "
            f"(a fresh database, each new tenant schema), Django stops with `ValueError: Related "
            f"model '{user_key}' cannot be resolved`. makemigrations adds "
            "migrations.swappable_dependency(settings.AUTH_USER_MODEL)."
        ),
        fix_summary="depend on migrations.swappable_dependency(settings.AUTH_USER_MODEL)",
        severity="error",
        # a dependency on the user app that does not reach the creation stays: it is there
        # for something else; the swappable dependency is added in front
        fixes=(_fix(migration, user_key, "safe", replace_only=creation.name),),
    )


def _swapped(
    graph: ProjectGraph,
    app: App,
    migration: Migration,
    relation: Relation,
    field: str,
    user_model: str,
    name: str,
) -> Diagnostic:
    written = relation.written.strip()
    step = _step(graph, app)
    return Diagnostic(
        code=check.code,
        message=(
            f"{name}: {field} points at the swapped-out auth.User ({written}); "
            f"AUTH_USER_MODEL is {user_model!r}"
        ),
        location=relation.location,
        why=(
            f"AUTH_USER_MODEL = {user_model!r} swaps out auth.User, so its auth_user table is "
            f"never created and this migration fails on every fresh schema (each new tenant "
            f'included) with `relation "auth_user" does not exist`.'
        ),
        fix_summary=(
            "write to=settings.AUTH_USER_MODEL and depend on "
            "migrations.swappable_dependency(settings.AUTH_USER_MODEL); where the migration "
            "already ran, re-point the column's foreign key by hand"
        ),
        severity="error",
        prediction=(
            Prediction(step=step, migration=name, error='relation "auth_user" does not exist')
            if step
            else None
        ),
        fixes=(_fix(migration, DEFAULT_USER, "unsafe"),),
    )


def _step(graph: ProjectGraph, app: App) -> str | None:
    """The first ``migrate_schemas`` step that runs this app's migrations, if any."""
    if graph.is_shared(app):
        return "migrate_schemas --shared"
    if graph.is_tenant(app):
        return "migrate_schemas --tenant"
    return None


def _fix(migration: Migration, target: str, safety: Safety, replace_only: str = "") -> Fix:
    args: tuple[tuple[str, str], ...] = (("target", target),)
    if replace_only:
        args = (*args, ("replace_only", replace_only))
    return Fix(
        kind="codemod",
        name=CODEMOD,
        path=migration.location.path,
        args=args,
        safety=safety,
        description=f"{migration.app_label}.{migration.name}: settings.AUTH_USER_MODEL",
    )
