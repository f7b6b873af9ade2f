"""Find an installed app's package on disk and read its AppConfig, without importing anything.

An INSTALLED_APPS entry is a module path (``apps.users``) or an AppConfig path
(``apps.users.apps.UsersConfig``). Local packages are searched under the project root (and
``root/src``), installed ones in the project's packages, found by :func:`find_packages`:
``--python`` (the only interpreter this module ever starts: the user named it), else
``$VIRTUAL_ENV``, else a ``.venv/`` or ``venv/`` at the project or repository root, else the
interpreter running tenantfix. A virtualenv is read as files (``site-packages`` and the ``.pth``
files that name directories): ``check`` runs on pull requests from forks, and a binary that came
with the checkout is never executed.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from tenantfix.graph.model import PackagesUsed

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
    """Resolves app list entries to packages; caches directory lookups per module.

    ``mapped`` maps a top-level package name to its directory, for editable installs whose
    ``.pth`` imports a finder instead of naming a directory (setuptools' ``__editable__``).
    """

    def __init__(
        self, root: Path, sys_path: tuple[str, ...], mapped: Mapping[str, Path] | None = None
    ) -> None:
        self.root = root
        local_bases = [root]
        if (root / "src").is_dir():
            local_bases.append(root / "src")
        self._local = tuple(local_bases)
        root_resolved = root.resolve()
        self._installed = tuple(Path(p) for p in sys_path if Path(p).resolve() != root_resolved)
        self._mapped = dict(mapped or {})
        self._dirs: dict[str, tuple[Path, bool] | None] = {}
        self._configs: dict[Path, dict[str, AppConfigInfo]] = {}

    def _candidates(self, parts: list[str]) -> Iterator[tuple[Path, bool]]:
        for base in self._local:
            yield base.joinpath(*parts), True
        if parts[0] in self._mapped:
            yield self._mapped[parts[0]].joinpath(*parts[1:]), False
        for base in self._installed:
            yield base.joinpath(*parts), False

    def package_dir(self, module: str) -> tuple[Path, bool] | None:
        """The directory of package ``module`` and whether it is local to the project."""
        if module in self._dirs:
            return self._dirs[module]
        found: tuple[Path, bool] | None = None
        for candidate, local in self._candidates(module.split(".")):
            if candidate.is_dir() and (
                (candidate / "__init__.py").is_file() or _looks_like_namespace_app(candidate)
            ):
                found = (candidate, local)
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


# --- where the project's packages are -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoundPackages:
    """The directories installed apps are searched in, and how they were found."""

    used: PackagesUsed
    sys_path: tuple[str, ...]
    mapped: dict[str, Path] = field(default_factory=dict)


_VENV_NAMES = (".venv", "venv")
_EDITABLE_FINDER = re.compile(r"^import\s+(__editable___\w+_finder)\b")


def find_packages(
    root: Path, python: str | None = None, environ: Mapping[str, str] | None = None
) -> FoundPackages:
    """The project's packages: ``--python``, ``$VIRTUAL_ENV``, a project venv, or ours."""
    env = os.environ if environ is None else environ
    root = root.resolve()
    if python:
        # the user's explicit choice: asking it for its sys.path runs it, and that is fine
        return FoundPackages(PackagesUsed("python", python), interpreter_sys_path(python))
    virtual_env = env.get("VIRTUAL_ENV")
    if virtual_env:
        venv = Path(virtual_env)
        # pipx/uvx may run us inside our own environment: that says nothing about the project
        if not _same_dir(venv, Path(sys.prefix)):
            found = read_virtualenv(venv, root, "virtual_env")
            if found is not None:
                return found
    in_checkout = checkout_venv(root)
    if in_checkout is not None:
        found = read_virtualenv(in_checkout, root, "venv")
        if found is not None:
            return found
    return FoundPackages(PackagesUsed("interpreter", sys.executable), interpreter_sys_path(None))


def checkout_venv(root: Path) -> Path | None:
    """The ``.venv/`` or ``venv/`` at the project root, else at the repository root."""
    root = root.resolve()
    for base in _unique_dirs(root, repository_root(root)):
        for name in _VENV_NAMES:
            venv = base / name
            if _pyvenv_cfg(venv / "pyvenv.cfg") is not None and _venv_site_dirs(venv, None):
                return venv
    return None


def repository_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` holding ``.git`` (a worktree has a file)."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def read_virtualenv(venv: Path, root: Path, source: str) -> FoundPackages | None:
    """``venv``'s site-packages and ``.pth`` directories, read as files; ``None`` if none."""
    config = _pyvenv_cfg(venv / "pyvenv.cfg")
    if config is None:
        return None
    version = _major_minor(config.get("version_info") or config.get("version") or "")
    site_dirs = _venv_site_dirs(venv, version)
    if not site_dirs:
        return None
    if config.get("include-system-site-packages", "").lower() == "true" and config.get("home"):
        site_dirs += _base_site_dirs(Path(config["home"]).parent, version)
    paths: list[str] = []
    mapped: dict[str, Path] = {}
    for site_dir in site_dirs:
        _add(paths, str(site_dir))
        for pth in sorted(site_dir.glob("*.pth")):
            _read_pth(pth, paths, mapped)
    return FoundPackages(PackagesUsed(source, _display(venv, root)), tuple(paths), mapped)


def _pyvenv_cfg(path: Path) -> dict[str, str] | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    config: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            config[key.strip().lower()] = value.strip()
    return config


def _major_minor(version: str) -> str | None:
    match = re.match(r"(\d+)\.(\d+)", version)
    return f"{match[1]}.{match[2]}" if match else None


def _venv_site_dirs(venv: Path, version: str | None) -> list[Path]:
    found = sorted(p for p in venv.glob("lib/*/site-packages") if p.is_dir())
    # a venv rebuilt with another Python keeps the old lib/pythonX.Y: prefer pyvenv.cfg's
    matching = [p for p in found if p.parent.name.endswith(version or "\0")]
    found = matching or found
    windows = venv / "Lib" / "site-packages"
    if windows.is_dir() and windows not in found:
        found.append(windows)
    return found


def _base_site_dirs(prefix: Path, version: str | None) -> list[Path]:
    if version is None:
        return []
    candidates = (
        prefix / "lib" / f"python{version}" / "site-packages",
        prefix / "local" / "lib" / f"python{version}" / "dist-packages",
        prefix / "lib" / "python3" / "dist-packages",
    )
    return [p for p in candidates if p.is_dir()]


def _read_pth(pth: Path, paths: list[str], mapped: dict[str, Path]) -> None:
    """What ``site.addpackage`` would add, without executing its ``import`` lines."""
    try:
        lines = pth.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith(("import ", "import\t")):
            finder = _EDITABLE_FINDER.match(line)
            if finder is not None:
                mapped.update(_editable_mapping(pth.parent / f"{finder[1]}.py"))
            continue
        directory = pth.parent / line.rstrip()
        if directory.is_dir():
            _add(paths, os.path.normpath(directory))


def _editable_mapping(finder: Path) -> dict[str, Path]:
    """``MAPPING = {'pkg': '/src/pkg'}`` of a setuptools editable finder, read with ``ast``."""
    try:
        tree = ast.parse(finder.read_bytes(), filename=str(finder))
    except (OSError, SyntaxError, ValueError):
        return {}
    for node in tree.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and target.id == "MAPPING" and isinstance(value, ast.Dict):
            return {
                k.value: Path(v.value)
                for k, v in zip(value.keys, value.values, strict=False)
                if isinstance(k, ast.Constant)
                and isinstance(k.value, str)
                and isinstance(v, ast.Constant)
                and isinstance(v.value, str)
            }
    return {}


def _add(paths: list[str], path: str) -> None:
    if path not in paths:
        paths.append(path)


def _display(path: Path, root: Path) -> str:
    # as found (a .venv symlinked elsewhere is still ".venv"), else where it really is
    for candidate in (path, path.resolve()):
        try:
            return candidate.relative_to(root).as_posix()
        except ValueError:
            continue
    return path.as_posix()


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _unique_dirs(*dirs: Path | None) -> list[Path]:
    out: list[Path] = []
    for directory in dirs:
        if directory is not None and directory not in out:
            out.append(directory)
    return out


# --- what check tells the user about it ------------------------------------------------------

_SOURCES = {
    "python": "--python {path} (its sys.path)",
    "virtual_env": "$VIRTUAL_ENV {path} (read as files)",
    "venv": "{path} (virtualenv read as files, nothing run)",
    "interpreter": "tenantfix's own interpreter {path} (no --python, $VIRTUAL_ENV, .venv/ or venv/)",
}


def packages_note(used: PackagesUsed) -> str:
    """One line: where installed apps were looked for (and what the bundled table stood in for)."""
    where = _SOURCES.get(used.source, "{path}").format(path=used.path)
    note = f"tenantfix: installed packages: {where}"
    if used.bundled:
        note += (
            "; Django is not there, so its contrib apps ("
            + ", ".join(used.bundled)
            + ") come from tenantfix's bundled table"
        )
    return note


def unresolved_note(entries: tuple[str, ...], used: PackagesUsed | None) -> str | None:
    """One line naming the entries found nowhere, why that matters, and the way out."""
    if not entries:
        return None
    names = ", ".join(repr(e) for e in entries)
    way_out = (
        "check that --python is the project's interpreter"
        if used is not None and used.source == "python"
        else "pass --python <the project's interpreter> or create the project's virtualenv "
        "(.venv/) so that tenantfix can read them"
    )
    return (
        f"tenantfix: note: could not locate {len(entries)} installed app(s): {names}; their "
        "models and migrations are unknown, so nothing is reported that depends on them "
        f"(findings may be missing): {way_out}"
    )


def packages_json(used: PackagesUsed | None, entries: tuple[str, ...]) -> dict[str, object]:
    """The ``packages`` field of ``check --format json``."""
    return {
        "source": used.source if used else None,
        "path": used.path if used else None,
        "bundled": list(used.bundled) if used else [],
        "unresolved": list(entries),
    }
