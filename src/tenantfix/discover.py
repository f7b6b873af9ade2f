"""Find the Django project under a path: ``manage.py`` and its settings module (paths only)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from tenantfix.errors import SettingsError

_SKIP_DIRS = {
    ".git",
    ".venv",
    "venv",
    "env",
    "node_modules",
    "__pycache__",
    ".tox",
    "site-packages",
}


@dataclass(frozen=True, slots=True)
class ProjectLocation:
    """Where the project lives: the directory of manage.py and the settings module."""

    root: Path  # the directory holding manage.py; module paths resolve from here
    manage_py: Path
    settings_module: str
    settings_path: Path

    def rel(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()


def find_manage_py(path: Path) -> Path:
    """``path/manage.py``, else the one manage.py at most three levels below."""
    path = path.resolve()
    if path.is_file() and path.name == "manage.py":
        return path
    if not path.is_dir():
        raise SettingsError(f"{path} does not exist or is not a directory")
    direct = path / "manage.py"
    if direct.is_file():
        return direct
    found = sorted(_walk_manage_py(path, depth=3))
    if not found:
        raise SettingsError(
            f"no manage.py found in {path} or three levels below; point tenantfix at the "
            "directory that holds your project's manage.py"
        )
    if len(found) > 1:
        listing = ", ".join(str(p.relative_to(path)) for p in found)
        raise SettingsError(
            f"several Django projects under {path} ({listing}); pass one of their directories"
        )
    return found[0]


def _walk_manage_py(path: Path, depth: int) -> list[Path]:
    """manage.py files up to ``depth`` levels below ``path``, each real file once.

    A symlinked directory is never entered: it leads either out of the tree (not the user's
    project) or back into it (``loop -> .``), where the real directory is walked anyway. An
    unreadable directory is skipped like a missing one.
    """
    seen: set[Path] = set()
    out: list[Path] = []

    def walk(directory: Path, depth: int) -> None:
        if depth == 0:
            return
        try:
            children = sorted(directory.iterdir())
        except OSError:
            return
        for child in children:
            if child.name in _SKIP_DIRS or child.name.startswith("."):
                continue
            manage_py = child / "manage.py"
            try:
                # a docker volume such as ./data/db (mode 700, another owner) raises here
                if child.is_symlink() or not child.is_dir():
                    continue
                found = manage_py.is_file()
            except OSError:
                continue
            if not found:
                walk(child, depth - 1)
            elif (real := manage_py.resolve()) not in seen:
                seen.add(real)
                out.append(manage_py)

    walk(path, depth)
    return out


def settings_module_from_manage_py(manage_py: Path) -> str | None:
    """The default of ``os.environ.setdefault("DJANGO_SETTINGS_MODULE", ...)`` in manage.py
    (or the value of ``os.environ["DJANGO_SETTINGS_MODULE"] = ...``)."""
    try:
        tree = ast.parse(manage_py.read_text(encoding="utf-8"), filename=str(manage_py))
    except (SyntaxError, UnicodeDecodeError):
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "setdefault"
            and len(node.args) == 2
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "DJANGO_SETTINGS_MODULE"
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            return node.args[1].value
        if (
            # os.environ["DJANGO_SETTINGS_MODULE"] = "site.settings" (an assignment, not a default)
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Subscript)
            and isinstance(node.targets[0].value, ast.Attribute)
            and node.targets[0].value.attr == "environ"
            and isinstance(node.targets[0].slice, ast.Constant)
            and node.targets[0].slice.value == "DJANGO_SETTINGS_MODULE"
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    return None


def module_file(root: Path, module: str) -> Path | None:
    """The file of a dotted module under ``root`` (or ``root/src``), without importing it."""
    parts = module.split(".")
    for base in (root, root / "src"):
        candidate = base.joinpath(*parts)
        if candidate.with_suffix(".py").is_file():
            return candidate.with_suffix(".py")
        if (candidate / "__init__.py").is_file():
            return candidate / "__init__.py"
    return None


def discover(path: Path, settings: str | None = None) -> ProjectLocation:
    """Locate manage.py and the settings module (``settings`` overrides manage.py's default)."""
    manage_py = find_manage_py(path)
    root = manage_py.parent
    module = settings or settings_module_from_manage_py(manage_py)
    if not module:
        raise SettingsError(
            f"{manage_py} does not set a default DJANGO_SETTINGS_MODULE; pass --settings MODULE"
        )
    settings_path = module_file(root, module)
    if settings_path is None:
        raise SettingsError(
            f"settings module {module!r} (from {'--settings' if settings else manage_py.name}) "
            f"has no file under {root}; pass --settings with the module that defines SHARED_APPS"
        )
    return ProjectLocation(
        root=root, manage_py=manage_py, settings_module=module, settings_path=settings_path
    )


def deployment_settings_modules(project: ProjectLocation) -> list[str]:
    """Settings modules a deployment may use besides manage.py's: the defaults of the project's
    ``wsgi.py`` and ``asgi.py`` (cookiecutter-django: manage.py ``config.settings.local``,
    wsgi.py ``config.settings.production``), when they exist under the root and differ."""
    top = project.settings_module.partition(".")[0]
    found: list[str] = []
    for directory in (project.root / top, project.root):
        for name in ("wsgi.py", "asgi.py"):
            entry = directory / name
            if not entry.is_file():
                continue
            module = settings_module_from_manage_py(entry)
            if (
                module
                and module != project.settings_module
                and module not in found
                and module_file(project.root, module) is not None
            ):
                found.append(module)
    return found
