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

Django 2.2 to 6.0, on any Python those run on (3.6 and up; see ``drivers/__init__.py``): what
differs between Django versions is feature-detected, never keyed on version numbers —
``ModelState.fields`` (a list of pairs before Django 3.1, a dict since), where the autodetector
class lives (``Command.autodetector`` since 5.2, the module global before), ``include_header``
(2.2+). If the scoped autodetector cannot run on this Django anyway, the driver falls back to
plain ``makemigrations <app>`` (the whole project compared, Django trims to the targets) and says
so in ``notes``; the files are then exactly what Django itself would write.

The result file is ``{"migrations": [{"app", "path", "content"}], "notes": [...],
"django": "<version>"}``.
"""

import json
import os
import sys
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple


def _scope_labels(apps: Any, labels: List[str]) -> Set[str]:
    """The targets, the apps their forward relations reach, and every parent (MTI) chain."""
    keep = set(labels)
    parents = []  # type: List[Any]
    for label in labels:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            fields = (*model._meta.local_fields, *model._meta.local_many_to_many)
            for other in [f.related_model for f in fields] + list(model._meta.parents):
                if other is not None and not isinstance(other, str):
                    keep.add(other._meta.app_label)
                    parents.extend(other._meta.get_parent_list())
    keep.update(parent._meta.app_label for parent in parents)
    return keep


def _unresolved_relations(apps: Any, labels: List[str]) -> List[str]:
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
                        missing.append(
                            "{}.{}.{} -> {}".format(label, model.__name__, field.name, target)
                        )
    return missing


def _target_app(field: Any) -> Optional[str]:
    remote = getattr(field, "remote_field", None)
    if remote is None:
        return None
    model = remote.model
    return model.split(".")[0] if isinstance(model, str) else model._meta.app_label


def _field_items(model_state: Any) -> List[Tuple[str, Any]]:
    """(name, field) pairs: ``ModelState.fields`` is a dict since Django 3.1, a list before."""
    fields = model_state.fields
    return list(fields.items()) if isinstance(fields, dict) else list(fields)


def _drop_fields(model_state: Any, names: Set[str]) -> None:
    if isinstance(model_state.fields, dict):
        for name in names:
            del model_state.fields[name]
    else:
        model_state.fields = [(n, f) for n, f in model_state.fields if n not in names]


def _scoped_state(state: Any, targets: Set[str], keep: Set[str]) -> Any:
    from django.db.migrations.state import ProjectState

    # Related apps' models stay as relation targets, with the fields that leave the scope
    # stripped alike in both states: they yield no operations (and would be trimmed anyway).
    models = {}
    for key, model_state in state.models.items():
        if key[0] not in keep:
            continue
        if key[0] not in targets:
            leaving = {
                name
                for name, field in _field_items(model_state)
                if _target_app(field) not in (None, *keep)
            }
            if leaving:
                model_state = model_state.clone()
                _drop_fields(model_state, leaving)
        models[key] = model_state
    # real_apps is a list before Django 4.0 and must be a set since: keep the state's own type.
    return ProjectState(models=models, real_apps=type(state.real_apps)(state.real_apps))


def _scoped_autodetector(base: Any, targets: Set[str], keep: Set[str], notes: List[str]) -> Any:
    class ScopedAutodetector(base):  # type: ignore[misc]
        def __init__(self, from_state: Any, to_state: Any, questioner: Any = None) -> None:
            try:
                scoped = (
                    _scoped_state(from_state, targets, keep),
                    _scoped_state(to_state, targets, keep),
                )
            except Exception as exc:  # a Django whose migration state we do not know
                notes.append(
                    "the scoped autodetector cannot run on Django {} ({}: {}); ran plain "
                    "makemigrations {} over the whole project instead".format(
                        _django_version(), type(exc).__name__, exc, " ".join(sorted(targets))
                    )
                )
                scoped = (from_state, to_state)
            super().__init__(scoped[0], scoped[1], questioner)

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


def _django_version() -> str:
    import django

    return str(django.get_version())


def _install_autodetector(command: Any, makemigrations: Any, factory: Any) -> bool:
    """Put a subclass of the autodetector where this Django's makemigrations looks it up."""
    if hasattr(makemigrations.Command, "autodetector"):  # Django >= 5.2: a class attribute
        command.autodetector = factory(makemigrations.Command.autodetector)
        return True
    if hasattr(makemigrations, "MigrationAutodetector"):  # before: the module's global
        makemigrations.MigrationAutodetector = factory(makemigrations.MigrationAutodetector)
        return True
    return False


def _records(
    changes: Any, include_header: Optional[bool], seen: List[Dict[str, str]]
) -> Iterator[Dict[str, str]]:
    from django.db.migrations.writer import MigrationWriter

    for app_label, migrations in changes.items():
        for migration in migrations:
            # include_header (--no-header) exists since Django 2.2; older writers take no flag
            if include_header is None:
                writer = MigrationWriter(migration)
            else:
                writer = MigrationWriter(migration, include_header)
            init = os.path.join(os.path.dirname(writer.path), "__init__.py")
            if not os.path.exists(init) and all(r["path"] != init for r in seen):
                # makemigrations creates the package with an empty __init__.py
                yield {"app": app_label, "path": init, "content": ""}
            yield {"app": app_label, "path": writer.path, "content": writer.as_string()}


def main(spec_path: str) -> None:
    with open(spec_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    sys.path.insert(0, os.getcwd())
    manage_py = spec.get("manage_py")
    if not manage_py:
        _generate(spec)
        return
    # as `python manage.py makemigrations` would: what the project's manage.py does before
    # Django starts (a .env load, sys.path entries) happens first; see migrate_driver's
    # run_through_manage_py, loaded from this directory (its hooks are not installed here)
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrate_driver.py")
    module_spec = importlib.util.spec_from_file_location("_tenantfix_manage_py", path)
    assert module_spec is not None and module_spec.loader is not None
    shared = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(shared)
    shared.keep_settings_module()
    shared.run_through_manage_py(
        manage_py, ["makemigrations", *spec["labels"]], lambda: _generate(spec)
    )


def _generate(spec: Dict[str, Any]) -> None:
    labels = spec["labels"]  # type: List[str]

    if spec.get("installed") is not None:
        from django.conf import settings

        settings.INSTALLED_APPS = spec["installed"]

    import django

    django.setup()
    from django.apps import apps
    from django.core.management import call_command
    from django.core.management.commands import makemigrations
    from django.db.migrations.loader import MigrationLoader

    if spec.get("installed") is not None:
        unresolved = _unresolved_relations(apps, labels)
        if unresolved:
            # The guessed app subset is too small: a relation of a target would be written
            # differently. Exit so the caller reruns with the whole project.
            sys.stderr.write("tenantfix: scope too narrow: " + ", ".join(unresolved) + "\n")
            raise SystemExit(3)

    collected = []  # type: List[Dict[str, str]]
    notes = []  # type: List[str]

    class Command(makemigrations.Command):  # type: ignore[misc]
        def write_migration_files(self, changes: Any, *args: Any, **kwargs: Any) -> None:
            # Django 4.2 added update_previous_migration_paths; earlier ones pass only changes
            collected.extend(_records(changes, getattr(self, "include_header", None), collected))

    # tenantfix never touches a database: skip the check of the applied history.
    MigrationLoader.check_consistent_history = lambda self, connection: None
    if spec.get("installed") is not None:
        makemigrations.MigrationLoader = _scoped_loader(MigrationLoader)
    if spec.get("scoped", True):
        keep = _scope_labels(apps, labels)

        def factory(base: Any) -> Any:
            return _scoped_autodetector(base, set(labels), keep, notes)

        if not _install_autodetector(Command, makemigrations, factory):
            notes.append(
                "Django {}'s makemigrations has no autodetector tenantfix can scope; ran plain "
                "makemigrations {} over the whole project".format(
                    _django_version(), " ".join(labels)
                )
            )
    call_command(Command(), *labels, interactive=False, verbosity=0)
    with open(spec["out"], "w", encoding="utf-8") as fh:
        json.dump({"migrations": collected, "notes": notes, "django": _django_version()}, fh)


if __name__ == "__main__":
    main(sys.argv[1])
