"""A model field relates to the swapped-out ``auth.User`` while AUTH_USER_MODEL names a custom model.

What it finds: in a first-party app, while AUTH_USER_MODEL names a custom user model, a
ForeignKey / OneToOneField / ManyToManyField whose target is ``'auth.User'``, the imported
``django.contrib.auth.models.User`` or ``auth.models.User``: the model the setting swapped out.
Installed packages are left alone. A literal reference to the *current* user model
(``'users.User'``, an imported ``User`` class, ``get_user_model()``) works and is not reported
here: it is the opt-in style rule TF013.

Why: Django's system checks stop every management command, ``migrate_schemas`` included, with
``fields.E301 Field defines a relation with the model 'auth.User', which has been swapped out.``
(``HINT: Update the relation to point at 'settings.AUTH_USER_MODEL'.``); a migration made from
such a field fails with ``relation "auth_user" does not exist``, because the swapped-out
``auth_user`` table is never created.

Example::

    buyer = models.ForeignKey("auth.User", on_delete=models.CASCADE)               # before
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)  # after

Fix (safe): the ``use_auth_user_model_setting`` codemod replaces only that field's target with
``settings.AUTH_USER_MODEL``, adds ``from django.conf import settings`` if missing and removes
the imports that the edit left unused.
https://docs.djangoproject.com/en/stable/topics/auth/customizing/#referencing-the-user-model
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantfix.checks import Check
from tenantfix.checks._user_model import DEFAULT_USER, declared_relations
from tenantfix.graph.model import App, Model, ProjectGraph, Relation
from tenantfix.plan import Diagnostic, Fix, Prediction

check = Check(__name__)

CODEMOD = "use_auth_user_model_setting"
# Django's text (django/db/models/fields/related.py, RelatedField._check_relation_model_exists)
E301 = (
    "(fields.E301) Field defines a relation with the model 'auth.User', which has been swapped out."
)
E301_HINT = "HINT: Update the relation to point at 'settings.AUTH_USER_MODEL'."


@check.register
def run(graph: ProjectGraph) -> Iterator[Diagnostic]:
    user_model = graph.settings.user_model
    if graph.resolve_model(user_model) == DEFAULT_USER:
        return  # with the default user model 'auth.User' is the configured target
    for app in graph.apps:
        if not app.local:
            continue
        for model in app.models:
            for relation in declared_relations(graph, model):
                if (
                    relation.target is not None
                    and not relation.is_swappable_user
                    and graph.resolve_model(relation.target) == DEFAULT_USER
                ):
                    yield _diagnostic(app, model, relation, user_model)


def setting_fix(model: Model, relation: Relation) -> Fix:
    """The codemod fix that points ``model.relation`` at settings.AUTH_USER_MODEL (TF013 too)."""
    written = relation.written.strip()
    return Fix(
        kind="codemod",
        name=CODEMOD,
        path=relation.location.path,
        args=(("model", model.name), ("field", relation.field_name)),
        safety="safe",
        description=f"{model.name}.{relation.field_name}: {written} -> settings.AUTH_USER_MODEL",
    )


def setting_fix_summary(model: Model, relation: Relation) -> str:
    return (
        f"point {model.name}.{relation.field_name} at settings.AUTH_USER_MODEL "
        "(adds `from django.conf import settings`, drops imports left unused)"
    )


def _diagnostic(app: App, model: Model, relation: Relation, user_model: str) -> Diagnostic:
    field = f"{app.label}.{model.name}.{relation.field_name}"
    written = relation.written.strip()
    error = f"{field}: {E301}"
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
            f"`{error}` ({E301_HINT}). A migration written from this field fails with "
            f'`relation "auth_user" does not exist`: the swapped-out auth_user table is '
            f"never created."
        ),
        fix_summary=setting_fix_summary(model, relation),
        severity="error",
        prediction=Prediction(
            step="migrate_schemas --shared", migration=None, error=f"SystemCheckError: {error}"
        ),
        fixes=(setting_fix(model, relation),),
    )
