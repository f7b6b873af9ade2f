"""The project's interpreter (``--python``): resolved once, and checked before any work starts.

Every command hands the interpreter to subprocesses that run in other directories (the project
root, a temporary worktree), so a relative path is made absolute against the directory the user
typed it in. Symlinks are *not* resolved: a virtualenv's ``bin/python`` is a symlink to the base
interpreter, and running the target would leave the virtualenv (no Django, no project packages).

The check runs the interpreter once, from ``/`` and without the project on ``sys.path``, so no
project code is imported: it must answer as a Python and, where the command runs Django, import
``django``. A bad interpreter is a usage error (exit 2) that names the path and what is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tenantfix.errors import ExitCode, TenantfixError

__all__ = ["Interpreter", "InterpreterError", "inspect_python", "resolve_python"]

_MARK = "TENANTFIX-PYTHON "
_SCRIPT = (
    "import json, sys\n"
    "try:\n"
    "    import django\n"
    "    d, e = django.get_version(), None\n"
    "except Exception as exc:\n"
    "    d, e = None, '%s: %s' % (type(exc).__name__, exc)\n"
    "v = '%d.%d.%d' % tuple(sys.version_info[:3])\n"
    f"print({_MARK!r} + json.dumps({{'version': v, 'django': d, 'django_error': e}}))\n"
)
_TIMEOUT = 30.0


class InterpreterError(TenantfixError):
    """The interpreter given with ``--python`` (or ``python =`` in pyproject) is unusable."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.USAGE)


@dataclass(frozen=True, slots=True)
class Interpreter:
    """An interpreter that answered: its absolute path, Python version and Django version."""

    path: str
    version: str
    django: str | None
    django_error: str | None = None


def resolve_python(value: str, cwd: Path | None = None) -> str:
    """``value`` as an absolute path: relative to ``cwd`` (default: ours), a bare name on PATH.

    ``python3`` (no directory part) is looked up on ``PATH`` as a shell would, unless a file of
    that name exists in ``cwd``. The result is normalised but symlinks are kept (see module doc).
    """
    base = cwd or Path.cwd()
    expanded = os.path.expanduser(value)
    has_dir = os.sep in expanded or (os.altsep is not None and os.altsep in expanded)
    if not has_dir and not (base / expanded).exists():
        found = shutil.which(expanded)
        if found is not None:
            return os.path.abspath(found)
    return os.path.normpath(os.path.join(base, expanded))


def inspect_python(path: str, *, need_django: bool, source: str = "--python") -> Interpreter:
    """Run ``path`` once and check it is a Python (with Django when ``need_django``).

    ``source`` names where the value came from in messages (``--python`` or the pyproject key).
    Raises :class:`InterpreterError` naming the path and what is missing.
    """
    where = f"{source} {path}"
    advice = "pass the interpreter of the project's virtualenv, e.g. --python .venv/bin/python"
    if not os.path.lexists(path):
        raise InterpreterError(f"{where}: no such file; {advice}")
    if not os.path.exists(path):
        raise InterpreterError(
            f"{where}: a symlink to {os.readlink(path)}, which does not exist (a virtualenv "
            f"whose base Python was removed?); recreate the virtualenv or {advice}"
        )
    if os.path.isdir(path):
        inside = next(
            (
                os.path.join(path, *rel)
                for rel in (("bin", "python"), ("Scripts", "python.exe"))
                if os.path.isfile(os.path.join(path, *rel))
            ),
            None,
        )
        hint = f"did you mean --python {inside}?" if inside else advice
        raise InterpreterError(f"{where}: is a directory, not an interpreter; {hint}")
    if not os.access(path, os.X_OK):
        mode = stat.filemode(os.stat(path).st_mode)
        raise InterpreterError(f"{where}: not executable ({mode}); {advice}")
    try:
        proc = subprocess.run(
            [path, "-c", _SCRIPT],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            cwd="/",
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
    except subprocess.TimeoutExpired:
        raise InterpreterError(
            f"{where}: did not answer within {_TIMEOUT:.0f} s; is it a Python interpreter?"
        ) from None
    except OSError as exc:
        # ENOEXEC (a text file without #!), EACCES on a noexec mount, a foreign binary
        raise InterpreterError(
            f"{where}: cannot be run ({exc.strerror or exc}); {advice}"
        ) from None
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(_MARK)), None)
    info = _parse(line)
    if info is None:
        said = (proc.stderr or proc.stdout).strip().splitlines()
        printed = f" (it printed: {said[-1][:200]})" if said else ""
        raise InterpreterError(f"{where}: not a Python 3 interpreter{printed}; {advice}")
    found = Interpreter(path, str(info["version"]), info.get("django"), info.get("django_error"))
    if need_django and found.django is None:
        raise InterpreterError(
            f"{where}: Python {found.version} there cannot import Django "
            f"({found.django_error or 'unknown error'}); pass the interpreter of the environment "
            "where the project's requirements are installed"
        )
    return found


def _parse(line: str | None) -> dict[str, str | None] | None:
    if line is None:
        return None
    try:
        data = json.loads(line[len(_MARK) :])
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("version"), str):
        return None
    return {
        key: value if isinstance(value, str) else None
        for key, value in data.items()
        if key in ("version", "django", "django_error")
    }
