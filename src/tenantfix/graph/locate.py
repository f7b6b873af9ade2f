"""Find an installed app's package on disk and read its AppConfig, without importing anything.

An INSTALLED_APPS entry is a module path (``apps.users``) or an AppConfig path
(``apps.users.apps.UsersConfig``). Local packages are searched under the project root (and
``root/src``), installed ones on the ``sys.path`` of the project's interpreter, which we ask once
per interpreter through a subprocess (the only process this module starts).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_SYS_PATH_SCRIPT = "import json,sys;print(json.dumps(sys.path))"


@lru_cache(maxsize=8)
def interpreter_sys_path(python: str | None = None) -> tuple[str, ...]:
    """The ``sys.path`` of ``python`` (default: ours), as existing directories; cached."""
    exe = python or sys.executable
    if exe == sys.executable:
        paths: list[str] = list(sys.path)
    else:
        try:
            out = subprocess.run(
                [exe, "-c", _SYS_PATH_SCRIPT],
                capture_output=True,
                text=True,
                check=True,
                timeout=30,
                cwd="/",
            ).stdout
            paths = json.loads(out)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            # Never fall back to our own sys.path: findings would describe another environment.
            from tenantfix.errors import TenantfixError

            raise TenantfixError(
                f"--python {exe}: cannot read its sys.path ({_reason(exc)}); pass the "
                "interpreter of the project's virtualenv"
            ) from None
    # '' (the cwd) and zip files cannot hold an app we can read; the project root is searched first
    return tuple(p for p in paths if p and Path(p).is_dir())


def _reason(exc: BaseException) -> str:
    if isinstance(exc, subprocess.CalledProcessError):
        lines = (exc.stderr or "").strip().splitlines()
        return lines[-1] if lines else f"exit status {exc.returncode}"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return "it did not print a sys.path" if isinstance(exc, ValueError) else str(exc)


@dataclass(frozen=True, slots=True)
class AppConfigInfo:
    """What an ``apps.py`` class says about its app (``None`` = not set there)."""

    class_name: str
    name: str | None
    label: str | None
    default: bool | None


@dataclass(frozen=True, slots=True)
class LocatedApp:
    """An app found on disk: module path, label, AppConfig path and package directory."""

    entry: str
    name: str
    label: str
    config_path: str | None
    directory: Path
    local: bool


class Locator:
    """Resolves app list entries to packages; caches directory lookups per module."""

    def __init__(self, root: Path, sys_path: tuple[str, ...]) -> None:
        self.root = root
        local_bases = [root]
        if (root / "src").is_dir():
            local_bases.append(root / "src")
        self._local = tuple(local_bases)
        root_resolved = root.resolve()
        self._installed = tuple(Path(p) for p in sys_path if Path(p).resolve() != root_resolved)
        self._dirs: dict[str, tuple[Path, bool] | None] = {}
        self._configs: dict[Path, dict[str, AppConfigInfo]] = {}

    def package_dir(self, module: str) -> tuple[Path, bool] | None:
        """The directory of package ``module`` and whether it is local to the project."""
        if module in self._dirs:
            return self._dirs[module]
        parts = module.split(".")
        found: tuple[Path, bool] | None = None
        for bases, local in ((self._local, True), (self._installed, False)):
            for base in bases:
                candidate = base.joinpath(*parts)
                if candidate.is_dir() and (
                    (candidate / "__init__.py").is_file() or _looks_like_namespace_app(candidate)
                ):
                    found = (candidate, local)
                    break
            if found:
                break
        self._dirs[module] = found
        return found

    def configs(self, package: Path) -> dict[str, AppConfigInfo]:
        """AppConfig-like classes of ``package/apps.py``, with names inherited inside the file."""
        if package in self._configs:
            return self._configs[package]
        result = _read_apps_py(package / "apps.py")
        self._configs[package] = result
        return result

    def locate(self, entry: str) -> LocatedApp | None:
        """Resolve one INSTALLED_APPS string the way ``AppConfig.create`` does."""
        found = self.package_dir(entry)
        if found is not None:
            directory, local = found
            configs = self.configs(directory)
            default = _default_config(configs)
            if default is None:
                label = entry.rpartition(".")[2]
                return LocatedApp(entry, entry, label, None, directory, local)
            name = default.name or entry
            label = default.label or name.rpartition(".")[2]
            return LocatedApp(
                entry, name, label, f"{entry}.apps.{default.class_name}", directory, local
            )
        module, _, class_name = entry.rpartition(".")
        if not module:
            return None
        # An AppConfig path: the class lives in a module, usually <app>/apps.py
        mod_parent, _, mod_last = module.rpartition(".")
        holder = self.package_dir(mod_parent) if mod_parent else None
        if holder is None or not (holder[0] / f"{mod_last}.py").is_file():
            return None
        configs = (
            self.configs(holder[0])
            if mod_last == "apps"
            else _read_apps_py(holder[0] / f"{mod_last}.py")
        )
        info = configs.get(class_name)
        if info is None:
            return None
        name = info.name or mod_parent
        app_dir = self.package_dir(name) or holder
        label = info.label or name.rpartition(".")[2]
        return LocatedApp(entry, name, label, entry, app_dir[0], app_dir[1])


def _looks_like_namespace_app(candidate: Path) -> bool:
    return (candidate / "models.py").is_file() or (candidate / "migrations").is_dir()


def _default_config(configs: dict[str, AppConfigInfo]) -> AppConfigInfo | None:
    # Django: one candidate subclass is the default; among several, the one with default = True
    candidates = [c for c in configs.values() if c.default is not False]
    if len(candidates) == 1:
        return candidates[0]
    marked = [c for c in candidates if c.default is True]
    return marked[0] if len(marked) == 1 else None


def _read_apps_py(path: Path) -> dict[str, AppConfigInfo]:
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return {}
    raw: dict[str, tuple[list[str], dict[str, object]]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or not node.bases:
            continue
        bases = [_base_name(b) for b in node.bases]
        if not any(b.endswith("Config") for b in bases) and not any(b in raw for b in bases):
            continue
        attrs: dict[str, object] = {}
        for stmt in node.body:
            if (
                isinstance(stmt, ast.Assign)
                and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
                and isinstance(stmt.value, ast.Constant)
            ):
                attrs[stmt.targets[0].id] = stmt.value.value
            elif (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and isinstance(stmt.value, ast.Constant)
            ):
                attrs[stmt.target.id] = stmt.value.value
        raw[node.name] = (bases, attrs)

    def lookup(cls: str, key: str, seen: frozenset[str] = frozenset()) -> object:
        bases, attrs = raw[cls]
        if key in attrs:
            return attrs[key]
        for base in bases:
            if base in raw and base not in seen:
                value = lookup(base, key, seen | {cls})
                if value is not None:
                    return value
        return None

    result: dict[str, AppConfigInfo] = {}
    for cls in raw:
        name = lookup(cls, "name")
        label = lookup(cls, "label")
        default = lookup(cls, "default")
        result[cls] = AppConfigInfo(
            class_name=cls,
            name=name if isinstance(name, str) else None,
            label=label if isinstance(label, str) else None,
            default=default if isinstance(default, bool) else None,
        )
    return result


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""
