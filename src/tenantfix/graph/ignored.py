"""Apps whose migration files git ignores: the project makes them outside the checkout.

Some projects keep migrations out of git on purpose (``**/migrations/**`` with
``!**/migrations/__init__.py`` in .gitignore) and run ``makemigrations`` where they deploy. An
empty migrations package in such a checkout is not evidence of a missing migration: the files
exist where the project runs, tenantfix just cannot see them. Git itself answers (nested
.gitignore files, ``.git/info/exclude`` and ``core.excludesFile`` included), asked about the
file ``makemigrations`` would write; it only reads ignore rules and never runs project code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from tenantfix.graph.model import App

_VERBOSE = re.compile(r"^(?P<source>.*?):(?P<line>\d+):(?P<pattern>[^\t]*)\t(?P<path>.*)$")


def ignored_migrations(root: Path, apps: Iterable[App]) -> dict[str, str]:
    """``{app label: "<.gitignore>:<line>: <pattern>"}`` for the local apps given whose
    initial migration git would ignore. Empty outside a git work tree or without git."""
    probes = {
        app.label: f"{app.path}/migrations/0001_initial.py"
        for app in apps
        if app.local and app.path
    }
    if not probes:
        return {}
    try:
        import git
    except ImportError:  # GitPython refuses to import when no git executable exists
        return {}
    try:
        repo = git.Repo(root, search_parent_directories=True)
        top = Path(repo.working_tree_dir or root)
        prefix = Path(root).resolve().relative_to(top.resolve())
        paths = {label: (prefix / rel).as_posix() for label, rel in probes.items()}
        # -v names the ignore file, line and pattern deciding each path; exit 1: none ignored
        status, stdout, _ = repo.git.check_ignore(
            "-v", "--", *paths.values(), with_extended_output=True, with_exceptions=False
        )
    except (ValueError, OSError, git.exc.GitError):
        # not inside a work tree (or the root outside it): nothing is known to be ignored,
        # so every rule judges the checkout as it is
        return {}
    if status != 0:
        return {}
    reasons: dict[str, str] = {}
    for line in stdout.splitlines():
        decided = _VERBOSE.match(line)
        if decided is None or decided["pattern"].startswith("!"):
            continue  # a negation decided it: the file is kept
        for label, probe in paths.items():
            if probe == decided["path"]:
                where = _relative(decided["source"], top, root)
                reasons[label] = f"{where}:{decided['line']}: {decided['pattern']}"
    return reasons


def _relative(source: str, top: Path, root: Path) -> str:
    """The ignore file as a path from the project root when it is inside it."""
    path = top / source
    try:
        return path.resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return source
