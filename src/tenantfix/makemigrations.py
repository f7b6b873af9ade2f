"""Generate missing migrations with Django's own ``makemigrations``, in the project's interpreter.

The project's settings are never imported into tenantfix's process: ``drivers/
makemigrations_driver.py`` runs in the project's interpreter, subclasses Django's command and
hands back each migration file's path and text as ``MigrationWriter`` renders it, so the caller
decides where the bytes go (a branch, a dry-run diff, or the working tree).

Speed: Django's autodetector compares every model of the project. The driver can load only
``installed`` apps (those the new migrations can concern) and scopes the autodetector to the
targets and the apps their relations reach. If that fast run fails for any reason (an app that
imports another at module level, say), the plain run over the whole project decides.

Django 2.2 to 6.0: the driver feature-detects what differs between versions. Where the scoped
autodetector cannot run on the project's Django it runs plain ``makemigrations <app>`` and says
so; :func:`generate_migrations` returns those notes with the files.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tenantfix import interrupt
from tenantfix.errors import ExitCode, TenantfixError

DRIVER = Path(__file__).parent / "drivers" / "makemigrations_driver.py"


@dataclass(frozen=True, slots=True)
class Generation:
    """The new migration files (path relative to the project -> bytes), and what to tell the user."""

    files: dict[str, bytes]
    notes: tuple[str, ...] = field(default_factory=tuple)
    django_version: str | None = None  # the project's Django, as the driver found it


def generate(
    project_dir: Path,
    *,
    settings_module: str,
    app_labels: Sequence[str],
    python: str | None = None,
    scoped: bool = True,
    installed: Sequence[str] | None = None,
) -> dict[str, bytes]:
    """New migration files for ``app_labels``: path relative to ``project_dir`` -> bytes.

    ``scoped=False`` is plain makemigrations (the tests compare both). ``installed`` loads only
    those INSTALLED_APPS entries, falling back to the whole project if that run fails.
    A missing ``migrations/`` package is part of the result as the empty ``__init__.py``
    that makemigrations itself would create. Nothing is written under ``project_dir``.
    """
    return generate_migrations(
        project_dir,
        settings_module=settings_module,
        app_labels=app_labels,
        python=python,
        scoped=scoped,
        installed=installed,
    ).files


def generate_migrations(
    project_dir: Path,
    *,
    settings_module: str,
    app_labels: Sequence[str],
    python: str | None = None,
    scoped: bool = True,
    installed: Sequence[str] | None = None,
) -> Generation:
    """:func:`generate`, with the driver's notes (e.g. a fallback to plain makemigrations)."""
    if not app_labels:
        return Generation(files={})
    if installed is not None:
        try:
            return _run(project_dir, settings_module, app_labels, python, scoped, list(installed))
        except TenantfixError as exc:
            if exc.exit_code == ExitCode.USAGE:  # the interpreter itself is missing
                raise
    return _run(project_dir, settings_module, app_labels, python, scoped, None)


def _run(
    project_dir: Path,
    settings_module: str,
    app_labels: Sequence[str],
    python: str | None,
    scoped: bool,
    installed: list[str] | None,
) -> Generation:
    interpreter = python or sys.executable
    manage_py = project_dir / "manage.py"
    with tempfile.TemporaryDirectory(prefix="tenantfix-mm-") as tmp:
        out = Path(tmp) / "migrations.json"
        spec = Path(tmp) / "spec.json"
        spec.write_text(
            json.dumps(
                {
                    "labels": list(app_labels),
                    "out": str(out),
                    "scoped": scoped,
                    "installed": installed,
                    # run through the project's manage.py, as `python manage.py makemigrations`
                    "manage_py": str(manage_py) if manage_py.is_file() else None,
                }
            ),
            encoding="utf-8",
        )
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings_module,
            # a manage.py assigning DJANGO_SETTINGS_MODULE keeps the module tenantfix resolved
            "TENANTFIX_SETTINGS_OVERRIDE": settings_module,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(project_dir), os.environ.get("PYTHONPATH")])
            ),
            # importing the project must leave no __pycache__ in it
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        try:
            child = subprocess.Popen(
                [interpreter, str(DRIVER), str(spec)],
                cwd=project_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            # a worker thread waits here: the child must stop when tenantfix is interrupted
            stdout, stderr = interrupt.wait_child(child, timeout=600)
            proc = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
        except FileNotFoundError:
            raise TenantfixError(
                f"the project interpreter {interpreter!r} does not exist; pass --python with the "
                "interpreter of the project's virtualenv",
                ExitCode.USAGE,
            ) from None
        if proc.returncode == -signal.SIGINT or interrupt.received():
            # Ctrl-C reached the driver too (this may be a worker thread): no fallback rerun
            raise KeyboardInterrupt
        if proc.returncode != 0 or not out.exists():
            raise _failure(proc, project_dir, app_labels, interpreter)
        result = json.loads(out.read_text(encoding="utf-8"))
    root = project_dir.resolve()
    files = {
        Path(r["path"]).resolve().relative_to(root).as_posix(): r["content"].encode("utf-8")
        for r in result["migrations"]
    }
    return Generation(
        files=files,
        notes=tuple(str(n) for n in result.get("notes", ())),
        django_version=result.get("django"),
    )


def _failure(
    proc: subprocess.CompletedProcess[str],
    project_dir: Path,
    app_labels: Sequence[str],
    interpreter: str,
) -> TenantfixError:
    """The driver's failure as one exception line and the project line it points at."""
    from tenantfix.tracebacks import SubprocessFailed, summarize

    output = (proc.stderr or "") + (proc.stdout or "")
    failure = summarize(output, project_dir, ours=(DRIVER,), through=(project_dir / "manage.py",))
    if failure.exception and "No module named 'django'" in failure.exception:
        return SubprocessFailed(
            f"the interpreter {interpreter} cannot import Django ({failure.exception}); pass "
            "--python with the interpreter of the environment where the project's requirements "
            "are installed",
            ExitCode.USAGE,
            output,
        )
    hint = ""
    if failure.exception and failure.exception.startswith("ModuleNotFoundError"):
        hint = (
            f"\n    a package the project imports is not installed for {interpreter}: pass "
            "--python with the project's interpreter (its virtualenv's bin/python)"
        )
    return SubprocessFailed(
        f"Django's makemigrations {' '.join(app_labels)} failed in {interpreter}: "
        f"{failure.describe()}{hint}",
        ExitCode.REFUSED,
        output,
    )
