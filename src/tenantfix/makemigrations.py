"""Generate missing migrations with Django's own ``makemigrations``, in the project's interpreter.

The project's settings are never imported into tenantfix's process. A small driver runs in the
project's interpreter: it subclasses Django's ``makemigrations`` command and, instead of writing,
hands back each migration file's path and text (as ``MigrationWriter`` renders it), so the
caller decides where the bytes go (a branch, a dry-run diff, or the working tree).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tenantfix.errors import ExitCode, TenantfixError

_DRIVER = r"""
import json, os, sys
out_path, labels = sys.argv[1], sys.argv[2:]
sys.path.insert(0, os.getcwd())
import django
django.setup()
from django.core.management import call_command
from django.core.management.commands import makemigrations
from django.db.migrations.writer import MigrationWriter

collected = []


def _scope_labels(labels):
    # The targets, the apps their forward relations point to, and every parent (MTI) chain.
    from django.apps import apps
    keep = set(labels)
    parents = []
    for label in labels:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            fields = (*model._meta.local_fields, *model._meta.local_many_to_many)
            for other in [f.related_model for f in fields] + list(model._meta.parents):
                if other is not None and not isinstance(other, str):
                    keep.add(other._meta.app_label)
                    parents.extend(other._meta.get_parent_list())
    keep.update(parent._meta.app_label for parent in parents)
    return keep


def _target_app(field):
    remote = getattr(field, "remote_field", None)
    if remote is None:
        return None
    model = remote.model
    return model.split(".")[0] if isinstance(model, str) else model._meta.app_label


def _scoped(base, targets, keep):
    from django.db.migrations.state import ProjectState

    def scope(state):
        # Models of the related apps keep only fields that stay inside the scope: they are
        # needed as relation targets, and are stripped alike in both states, so they yield
        # no operations (which would be trimmed away anyway).
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

    class ScopedAutodetector(base):
        def __init__(self, from_state, to_state, questioner=None):
            super().__init__(scope(from_state), scope(to_state), questioner)

    return ScopedAutodetector


class Command(makemigrations.Command):
    def write_migration_files(self, changes, update_previous_migration_paths=None):
        for app_label, migrations in changes.items():
            for migration in migrations:
                writer = MigrationWriter(migration, self.include_header)
                directory = os.path.dirname(writer.path)
                init = os.path.join(directory, "__init__.py")
                if not os.path.exists(init) and all(r["path"] != init for r in collected):
                    # makemigrations creates the package with an empty __init__.py
                    collected.append({"app": app_label, "path": init, "content": ""})
                collected.append({"app": app_label, "path": writer.path, "content": writer.as_string()})

if labels and os.environ.get("TENANTFIX_SCOPED_AUTODETECTOR", "1") == "1":
    # The autodetector compares every model of the project (quadratic in models); changes
    # are then trimmed to the requested apps anyway, so compare only the apps they can touch.
    keep = _scope_labels(labels)
    if hasattr(makemigrations.Command, "autodetector"):  # Django >= 5.2
        Command.autodetector = _scoped(makemigrations.Command.autodetector, set(labels), keep)
    else:
        makemigrations.MigrationAutodetector = _scoped(makemigrations.MigrationAutodetector, set(labels), keep)

call_command(Command(), *labels, interactive=False, verbosity=0)
with open(out_path, "w", encoding="utf-8") as fh:
    json.dump(collected, fh)
"""


def generate(
    project_dir: Path,
    *,
    settings_module: str,
    app_labels: Sequence[str],
    python: str | None = None,
    scoped: bool = True,
) -> dict[str, bytes]:
    """New migration files for ``app_labels``: path relative to ``project_dir`` -> bytes.

    ``scoped`` limits Django's autodetector to the requested apps and the apps their
    relations reach, which yields the same files at a fraction of the cost on big projects
    (``scoped=False`` is plain makemigrations; the tests compare both).
    A missing ``migrations/`` package is part of the result as the empty ``__init__.py``
    that makemigrations itself would create. Nothing is written under ``project_dir``.
    """
    if not app_labels:
        return {}
    interpreter = python or sys.executable
    with tempfile.TemporaryDirectory(prefix="tenantfix-mm-") as tmp:
        out = Path(tmp) / "migrations.json"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(project_dir), os.environ.get("PYTHONPATH")])
            ),
            "PYTHONDONTWRITEBYTECODE": "1",
            "TENANTFIX_SCOPED_AUTODETECTOR": "1" if scoped else "0",
        }
        try:
            proc = subprocess.run(
                [interpreter, "-c", _DRIVER, str(out), *app_labels],
                cwd=project_dir,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        except FileNotFoundError:
            raise TenantfixError(
                f"the project interpreter {interpreter!r} does not exist; pass --python with the "
                "interpreter of the project's virtualenv",
                ExitCode.USAGE,
            ) from None
        if proc.returncode != 0 or not out.exists():
            raise TenantfixError(
                f"Django's makemigrations {' '.join(app_labels)} failed in {interpreter}:\n"
                + _tail(proc.stderr or proc.stdout),
                ExitCode.REFUSED,
            )
        records = json.loads(out.read_text(encoding="utf-8"))
    files: dict[str, bytes] = {}
    for record in records:
        path = Path(record["path"]).resolve()
        files[path.relative_to(project_dir.resolve()).as_posix()] = record["content"].encode(
            "utf-8"
        )
    return files


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines()[-lines:])
