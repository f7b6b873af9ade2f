"""A relation names the current user model literally instead of settings.AUTH_USER_MODEL (opt-in).

What it finds: in first-party code, while AUTH_USER_MODEL names a custom user model, a model
field whose target is that model written out (``ForeignKey(CustomUser)``, ``'users.User'``,
``get_user_model()``), and a migration that writes ``to='users.user'`` or depends on
``('users', '0001_initial')`` instead of
``migrations.swappable_dependency(settings.AUTH_USER_MODEL)``. The user app's own relations to
its own class are left alone (``get_user_model()`` is reported there too), and so are installed
packages. A migration that cannot reach the user model's creation at all is TF007, an error.

Why: these references work today, which is why this rule is opt-in: it is not in the default
selection and runs only with ``--select TF013`` (or a prefix that covers it, ``--select TF``).
They follow the configured model only until AUTH_USER_MODEL changes; importing the user class
into another app's models ties the two apps' import order (circular imports), and
``get_user_model()`` at import time needs the user app loaded first. Django's docs: always use
``settings.AUTH_USER_MODEL`` in relations to the user model; ``makemigrations`` writes
``to=settings.AUTH_USER_MODEL`` with the swappable dependency.

Example::

    buyer = models.ForeignKey(CustomUser, on_delete=models.CASCADE)                # before
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)  # after

Fix (safe): models: ``use_auth_user_model_setting`` (the TF006 codemod) replaces the field's
target, adds ``from django.conf import settings`` and drops imports left unused. Migrations:
``use_swappable_user_in_migration`` writes ``to=settings.AUTH_USER_MODEL`` and the swappable
dependency (same table, same order: nothing changes in the database).
https://docs.djangoproject.com/en/stable/topics/auth/customizing/#referencing-the-user-model
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tenantfix.checks import Check
from tenantfix.checks._user_model import (
    DEFAULT_USER,
    SETTING,
    declared_relations,
    migration_relations,
    reaches,
    user_creation,
)
from tenantfix.checks.tf006_hardcoded_user_model_in_field import setting_fix, setting_fix_summary
from tenantfix.graph.model import App, Migration, ProjectGraph, Relation
from tenantfix.plan import Diagnostic, Fix

check = Check(__name__, severity="warning", default=False)

MIGRATION_CODEMOD = "use_swappable_user_in_migration"
_GET_USER_MODEL = re.compile(r"(^|\.)get_user_model\(\s*\)$")
_SETTING = re.compile(r"(^|\.)AUTH_USER_MODEL$")


@check.register
def run(graph: ProjectGraph) -> Iterator[Diagnostic]:
    user_model = graph.settings.user_model
    user_key = graph.resolve_model(user_model)
    if user_key == DEFAULT_USER:
        return
    for app in graph.apps:
        if not app.local:
            continue
        yield from _models(graph, app, user_model, user_key)
        for migration in app.migrations:
            yield from _migration(graph, app, migration, user_model, user_key)


def _models(graph: ProjectGraph, app: App, user_model: str, user_key: str) -> Iterator[Diagnostic]:
    own_app = app.label == user_key.partition(".")[0]
    for model in app.models:
        for relation in declared_relations(graph, model):
            written = relation.written.strip()
            if _SETTING.search(written) or written.strip("'\"") == "self":
                continue
            if relation.is_swappable_user or _GET_USER_MODEL.search(written):
                why = (
                    f"get_user_model() (or a name bound to it) imports {user_model!r} while this "
                    "models module is being imported: it works, but it ties the two apps' import "
                    "order and turns any import of this module from the user app into a circular "
                    "import. Django's docs: use settings.AUTH_USER_MODEL in relations."
                )
            elif (
                relation.target is not None
                and graph.resolve_model(relation.target) == user_key
                and not own_app
            ):
                why = (
                    f"{written} is the configured user model written literally: the relation "
                    f"follows {user_model!r} only until AUTH_USER_MODEL changes, and importing the "
                    "user class into another app's models ties their import order. Django's "
                    "docs: always use settings.AUTH_USER_MODEL in relations to the user model."
                )
            else:
                continue
            yield Diagnostic(
                code=check.code,
                message=(
                    f"{app.label}.{model.name}.{relation.field_name} names the user model as "
                    f"{written} instead of settings.AUTH_USER_MODEL"
                ),
                location=relation.location,
                why=why,
                fix_summary=setting_fix_summary(model, relation),
                severity="warning",
                fixes=(setting_fix(model, relation),),
            )


def _migration(
    graph: ProjectGraph, app: App, migration: Migration, user_model: str, user_key: str
) -> Iterator[Diagnostic]:
    user_label = user_key.partition(".")[0]
    if app.label == user_label:
        return  # the user app's own migrations name its model plainly, as makemigrations does
    name = f"{app.label}.{migration.name}"
    literal: list[tuple[str, Relation]] = []
    uses_setting = False
    for model_name, relation in migration_relations(migration):
        if relation.is_swappable_user:
            uses_setting = True
        elif relation.target is not None and graph.resolve_model(relation.target) == user_key:
            literal.append((model_name, relation))
    if not literal and not uses_setting:
        return
    creation = user_creation(graph, user_key)
    if creation is not None and reaches(graph, migration, creation) == "no":
        return  # TF007's error: nothing orders it after the user table
    fix = Fix(
        kind="codemod",
        name=MIGRATION_CODEMOD,
        path=migration.location.path,
        # only a dependency on the user model's creation may become the swappable one: a
        # dependency on a later migration of the user app orders this after that state
        args=(("target", user_key), ("replace_only", creation.name if creation else "__first__")),
        safety="safe",
        description=f"{name}: settings.AUTH_USER_MODEL",
    )
    summary = (
        "write to=settings.AUTH_USER_MODEL and depend on "
        "migrations.swappable_dependency(settings.AUTH_USER_MODEL)"
    )
    for model_name, relation in literal:
        yield Diagnostic(
            code=check.code,
            message=(
                f"{name}: {model_name}.{relation.field_name} names the user model as "
                f"{relation.written.strip()}"
            ),
            location=relation.location,
            why=(
                f"The migration names {user_model!r} instead of settings.AUTH_USER_MODEL: it "
                "works, but describes a different schema as soon as the setting changes, and a "
                "plain dependency on the user app stops ordering it after the user table. "
                "makemigrations writes to=settings.AUTH_USER_MODEL with "
                "migrations.swappable_dependency(settings.AUTH_USER_MODEL)."
            ),
            fix_summary=summary,
            severity="warning",
            fixes=(fix,),
        )
    if literal or any(d.swappable == SETTING for d in migration.dependencies):
        return
    creates = {"__first__", creation.name} if creation is not None else {"__first__"}
    hard = next(
        (
            d
            for d in migration.dependencies
            if d.swappable is None and d.app_label == user_label and d.name in creates
        ),
        None,
    )
    if hard is None:
        # other dependencies order it after the user model, or it depends on a later migration
        # of the user app on purpose (a pk or field change): nothing to report
        return
    yield Diagnostic(
        code=check.code,
        message=(
            f"{name} depends on ('{hard.app_label}', '{hard.name}') for the user model instead "
            "of swappable_dependency(settings.AUTH_USER_MODEL)"
        ),
        location=migration.location,
        why=(
            f"The dependency names the app that holds AUTH_USER_MODEL today ({user_model!r}): "
            "it works, but when the setting changes the migration no longer waits for the user "
            "table. makemigrations writes migrations.swappable_dependency(settings.AUTH_USER_MODEL)."
        ),
        fix_summary="depend on migrations.swappable_dependency(settings.AUTH_USER_MODEL)",
        severity="warning",
        fixes=(fix,),
    )
