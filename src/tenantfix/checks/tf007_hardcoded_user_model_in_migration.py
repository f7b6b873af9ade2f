"""A first-party migration hard-codes the user model instead of settings.AUTH_USER_MODEL.

What it finds: in a migration of a first-party app, while AUTH_USER_MODEL names a custom user
model, a relation with ``to='auth.user'`` (the swapped-out model: an error) or, outside the user
app itself, ``to='users.user'`` (the configured model written literally: a warning), and
a migration whose relations use ``settings.AUTH_USER_MODEL`` without
``migrations.swappable_dependency(settings.AUTH_USER_MODEL)`` among its dependencies (a hard
``('users', '0001_initial')`` instead, or nothing at all: warnings; with nothing, Django may plan
it before the user table and stop with ``ValueError: Related model 'users.user' cannot be
resolved``). Installed packages are never reported or edited: their migrations are not ours to
change.

Why: AUTH_USER_MODEL swaps out ``auth.User``, so its ``auth_user`` table is never created and a
migration that points at it fails on every fresh schema (each new tenant) with ``relation
"auth_user" does not exist``. ``makemigrations`` writes ``to=settings.AUTH_USER_MODEL`` and the
swappable dependency; migrations written by hand, or while the user model was still
``auth.User``, hard-code it and break as soon as the setting changes.

Fix safety: the ``use_swappable_user_in_migration`` codemod writes ``to=settings.AUTH_USER_MODEL``,
puts the swappable dependency in place of the hard one when nothing else in the file needs that
app, and adds ``from django.conf import settings``. Safe for the configured model written
literally; unsafe for ``auth.user``: where the migration already ran, the column's foreign key
still points at ``auth_user`` and must be re-pointed by hand.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantfix.checks import Check
from tenantfix.graph.model import App, Migration, ProjectGraph, Relation
from tenantfix.plan import Diagnostic, Fix, Prediction, Safety, Severity

check = Check(__name__)

CODEMOD = "use_swappable_user_in_migration"
DEFAULT_USER = "auth.user"
SETTING = "AUTH_USER_MODEL"


@check.register
def run(graph: ProjectGraph) -> Iterator[Diagnostic]:
    user_model = graph.settings.user_model
    user_key = graph.resolve_model(user_model)
    if user_key == DEFAULT_USER:
        return
    for app in graph.apps:
        if not app.local:
            continue
        for migration in app.migrations:
            yield from _check_migration(graph, app, migration, user_model, user_key)


def _relations(migration: Migration) -> Iterator[tuple[str, Relation]]:
    for created in migration.created_models:
        for relation in created.relations:
            yield created.name, relation
    yield from migration.added_relations


def _check_migration(
    graph: ProjectGraph, app: App, migration: Migration, user_model: str, user_key: str
) -> Iterator[Diagnostic]:
    user_label = user_key.partition(".")[0]
    own_app = app.label == user_label  # its own model: a plain in-app reference is right
    name = f"{app.label}.{migration.name}"
    uses_setting = False
    hard_coded = False
    for model_name, relation in _relations(migration):
        if relation.is_swappable_user:
            uses_setting = True
            continue
        target = graph.resolve_model(relation.target) if relation.target else None
        if target != DEFAULT_USER and (target != user_key or own_app):
            continue
        hard_coded = True
        field = f"{model_name}.{relation.field_name}"
        yield _hard_coded(graph, app, migration, relation, field, target, user_model, name)
    if hard_coded or not uses_setting or own_app:
        return
    if any(dep.swappable == SETTING for dep in migration.dependencies):
        return
    hard_dep = next(
        (d for d in migration.dependencies if d.swappable is None and d.app_label == user_label),
        None,
    )
    severity: Severity
    if hard_dep is not None:
        message = (
            f"{name} depends on ('{hard_dep.app_label}', '{hard_dep.name}') for the user model "
            "instead of swappable_dependency(settings.AUTH_USER_MODEL)"
        )
        why = (
            f"The dependency names the app that holds AUTH_USER_MODEL today ({user_model!r}); "
            "when the setting changes, the migration no longer waits for the user table. "
            "makemigrations writes migrations.swappable_dependency(settings.AUTH_USER_MODEL)."
        )
        severity = "warning"
    else:
        message = (
            f"{name} relates to settings.AUTH_USER_MODEL but does not depend on the user model's "
            "migrations"
        )
        why = (
            f"Nothing orders this migration after the one that creates {user_model!r}: it works "
            "only while Django's migration plan happens to put the user app first; where the "
            "plan runs it earlier, Django stops with `ValueError: Related model "
            f"'{user_key}' cannot be resolved`. makemigrations adds "
            "migrations.swappable_dependency(settings.AUTH_USER_MODEL)."
        )
        severity = "warning"
    yield Diagnostic(
        code=check.code,
        message=message,
        location=migration.location,
        why=why,
        fix_summary="depend on migrations.swappable_dependency(settings.AUTH_USER_MODEL)",
        severity=severity,
        fixes=(_fix(migration, user_key, "safe"),),
    )


def _hard_coded(
    graph: ProjectGraph,
    app: App,
    migration: Migration,
    relation: Relation,
    field: str,
    target: str,
    user_model: str,
    name: str,
) -> Diagnostic:
    written = relation.written.strip()
    fix_summary = (
        "write to=settings.AUTH_USER_MODEL and depend on "
        "migrations.swappable_dependency(settings.AUTH_USER_MODEL)"
    )
    if target == DEFAULT_USER:
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
            fix_summary=fix_summary
            + "; where the migration already ran, re-point the column's foreign key by hand",
            severity="error",
            prediction=(
                Prediction(step=step, migration=name, error='relation "auth_user" does not exist')
                if step
                else None
            ),
            fixes=(_fix(migration, target, "unsafe"),),
        )
    return Diagnostic(
        code=check.code,
        message=f"{name}: {field} hard-codes the user model as {written}",
        location=relation.location,
        why=(
            f"The migration names {user_model!r} instead of settings.AUTH_USER_MODEL: it describes "
            "a different schema as soon as the setting changes, and its plain dependency on the "
            "user app stops ordering it after the user table. makemigrations writes "
            "to=settings.AUTH_USER_MODEL with migrations.swappable_dependency(settings.AUTH_USER_MODEL)."
        ),
        fix_summary=fix_summary,
        severity="warning",
        fixes=(_fix(migration, target, "safe"),),
    )


def _step(graph: ProjectGraph, app: App) -> str | None:
    """The first ``migrate_schemas`` step that runs this app's migrations, if any."""
    if graph.is_shared(app):
        return "migrate_schemas --shared"
    if graph.is_tenant(app):
        return "migrate_schemas --tenant"
    return None


def _fix(migration: Migration, target: str, safety: Safety) -> Fix:
    return Fix(
        kind="codemod",
        name=CODEMOD,
        path=migration.location.path,
        args=(("target", target),),
        safety=safety,
        description=f"{migration.app_label}.{migration.name}: settings.AUTH_USER_MODEL",
    )
