"""What a failed subprocess of the project said, without relaying its Python traceback.

makemigrations, the probe and verify's commands run the project's own code; when it raises,
the user needs the exception line and the place in *their* project it points at (the
innermost frame under the project root that is not an installed package), not forty lines of
Django internals. The full text stays available with ``-v/--verbose``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tenantfix.errors import ExitCode, TenantfixError

_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+)')
_INSTALLED = ("site-packages", "dist-packages")


@dataclass(frozen=True, slots=True)
class Failure:
    """The exception line and the project line it points at (either may be unknown)."""

    exception: str | None
    location: str | None = None  # "proj/settings.py:12", relative to the project root
    code: str | None = None  # the source text of that line, as the traceback shows it

    def describe(self) -> str:
        text = self.exception or "it exited without an exception line"
        if self.location:
            text += f"\n    at {self.location}" + (f": {self.code}" if self.code else "")
        return text


class SubprocessFailed(TenantfixError):
    """A subprocess running project code failed; ``output`` is its full text (for --verbose)."""

    def __init__(self, message: str, exit_code: ExitCode, output: str) -> None:
        super().__init__(message, exit_code)
        self.output = output


def summarize(
    output: str,
    project_root: Path,
    *,
    ours: tuple[Path, ...] = (),
    through: tuple[Path, ...] = (),
) -> Failure:
    """The final exception of ``output`` and the innermost frame in the project's own files.

    ``ours`` are scripts of tenantfix that ran the code (the makemigrations driver): never
    the place to point the user at. ``through`` (the project's manage.py) is named only when
    the failure is raised right there: every traceback passes its execute_from_command_line.
    """
    from tenantfix.djangorun import final_exception

    root = project_root.resolve()
    skip = {p.resolve() for p in ours}
    passed = {p.resolve() for p in through}
    location: str | None = None
    code: str | None = None
    tentative = False  # the location is a `through` file's: a deeper frame replaces it
    lines = output.splitlines()
    for index, line in enumerate(lines):
        match = _FRAME.match(line)
        if match is None:
            continue
        if tentative:
            location, code, tentative = None, None, False
        path = Path(match.group("path"))
        if not path.is_absolute():
            continue  # "<frozen importlib._bootstrap>", "<string>": no file of the project
        try:
            resolved = path.resolve()
            rel = resolved.relative_to(root)
        except (OSError, ValueError):
            continue
        if resolved in skip or any(part in _INSTALLED for part in rel.parts):
            continue
        if (root / rel.parts[0] / "pyvenv.cfg").exists():
            continue  # a virtualenv inside the project
        location = f"{rel.as_posix()}:{match.group('line')}"
        tentative = resolved in passed
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        code = following if following and not _FRAME.match(lines[index + 1]) else None
    exception = final_exception(output) if output.strip() else None
    if exception is not None and _FRAME.match(exception):
        exception = None
    return Failure(exception, location, code)
