"""Helpers shared by the user-model rules (TF006, TF007, TF013): which relations a class or a
migration declares, and whether a migration's dependencies reach the user model's creation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from tenantfix.graph.model import App, Dependency, Migration, Model, ProjectGraph, Relation

DEFAULT_USER = "auth.user"
SETTING = "AUTH_USER_MODEL"
Reach = Literal["yes", "no", "unknown"]


def declared_relations(graph: ProjectGraph, model: Model) -> Iterator[Relation]:
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


def migration_relations(migration: Migration) -> Iterator[tuple[str, Relation]]:
    """(model name, relation) of every CreateModel field and AddField/AlterField."""
    for created in migration.created_models:
        for relation in created.relations:
            yield created.name, relation
    yield from migration.added_relations


def targets_user(graph: ProjectGraph, relation: Relation, user_key: str) -> bool:
    """Through the setting, or the configured model written literally."""
    if relation.is_swappable_user:
        return True
    return relation.target is not None and graph.resolve_model(relation.target) == user_key


def user_creation(graph: ProjectGraph, user_key: str) -> Migration | None:
    """The migration whose CreateModel makes the user model; None when we could not read it."""
    label, _, name = user_key.partition(".")
    app = graph.app(label)
    if app is None:
        return None
    for migration in app.migrations:
        if any(c.name.lower() == name for c in migration.created_models):
            return migration
    return None


def reaches(graph: ProjectGraph, start: Migration, target: Migration) -> Reach:
    """Whether ``start`` depends, transitively, on ``target`` (Django's plan respects no other
    order). ``swappable_dependency(settings.AUTH_USER_MODEL)`` counts as reaching the user
    model's creation, as Django resolves it to the user app's first migration; a dependency on a
    migration we could not read (an app we did not find, a missing file) makes the answer
    ``unknown`` unless another path gets there."""
    run_before: dict[tuple[str, str], list[Migration]] = {}
    for app in graph.apps:
        for migration in app.migrations:
            for key in migration.run_before:
                run_before.setdefault(key, []).append(migration)
    seen: set[tuple[str, str]] = set()
    stack = [start]
    unknown = False
    while stack:
        migration = stack.pop()
        if migration.key == target.key or target.key in migration.replaces:
            return "yes"
        if migration.key in seen:
            continue
        seen.add(migration.key)
        stack.extend(run_before.get(migration.key, ()))
        for dep in migration.dependencies:
            if dep.swappable == SETTING:
                return "yes"
            found = _resolve(graph, dep)
            if found is None:
                unknown = True
            else:
                stack.extend(found)
    return "unknown" if unknown else "no"


def _resolve(graph: ProjectGraph, dep: Dependency) -> list[Migration] | None:
    app = graph.app(dep.app_label)
    if app is None or not app.migrations:
        return None
    if dep.name == "__first__":
        roots = [m for m in app.migrations if not _in_app_parents(app, m)]
        return roots or None
    if dep.name == "__latest__":
        parents = {(d.app_label, d.name) for m in app.migrations for d in m.dependencies}
        leaves = [m for m in app.migrations if m.key not in parents]
        return leaves or None
    for migration in app.migrations:
        if migration.name == dep.name or (dep.app_label, dep.name) in migration.replaces:
            return [migration]
    return None


def _in_app_parents(app: App, migration: Migration) -> bool:
    return any(d.app_label == app.label and d.swappable is None for d in migration.dependencies)
