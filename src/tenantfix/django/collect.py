"""Read what Django loaded (settings, app registry, migration files) as plain JSON-able data.

The one front end both ``tenantfix.django`` (the system checks, in the project's process) and
``tenantfix check --probe`` (this file run by path in the project's interpreter) use, so the two
cannot drift. It imports nothing from tenantfix: the project's interpreter may not have it, and
may be as old as Python 3.6 (Django 2.2), so no newer syntax here (see ``drivers/__init__.py``).

It reads no file itself and never connects to a database: apps come from ``django.apps.apps``;
model files are the modules Django imported while populating the registry; migration files are
found as ``MigrationLoader.load_disk`` finds them (``MIGRATION_MODULES``, the migrations package
imported, its modules listed) but not executed. tenantfix then reads those files with ``ast``
(:mod:`tenantfix.django.graph`), the only file reads.

Run as a script (``python collect.py ROOT``) it puts ROOT first on ``sys.path``, calls
``django.setup()`` and prints ``TENANTFIX-SETTINGS <json>`` (before ``setup()``: what the
settings hold even when the registry cannot load) and ``TENANTFIX-COLLECTED <json>``.
"""

import json
import os
import sys
from typing import Any, Dict, List, Optional

# The settings the rules read, plus those whose presence decides a rule.
SETTING_NAMES = (
    "SHARED_APPS",
    "TENANT_APPS",
    "INSTALLED_APPS",
    "AUTH_USER_MODEL",
    "TENANT_MODEL",
    "TENANT_DOMAIN_MODEL",
    "DATABASE_ROUTERS",
    "HAS_MULTI_TYPE_TENANTS",
    "TENANT_TYPES",
    "PUBLIC_SCHEMA_URLCONF",
    "ROOT_URLCONF",
    "SESSION_ENGINE",
)


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(x) for x in value]
    if isinstance(value, dict):
        return {str(k): _plain(x) for k, x in value.items()}
    return value if value is None or isinstance(value, (str, bool, int)) else repr(value)


def settings_values() -> Dict[str, Any]:
    """The settings as Django loaded them; ``OVERRIDDEN`` lists those the project set."""
    from django.conf import settings

    values = {}  # type: Dict[str, Any]
    overridden = []  # type: List[str]
    for name in SETTING_NAMES:
        if hasattr(settings, name):
            values[name] = _plain(getattr(settings, name))
            if settings.is_overridden(name):
                overridden.append(name)
    databases = getattr(settings, "DATABASES", None) or {}
    values["ENGINE"] = _plain(databases.get("default", {}).get("ENGINE"))
    values["OVERRIDDEN"] = overridden
    return values


def _file(module: Any) -> Optional[str]:
    path = getattr(module, "__file__", None)
    return path if isinstance(path, str) and path.endswith(".py") else None


def _settings_files(module_name: str) -> List[str]:
    """The settings module's file, then the loaded modules of its package: ``base.py`` beside
    ``dev.py`` in a ``settings`` package, or everything under a settings module that is itself
    a package (``config/settings/__init__.py`` doing ``from .base import *``)."""
    files = []  # type: List[str]
    main = _file(sys.modules.get(module_name))
    if main is not None:
        files.append(main)
    prefixes = []  # type: List[str]
    if main is not None and os.path.basename(main) == "__init__.py":
        prefixes.append(module_name + ".")
    package = module_name.rpartition(".")[0]
    if package and "setting" in package.rpartition(".")[2]:
        prefixes.append(package + ".")
    if prefixes:
        for name, module in sorted(sys.modules.items()):
            path = _file(module) if name.startswith(tuple(prefixes)) else None
            if path is not None and path not in files:
                files.append(path)
    return files


def _model_modules(app_names: List[str]) -> Dict[str, List[List[str]]]:
    """(module name, file) of each app's models module and, for a package, its submodules,
    among the modules Django imported (one pass over ``sys.modules``)."""
    wanted = set(app_names)
    found = {}  # type: Dict[str, List[List[str]]]
    for name, module in list(sys.modules.items()):
        if ".models" not in name:
            continue
        parts = name.split(".")
        for i, part in enumerate(parts):
            if part == "models" and ".".join(parts[:i]) in wanted:
                path = _file(module)
                if path is not None:
                    found.setdefault(".".join(parts[:i]), []).append([name, path])
                break
    return {app: sorted(pairs, key=lambda pair: pair[1]) for app, pairs in found.items()}


def migration_files(label: str) -> Optional[List[List[str]]]:
    """(name, file) of the app's migrations, found as ``MigrationLoader.load_disk`` finds them
    (``MIGRATION_MODULES`` honoured, the package imported, its modules listed) but without
    executing them: tenantfix reads them with ``ast``, and importing 1,000 migrations would
    double the cost. ``None`` when Django sees no migrations package (an unmigrated app)."""
    import pkgutil
    from importlib import import_module

    from django.db.migrations.loader import MigrationLoader

    module_name, _explicit = MigrationLoader.migrations_module(label)
    if module_name is None:
        return None
    try:
        module = import_module(module_name)
    except ImportError as exc:
        # the migrations package itself is missing: unmigrated (an import error inside it is
        # the loader's error too, and is raised)
        missing = getattr(exc, "name", None)
        if missing and (module_name + ".").startswith(missing + "."):
            return None
        raise
    path = getattr(module, "__path__", None)
    if path is None:  # a migrations.py module, not a package
        return None
    if getattr(module, "__file__", None) is None and not isinstance(path, list):
        return None  # an empty directory: a namespace package, unmigrated for Django
    found = []
    for info in pkgutil.iter_modules(path):
        name = info[1]
        if info[2] or name[0] in "_~":
            continue
        source = os.path.join(getattr(info[0], "path", ""), name + ".py")
        if not os.path.isfile(source):
            raise ValueError(
                "{}.{}: no source file to read (compiled only?)".format(module_name, name)
            )
        found.append([name, source])
    return sorted(found)


def registry() -> List[Dict[str, Any]]:
    """Every AppConfig Django built, with the model modules it imported."""
    from django.apps import apps

    configs = list(apps.get_app_configs())
    models = _model_modules([c.name for c in configs])
    out = []
    for config in configs:
        cls = type(config)
        out.append(
            {
                "label": config.label,
                "name": config.name,
                "config_path": cls.__module__ + "." + cls.__qualname__,
                "path": config.path,
                "models": models.get(config.name, []),
            }
        )
    return out


def collect(plan: bool = False) -> Dict[str, Any]:
    """Everything the graph builder needs, from the loaded registry (no database)."""
    from django.conf import settings

    module_name = getattr(settings, "SETTINGS_MODULE", None) or os.environ.get(
        "DJANGO_SETTINGS_MODULE", ""
    )
    out_apps = registry()
    for app in out_apps:
        files = migration_files(app["label"])
        app["migrated"] = files is not None
        app["migrations"] = files or []
    result = {
        "settings_module": module_name,
        "settings_files": _settings_files(module_name),
        "settings": settings_values(),
        "apps": out_apps,
        "plan": None,
        "error": None,
    }  # type: Dict[str, Any]
    if plan:
        result["plan"], result["error"] = _plan()
    return result


def _plan() -> Any:
    """The plan Django gives an empty database, or the loader's error (one line)."""
    from django.db.migrations.loader import MigrationLoader

    try:
        loader = MigrationLoader(None, ignore_no_migrations=False)
    except Exception as exc:
        return None, type(exc).__name__ + ": " + str(exc)
    graph, steps, seen = loader.graph, [], set()
    for target in graph.leaf_nodes():
        for key in graph.forwards_plan(target):
            if key not in seen:
                seen.add(key)
                steps.append(list(key))
    return steps, None


def main(argv: List[str]) -> int:
    # Run by path, Python put this file's directory first: its apps.py, checks.py and graph.py
    # must not shadow the project's own top-level modules of those names.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    sys.path.insert(0, argv[1])
    import django

    print("TENANTFIX-SETTINGS " + json.dumps(settings_values()))
    django.setup()
    try:
        data = collect(plan=True)
    except Exception as exc:
        # a migration that does not import: the caller reads the apps' files itself
        error = type(exc).__name__ + ": " + str(exc)
        print("TENANTFIX-FAILED " + json.dumps({"error": error, "apps": registry()}))
        return 0
    print("TENANTFIX-COLLECTED " + json.dumps(data))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
