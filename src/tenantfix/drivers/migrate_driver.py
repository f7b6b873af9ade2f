"""Run ``migrate_schemas`` (or one of tenantfix's scripts) in the *project's* interpreter and
report what happened as JSON lines on a side channel, never through the project's stdout.

Executed by path (``python migrate_driver.py SPEC.json``) with the project as working
directory; it imports nothing from tenantfix. The spec holds ``command`` (the arguments after
``manage.py``, run through Django's ``call_command`` with the system checks on, as ``manage.py``
runs them), ``commands`` (several in order in one process, see ``_run_commands``) or ``script``
(code run after ``django.setup()``, with ``sys.argv[1:]`` = ``argv``).
Events are appended to the file named by ``TENANTFIX_MIGRATE_EVENTS``, one JSON object a line,
each written by one ``os.write`` on an ``O_APPEND`` descriptor: lines from the forked workers of
django-tenants' multiprocessing executor land whole, whatever the project prints.

Hooks (class attributes, so forked workers and every subclass that calls ``super()`` inherit
them):

- Django's migrate ``Command.migration_progress_callback(action, migration=None, fake=False)``:
  ``apply_start`` / ``apply_success`` / ``unapply_start`` / ``unapply_success`` with the
  migration label and the time it took;
- ``Command.handle``: one migrate per schema (django-tenants and django-tenant-schemas run
  Django's migrate once per schema, ``connection.schema_name`` set by their schema loop):
  ``schema_start`` / ``schema_done``, and ``error`` when it raises;
- ``MigrationExecutor.migrate``: ``plan`` with the number of migrations this schema will run;
- ``django.core.checks.run_checks``: what a ``SystemCheckError`` was about.

A failure is ``{"event": "error", "type", "message", "migration", "schema", "where", "code",
"traceback"}``: ``where`` is the innermost frame in the project's own files (not an installed
package, not a virtualenv inside the project); ``traceback`` is shown only with --verbose.
The last event is ``{"event": "exit", "code": N}``.

Django 2.2 to 6.0 on Python 3.6+: plain syntax only (see ``drivers/__init__.py``).
"""

import json
import os
import sys
import time
import traceback
from typing import Any, Callable, Dict, List, Optional, Tuple

EVENTS = "TENANTFIX_MIGRATE_EVENTS"
ROOT = "TENANTFIX_PROJECT_ROOT"
DRIVER = "TENANTFIX_MIGRATE_DRIVER"  # this file's path, for processes started by the project
MODULE = "tenantfix_migrate_driver"
OVERRIDE = "TENANTFIX_SETTINGS_OVERRIDE"  # the settings module Django must run on

_state = {
    "connection": None,  # the connection of the migrate running in this process
    "migration": None,  # the migration started and not yet finished
    "started": None,
    "checks": [],  # the last system check run's messages
    "recorded": [],  # exceptions already reported (re-raised through outer frames)
    "installed": False,
    "manage_py": None,  # the project's manage.py, when run through it
}  # type: Dict[str, Any]


def emit(event: Dict[str, Any]) -> None:
    path = os.environ.get(EVENTS)
    if not path:
        return
    event.setdefault("pid", os.getpid())
    event.setdefault("time", time.time())
    data = (json.dumps(event, default=str) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _schema() -> Optional[str]:
    connection = _state["connection"]
    if connection is None:
        from django import db

        connection = db.connection
    name = getattr(connection, "schema_name", None)
    return None if name is None else str(name)


def _type_name(exc: BaseException) -> str:
    kind = type(exc)
    module = getattr(kind, "__module__", None)
    name = getattr(kind, "__qualname__", kind.__name__)
    return name if module in (None, "builtins", "__main__") else "{}.{}".format(module, name)


def _project_frame(exc: BaseException) -> Tuple[Optional[str], Optional[str]]:
    """``(path:line, source line)`` of the innermost frame in the project's own files, looking
    at the exception first and then at what caused it."""
    root = os.path.realpath(os.environ.get(ROOT) or os.getcwd())
    here = os.path.realpath(__file__)
    seen = set()
    current = exc  # type: Optional[BaseException]
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = None  # type: Optional[Tuple[str, Optional[str]]]
        frames = traceback.extract_tb(current.__traceback__)
        for index, frame in enumerate(frames):
            if not os.path.isabs(frame.filename):
                continue  # "<frozen importlib._bootstrap>", "<string>": no file of the project
            path = os.path.realpath(frame.filename)
            if path == here or not path.startswith(root + os.sep):
                continue
            if path == _state["manage_py"] and index < len(frames) - 1:
                continue  # every failure passes manage.py's execute_from_command_line line
            parts = os.path.relpath(path, root).split(os.sep)
            if "site-packages" in parts or "dist-packages" in parts:
                continue
            if os.path.exists(os.path.join(root, parts[0], "pyvenv.cfg")):
                continue  # a virtualenv inside the project
            found = ("{}:{}".format("/".join(parts), frame.lineno), frame.line or None)
        if found is not None:
            return found
        current = current.__cause__ or current.__context__
    return None, None


def _message(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return "exit status {}".format(exc.code)
    try:
        text = str(exc)
    except Exception:  # a broken __str__ must not hide the failure
        text = ""
    if type(exc).__name__ == "SystemCheckError":
        errors = [
            str(m).split("\n\tHINT:")[0]
            for m in _state["checks"]
            if m.is_serious() and not m.is_silenced()
        ]
        if errors:
            return "; ".join(errors)
    return text


def record(exc: BaseException, schema: Optional[str] = None) -> None:
    if any(e is exc for e in _state["recorded"]):
        return
    _state["recorded"].append(exc)
    where, code = _project_frame(exc)
    emit(
        {
            "event": "error",
            "type": _type_name(exc),
            "message": _message(exc),
            "migration": _state["migration"],
            # outside a schema's migrate (settings, models, system checks) there is none to name
            "schema": schema,
            "where": where,
            "code": code,
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        }
    )


def install() -> None:
    from django.core import checks
    from django.core.management.commands import migrate
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations import executor

    command = migrate.Command
    progress = command.migration_progress_callback
    handle = command.handle
    run_migrate = executor.MigrationExecutor.migrate
    run_checks = checks.run_checks

    def migration_progress_callback(
        self: Any, action: str, migration: Any = None, fake: bool = False
    ) -> Any:
        if action in ("apply_start", "unapply_start"):
            _state["migration"] = str(migration)
            _state["started"] = time.monotonic()
            emit({"event": action, "migration": str(migration), "schema": _schema()})
        elif action in ("apply_success", "unapply_success"):
            started = _state["started"]
            emit(
                {
                    "event": action,
                    "migration": str(migration),
                    "schema": _schema(),
                    "fake": bool(fake),
                    "elapsed": None if started is None else time.monotonic() - started,
                }
            )
            _state["migration"] = None
        return progress(self, action, migration, fake)

    def handle_one_schema(self: Any, *args: Any, **options: Any) -> Any:
        _state["connection"] = connections[options.get("database") or DEFAULT_DB_ALIAS]
        _state["migration"] = None
        schema = _schema()
        started = time.monotonic()
        emit({"event": "schema_start", "schema": schema})
        try:
            result = handle(self, *args, **options)
        except Exception as exc:
            record(exc, schema)
            raise
        emit({"event": "schema_done", "schema": schema, "elapsed": time.monotonic() - started})
        return result

    def migrate_plan(self: Any, targets: Any, plan: Any = None, *args: Any, **kwargs: Any) -> Any:
        _state["connection"] = self.connection
        steps = plan if plan is not None else self.migration_plan(targets)
        emit({"event": "plan", "schema": _schema(), "count": len(steps)})
        return run_migrate(self, targets, plan, *args, **kwargs)

    def checked(*args: Any, **kwargs: Any) -> Any:
        found = run_checks(*args, **kwargs)
        _state["checks"] = list(found)
        return found

    command.migration_progress_callback = migration_progress_callback
    command.handle = handle_one_schema
    executor.MigrationExecutor.migrate = migrate_plan
    checks.run_checks = checked


def _run_commands(commands: Any, checks: bool) -> None:
    """Several commands in this one process (repair-db's ``zero --fake`` per schema: one
    Django start-up, not one per schema), each between ``command_start`` and ``command_done``
    (or ``command_failed``: the batch stops there)."""
    from django.core.management import call_command

    for index, args in enumerate(commands):
        emit({"event": "command_start", "index": index})
        started = time.monotonic()
        try:
            call_command(*args, skip_checks=not checks)
        except (Exception, SystemExit) as exc:
            record(exc)
            emit({"event": "command_failed", "index": index, "elapsed": time.monotonic() - started})
            raise
        emit({"event": "command_done", "index": index, "elapsed": time.monotonic() - started})


class _InstallWhenImported:
    """A ``sys.meta_path`` entry that installs the hooks right after Django's migrate command
    module is imported. For processes that are not the driver but report to it: django-tenants'
    subprocess executor starts ``manage.py migrate_schemas --schema X`` per tenant, which loads
    tenantfix's settings override (``djangorun._OVERRIDE``) before anything of Django's
    management; importing the command there, in the middle of the settings, would be too early."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "django.core.management.commands.migrate":
            return None
        sys.meta_path.remove(self)
        import importlib.util

        spec = importlib.util.find_spec(name)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run_module = loader.exec_module

        def exec_module(module: Any) -> None:
            run_module(module)
            install()

        loader.exec_module = exec_module
        return spec


def install_when_imported() -> None:
    """Called from the settings override of a process the driver did not start itself."""
    if os.environ.get(EVENTS) and not _state.get("installed"):
        _state["installed"] = True
        sys.meta_path.insert(0, _InstallWhenImported())


def keep_settings_module() -> None:
    """Keep ``DJANGO_SETTINGS_MODULE`` on tenantfix's override in this process.

    A manage.py that assigns it (``os.environ["DJANGO_SETTINGS_MODULE"] = "site.settings"``,
    not ``setdefault``) would otherwise run Django on the project's own DATABASES. The
    override imports those very settings and changes only the database, so the assignment is
    dropped. Also called from the ``sitecustomize`` tenantfix puts on ``PYTHONPATH``
    (``djangorun._SITECUSTOMIZE``): processes the project starts itself (django-tenants'
    subprocess executor runs manage.py again per tenant) are kept on the override too.
    """
    wanted = os.environ.get(OVERRIDE)
    environ = os.environ
    base = type(environ)
    if not wanted or getattr(base, "_tenantfix_kept", False):
        return

    class _Kept(base):  # type: ignore[misc,valid-type]
        _tenantfix_kept = True

        def __setitem__(self, key: str, value: str) -> None:
            if key == "DJANGO_SETTINGS_MODULE" and value != wanted:
                return
            base.__setitem__(self, key, value)

        def __delitem__(self, key: str) -> None:
            if key == "DJANGO_SETTINGS_MODULE":
                return
            base.__delitem__(self, key)

    environ.__class__ = _Kept


def _start_and_act(spec: Dict[str, Any]) -> None:
    """``django.setup()``, the hooks, then what the spec asks for."""
    import django

    django.setup()
    _check_settings()
    install()
    if spec.get("command"):
        from django.core.management import call_command

        # as manage.py does: the system checks run (call_command skips them by default)
        call_command(*spec["command"], skip_checks=False)
    elif spec.get("commands") is not None:
        _run_commands(spec["commands"], spec.get("checks", False))
    else:
        sys.argv = ["<tenantfix script>", *spec.get("argv", [])]
        scope = {"__name__": "__tenantfix_script__", "tenantfix_emit": emit}
        exec(compile(spec["script"], "<tenantfix script>", "exec"), scope)


def _check_settings() -> None:
    """Refuse to touch a database unless Django runs on tenantfix's settings override (the one
    that points DATABASES at the scratch database): a project could configure Django some other
    way before tenantfix gets to run (``settings.configure()`` in manage.py)."""
    wanted = os.environ.get(OVERRIDE)
    if not wanted:
        return
    from django.conf import settings

    actual = getattr(settings, "SETTINGS_MODULE", None)
    if actual != wanted:
        raise RuntimeError(
            "tenantfix stopped before touching any database: Django was configured with "
            "settings {!r}, not tenantfix's override of them (manage.py configured Django "
            "itself)".format(actual)
        )


def run_through_manage_py(manage_py: str, argv: List[str], action: Callable[[], None]) -> None:
    """Run the project's manage.py as ``python manage.py ...`` would, so that everything it
    does before Django starts (``load_dotenv()``, ``environ.Env.read_env()``, other
    ``os.environ.setdefault`` calls, ``sys.path`` entries) happens; Django's
    ``ManagementUtility.execute`` (what every ``execute_from_command_line`` ends in) is replaced
    by ``action``.

    Why not ``manage.py migrate_schemas ...`` / ``manage.py shell -c <script>`` as is:
    ``run_from_argv`` turns a ``CommandError`` (a ``SystemCheckError`` too) into a printed line
    and ``sys.exit(1)``, and a settings error into "Unknown command"; here the exception object
    reaches :func:`record`, the commands run through ``call_command`` exactly as without a
    manage.py, and verify's scripts need no ``shell`` (whose ``-c`` auto-imports every model
    from Django 5.2 on, and which a project may replace). One path for Django 2.2 to 6.0.
    """
    import runpy

    from django.core import management

    ran = []  # type: List[bool]
    failed = []  # type: List[Exception]

    def execute(utility: Any) -> None:
        ran.append(True)
        try:
            action()
        except Exception as exc:
            # reported before manage.py sees it: a manage.py that catches it (logs it, exits 1)
            # must not turn it into a bare "exit status 1" or into a success
            record(exc)
            failed.append(exc)
            raise

    management.ManagementUtility.execute = execute
    # what manage.py sees in sys.argv is what the user would type (some look at it); the
    # subprocess executor of django-tenants also finds manage.py through sys.argv[0]
    sys.argv = [manage_py, *argv]
    _state["manage_py"] = os.path.realpath(manage_py)
    runpy.run_path(manage_py, run_name="__main__")
    if failed:
        raise failed[0]  # manage.py swallowed it and returned
    if not ran:
        # a manage.py that ends without calling Django's command line (a `main()` guarded by
        # something else): its preamble ran; Django the way it would have started
        emit({"event": "note", "message": "manage.py did not call execute_from_command_line"})
        action()


def _through_manage_py(manage_py: str, spec: Dict[str, Any]) -> None:
    commands = spec.get("commands") or [["shell"]]
    argv = spec.get("command") or commands[0]
    run_through_manage_py(manage_py, list(argv), lambda: _start_and_act(spec))


def main(spec_path: str) -> int:
    with open(spec_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    # run as `python <path>`: sys.path[0] is this directory; the project's comes first instead
    sys.path[0] = os.getcwd()
    # the settings override then finds the hooks installed here (not a second copy)
    sys.modules[MODULE] = sys.modules[__name__]
    _state["installed"] = True
    keep_settings_module()
    code = 0
    try:
        if spec.get("manage_py"):
            _through_manage_py(spec["manage_py"], spec)
        else:
            _start_and_act(spec)
    except SystemExit as exc:
        # e.g. django-tenants' subprocess executor passing on a worker's exit status
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if code:
            record(exc)
    except Exception as exc:
        record(exc)
        code = 1
    emit({"event": "exit", "code": code})
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
