"""Run Django's own ``makemigrations`` in the *project's* interpreter and report, not write.

Executed by path (``python makemigrations_driver.py SPEC.json``) with the project as working
directory, so it imports nothing from tenantfix: the project's interpreter may not have it.
The spec holds ``labels`` (apps to generate for), ``out`` (where to write the JSON result),
``scoped`` (limit the autodetector) and ``installed`` (``null``, or the INSTALLED_APPS entries
to load instead of all of them).

It subclasses Django's command and collects each migration's path and text from
``MigrationWriter`` instead of writing files, never consults a database (the consistency check
of the applied history is skipped), and with ``installed`` set loads only the apps the new
migrations can concern: the others' migrations and models are not read at all, and dependencies
that point to them are dropped from the graph (they cannot change the new files).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def _scope_labels(apps: Any, labels: list[str]) -> set[str]:
    """The targets, the apps their forward relations reach, and every parent (MTI) chain."""
    keep = set(labels)
    parents: list[Any] = []
    for label in labels:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            fields = (*model._meta.local_fields, *model._meta.local_many_to_many)
            for other in [f.related_model for f in fields] + list(model._meta.parents):
                if other is not None and not isinstance(other, str):
                    keep.add(other._meta.app_label)
                    parents.extend(other._meta.get_parent_list())
    keep.update(parent._meta.app_label for parent in parents)
    return keep


def _unresolved_relations(apps: Any, labels: list[str]) -> list[str]:
    """Relations of the target apps that point to a model that is not loaded."""
    missing = []
    for label in labels:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            for field in (*model._meta.local_fields, *model._meta.local_many_to_many):
                remote = getattr(field, "remote_field", None)
                if remote is None:
                    continue
                for target in (remote.model, getattr(remote, "through", None)):
                    if isinstance(target, str):
                        missing.append(f"{label}.{model.__name__}.{field.name} -> {target}")
    return missing


def _target_app(field: Any) -> str | None:
    remote = getattr(field, "remote_field", None)
    if remote is None:
        return None
    model = remote.model
    return model.split(".")[0] if isinstance(model, str) else model._meta.app_label


def _scoped_autodetector(base: Any, targets: set[str], keep: set[str]) -> Any:
    from django.db.migrations.state import ProjectState

    def scope(state: Any) -> Any:
        # Related apps' models stay as relation targets, with the fields that leave the scope
        # stripped alike in both states: they yield no operations (and would be trimmed anyway).
        models = {}
        for key, model_state in state.models.items():
            if key[0] not in keep:
                continue
            if key[0] not in targets:
                model_state = model_state.clone()
                for name, field in list(model_state.fields.items()):
                    if _target_app(field) not in (None, *keep):
                        del model_state.fields[name]
            models[key] = model_state
        return ProjectState(models=models, real_apps=set(state.real_apps))

    class ScopedAutodetector(base):  # type: ignore[misc]
        def __init__(self, from_state: Any, to_state: Any, questioner: Any = None) -> None:
            super().__init__(scope(from_state), scope(to_state), questioner)

    return ScopedAutodetector


def _scoped_loader(base: Any) -> Any:
    class ScopedLoader(base):  # type: ignore[misc]
        def add_external_dependencies(self, key: Any, migration: Any) -> None:
            # Only some apps are installed: dependencies on the others cannot be resolved and
            # do not matter for the new migrations, whose own dependencies are computed from
            # the apps that are loaded.
            known = self.migrated_apps | self.unmigrated_apps
            migration.dependencies = [
                d for d in migration.dependencies if d[0] == key[0] or d[0] in known
            ]
            migration.run_before = [c for c in migration.run_before if c[0] in known]
            super().add_external_dependencies(key, migration)

    return ScopedLoader


def main(spec_path: str) -> None:
    with open(spec_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    labels: list[str] = spec["labels"]
    sys.path.insert(0, os.getcwd())

    if spec.get("installed") is not None:
        from django.conf import settings

        settings.INSTALLED_APPS = spec["installed"]

    import django

    django.setup()
    from django.apps import apps
    from django.core.management import call_command
    from django.core.management.commands import makemigrations
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.writer import MigrationWriter

    if spec.get("installed") is not None:
        unresolved = _unresolved_relations(apps, labels)
        if unresolved:
            # The guessed app subset is too small: a relation of a target would be written
            # differently. Exit so the caller reruns with the whole project.
            sys.stderr.write("tenantfix: scope too narrow: " + ", ".join(unresolved) + "\n")
            raise SystemExit(3)

    collected: list[dict[str, str]] = []

    class Command(makemigrations.Command):  # type: ignore[misc]
        def write_migration_files(
            self, changes: Any, update_previous_migration_paths: Any = None
        ) -> None:
            for app_label, migrations in changes.items():
                for migration in migrations:
                    writer = MigrationWriter(migration, self.include_header)
                    init = os.path.join(os.path.dirname(writer.path), "__init__.py")
                    if not os.path.exists(init) and all(r["path"] != init for r in collected):
                        # makemigrations creates the package with an empty __init__.py
                        collected.append({"app": app_label, "path": init, "content": ""})
                    collected.append(
                        {"app": app_label, "path": writer.path, "content": writer.as_string()}
                    )

    # tenantfix never touches a database: skip the check of the applied history.
    MigrationLoader.check_consistent_history = lambda self, connection: None
    if spec.get("installed") is not None:
        makemigrations.MigrationLoader = _scoped_loader(MigrationLoader)
    if spec.get("scoped", True):
        keep = _scope_labels(apps, labels)
        if hasattr(makemigrations.Command, "autodetector"):  # Django >= 5.2
            Command.autodetector = _scoped_autodetector(
                makemigrations.Command.autodetector, set(labels), keep
            )
        else:
            makemigrations.MigrationAutodetector = _scoped_autodetector(
                makemigrations.MigrationAutodetector, set(labels), keep
            )
    call_command(Command(), *labels, interactive=False, verbosity=0)
    with open(spec["out"], "w", encoding="utf-8") as fh:
        json.dump(collected, fh)


if __name__ == "__main__":
    main(sys.argv[1])
