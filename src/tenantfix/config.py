"""``[tool.tenantfix]`` in the target project's pyproject.toml, read into a frozen value.

The closest ``pyproject.toml`` that has a ``[tool.tenantfix]`` table wins, searching from the
project root upwards and stopping at the top of its git work tree (as ruff finds its table).
Keys use dashes, as in ruff::

    [tool.tenantfix]
    select = ["TF00"]            # code prefixes to run (default: all)
    ignore = ["TF011"]           # code prefixes to skip
    unsafe-fixes = false         # let `apply` use fixes marked unsafe
    probe = false                # `check` imports the settings to decide what it cannot read
    branch = "tenantfix/fixes"   # branch `apply` commits to
    settings = "proj.settings"   # settings module (default: read from manage.py)
    python = ".venv/bin/python"  # the project's interpreter (relative to this file)
    keep-in-tenant-apps = ["users"]  # apps a fix must never move out of TENANT_APPS
    fail-level = "error"         # exit 1 only for findings at or above it: error or warning

Without ``select`` the default rule selection runs (``tenantfix rules`` marks it); ``select``
replaces it and also reaches opt-in rules (``select = ["TF"]``: every rule).

An unknown key or a value of the wrong type is a usage error naming the file and the key.
Command-line flags override the file (:meth:`Config.merged`).
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tenantfix.errors import ExitCode, TenantfixError
from tenantfix.fail_level import DEFAULT_FAIL_LEVEL, FailLevel, parse_fail_level

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["CODE_PREFIX", "Config", "ConfigError", "find_pyproject", "load_config"]

CODE_PREFIX = re.compile(r"^TF\d{0,3}$")


class ConfigError(TenantfixError):
    """The configuration file cannot be read or holds an unknown key or a bad value."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.USAGE)


@dataclass(frozen=True, slots=True)
class Config:
    """Settings from ``[tool.tenantfix]``; ``path`` is the file they came from (None: defaults)."""

    path: str | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    unsafe_fixes: bool = False
    probe: bool = False  # `check` asks the project's interpreter (imports the settings)
    branch: str | None = None
    settings: str | None = None
    python: str | None = None
    keep_in_tenant_apps: tuple[str, ...] = ()
    fail_level: FailLevel = DEFAULT_FAIL_LEVEL

    def merged(
        self,
        *,
        select: Sequence[str] | None = None,
        ignore: Sequence[str] | None = None,
        unsafe_fixes: bool | None = None,
        branch: str | None = None,
        settings: str | None = None,
        python: str | None = None,
        keep_in_tenant_apps: Sequence[str] | None = None,
        fail_level: str | None = None,
    ) -> Config:
        """This config with the command-line flags that were given (not None) on top."""
        given: dict[str, Any] = {
            "unsafe_fixes": unsafe_fixes,
            "branch": branch,
            "settings": settings,
            "python": python,
        }
        if select is not None:
            given["select"] = tuple(c.upper() for c in select)
        if ignore is not None:
            given["ignore"] = tuple(c.upper() for c in ignore)
        if keep_in_tenant_apps is not None:
            given["keep_in_tenant_apps"] = tuple(keep_in_tenant_apps)
        if fail_level is not None:
            given["fail_level"] = parse_fail_level(fail_level)
        return replace(self, **{k: v for k, v in given.items() if v is not None})


def find_pyproject(root: str | Path) -> Path | None:
    """The closest pyproject.toml with a ``[tool.tenantfix]`` table, from ``root`` upwards."""
    start = Path(root).resolve()
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and "tenantfix" in _read(candidate).get("tool", {}):
            return candidate
        if (directory / ".git").exists():
            break
    return None


def load_config(root: str | Path) -> Config:
    """Read ``[tool.tenantfix]`` for the project at ``root``; defaults when there is none."""
    path = find_pyproject(root)
    if path is None:
        return Config()
    return parse_table(_read(path)["tool"]["tenantfix"], path)


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


_KEYS = {
    "select": "select",
    "ignore": "ignore",
    "unsafe-fixes": "unsafe_fixes",
    "branch": "branch",
    "settings": "settings",
    "python": "python",
    "keep-in-tenant-apps": "keep_in_tenant_apps",
    "fail-level": "fail_level",
    "probe": "probe",
}


def parse_table(table: object, path: Path) -> Config:
    """Validate a ``[tool.tenantfix]`` table read from ``path``."""
    where = f"{path}: [tool.tenantfix]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    values: dict[str, Any] = {"path": str(path)}
    for key, value in table.items():
        if key not in _KEYS:
            hint = difflib.get_close_matches(key, list(_KEYS), n=1)
            did_you_mean = f"; did you mean `{hint[0]}`?" if hint else ""
            raise ConfigError(
                f"{where}: unknown key `{key}`{did_you_mean} "
                f"(known keys: {', '.join(sorted(_KEYS))})"
            )
        values[_KEYS[key]] = _validate(key, value, where, path)
    return Config(**values)


def _validate(key: str, value: object, where: str, path: Path) -> object:
    if key in {"select", "ignore"}:
        codes = _string_list(key, value, where)
        for code in codes:
            if not CODE_PREFIX.match(code.upper()):
                raise ConfigError(
                    f"{where}: `{key}` has {code!r}, which is not a rule code or prefix "
                    "(TF001, TF00, TF)"
                )
        return tuple(c.upper() for c in codes)
    if key == "keep-in-tenant-apps":
        return tuple(_string_list(key, value, where))
    if key == "fail-level":
        if not isinstance(value, str):
            raise ConfigError(f'{where}: `{key}` must be "error" or "warning", not {value!r}')
        try:
            return parse_fail_level(value)
        except ValueError:
            raise ConfigError(
                f'{where}: `{key}` must be "error" or "warning", not {value!r}'
            ) from None
    if key in {"unsafe-fixes", "probe"}:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: `{key}` must be true or false, not {value!r}")
        return value
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: `{key}` must be a non-empty string, not {value!r}")
    if key == "python":
        from tenantfix.interpreter import resolve_python

        # relative to the pyproject.toml, not to the cwd; symlinks kept (a venv's python is one)
        return resolve_python(value, path.parent)
    return value


def _string_list(key: str, value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: `{key}` must be a list of strings, not {value!r}")
    return list(value)
