"""A model field references the user model by a hard-coded target instead of settings.AUTH_USER_MODEL.

What it finds: in a first-party app, while AUTH_USER_MODEL names a custom user model, a
ForeignKey / OneToOneField / ManyToManyField whose target is ``'auth.User'`` or the imported
``django.contrib.auth.models.User`` (the swapped-out model: an error), or the configured model
written literally (``'users.User'``, an imported ``User`` class, ``get_user_model()``: a warning).
The user app's own relations to its own user class are left alone, and so are installed packages.

Why: a relation to the swapped-out ``auth.User`` stops every management command, ``migrate_schemas``
included, with ``fields.E301 Field defines a relation with the model 'auth.User', which has been
swapped out``; a migration made from such a field fails with ``relation "auth_user" does not
exist``, because the swapped-out ``auth_user`` table is never created. A literal or imported user
model only works while the setting and the app import order stay as they are; Django's docs say
to always use ``settings.AUTH_USER_MODEL`` in relations to the user model.

Fix safety: safe. The ``use_auth_user_model_setting`` codemod replaces only that field's target
with ``settings.AUTH_USER_MODEL``, adds ``from django.conf import settings`` if missing and removes
the imports that the edit left unused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tenantfix.checks import Check
from tenantfix.graph.model import App, Model, ProjectGraph, Relation
from tenantfix.plan import Diagnostic, Fix, Prediction

check = Check(__name__)

CODEMOD = "use_auth_user_model_setting"
DEFAULT_USER = "auth.user"
_GET_USER_MODEL = re.compile(r"(^|\.)get_user_model\(\s*\)$")
_SETTING = re.compile(r"(^|\.)AUTH_USER_MODEL$")


@check.register
def run(graph: ProjectGraph) -> Iterator[Diagnostic]:
    user_model = graph.settings.user_model
    user_key = graph.resolve_model(user_model)
    if user_key == DEFAULT_USER:
        return  # with the default user model 'auth.User' is the configured target
    user_label = user_key.partition(".")[0]
    for app in graph.apps:
        if not app.local:
            continue
        for model in app.models:
            for relation in _declared_relations(graph, model):
                found = _classify(graph, app, relation, user_key, user_label)
                if found is not None:
                    yield _diagnostic(graph, app, model, relation, user_model, found)


def _declared_relations(graph: ProjectGraph, model: Model) -> Iterator[Relation]:
    """The relations written in this class: not inherited, not a multi-table parent link."""
    inherited: set[Relation] = set()
    for base in model.bases:
        parent = graph.model(base) if "." in base else None
        if parent is not None:
            inherited.update(parent.relations)
    for relation in model.relations:
        synthetic = relation.location == model.location
        if not synthetic and relation not in inherited:
            yield relation


def _classify(
    graph: ProjectGraph, app: App, relation: Relation, user_key: str, user_label: str
) -> str | None:
    """What kind of hard-coded reference: swapped, get_user_model, literal; None if fine."""
    written = relation.written.strip()
    if _SETTING.search(written) or written.strip("'\"") == "self":
        return None
    if relation.is_swappable_user or _GET_USER_MODEL.search(written):
        # get_user_model() or a name bound to it; even the user app gains nothing from the
        # registry lookup at import time that settings.AUTH_USER_MODEL does not give
        return "get_user_model"
    if relation.target is None:
        return None
    target_key = graph.resolve_model(relation.target)
    if target_key == DEFAULT_USER:
        return "swapped"
    if target_key == user_key and app.label != user_label:
        return "literal"
    return None


def _diagnostic(
    graph: ProjectGraph, app: App, model: Model, relation: Relation, user_model: str, found: str
) -> Diagnostic:
    field = f"{app.label}.{model.name}.{relation.field_name}"
    written = relation.written.strip()
    fix = Fix(
        kind="codemod",
        name=CODEMOD,
        path=relation.location.path,
        args=(("model", model.name), ("field", relation.field_name)),
        safety="safe",
        description=f"{model.name}.{relation.field_name}: {written} -> settings.AUTH_USER_MODEL",
    )
    fix_summary = (
        f"point {model.name}.{relation.field_name} at settings.AUTH_USER_MODEL "
        "(adds `from django.conf import settings`, drops imports left unused)"
    )
    if found == "swapped":
        error = (
            f"{field}: (fields.E301) Field defines a relation with the model 'auth.User', "
            "which has been swapped out."
        )
        return Diagnostic(
            code=check.code,
            message=(
                f"{field} references the swapped-out user model ({written}); "
                f"AUTH_USER_MODEL is {user_model!r}"
            ),
            location=relation.location,
            why=(
                f"AUTH_USER_MODEL = {user_model!r} swaps out auth.User, so Django's system checks "
                f"stop `manage.py check`, `migrate_schemas` and every other command with "
                f"`{error}` (HINT: Update the relation to point at 'settings.AUTH_USER_MODEL'). "
                f"A migration written from this field fails with "
                f'`relation "auth_user" does not exist`: the swapped-out auth_user table is '
                f"never created."
            ),
            fix_summary=fix_summary,
            severity="error",
            prediction=Prediction(
                step="migrate_schemas --shared", migration=None, error=f"SystemCheckError: {error}"
            ),
            fixes=(fix,),
        )
    if found == "get_user_model":
        why = (
            f"get_user_model() imports {user_model!r} while this models module is being "
            f"imported: it works, but it ties the two apps' import order and turns any import of "
            f"this module from the user app into a circular import. Django's docs: use "
            f"settings.AUTH_USER_MODEL in relations (makemigrations already writes it that way)."
        )
    else:
        why = (
            f"{written} is the configured user model written literally: the relation follows "
            f"{user_model!r} only until AUTH_USER_MODEL changes, and importing the user class "
            f"into another app's models ties their import order. Django's docs: always use "
            f"settings.AUTH_USER_MODEL in relations to the user model (makemigrations already "
            f"writes it that way)."
        )
    return Diagnostic(
        code=check.code,
        message=f"{field} hard-codes the user model as {written} instead of settings.AUTH_USER_MODEL",
        location=relation.location,
        why=why,
        fix_summary=fix_summary,
        severity="warning",
        fixes=(fix,),
    )
