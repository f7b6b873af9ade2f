"""Build the static :class:`ProjectGraph`: every installed app, its models and its migrations.

Only ``ast`` is used (libcst is an order of magnitude slower to parse) and nothing of the user's
project is imported. Each file is read once. Local files get paths relative to the root,
installed packages absolute paths. Django's contrib apps come from a bundled table
(:mod:`tenantfix.graph.contrib`) when Django itself is not among the project's packages; an entry
found nowhere is kept in ``ProjectGraph.unresolved_apps`` (unknown, never taken as empty).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path

from tenantfix.graph import contrib
from tenantfix.graph.cache import ExtractCache
from tenantfix.graph.locate import LocatedApp, Locator, find_packages
from tenantfix.graph.model import (
    App,
    AppListEntry,
    Dependency,
    Location,
    Migration,
    Model,
    PackagesUsed,
    ProjectGraph,
    ProjectSettings,
)
from tenantfix.graph.probe import ProbeResult
from tenantfix.graph.read_migrations import (
    migration_files,
    migration_from_raw,
    migration_module,
)
from tenantfix.graph.read_models import (
    TargetResolver,
    inherit_relations,
    read_models,
)


def app_entries(settings: ProjectSettings) -> tuple[AppListEntry, ...]:
    """INSTALLED_APPS, or (when it is missing) the union of the app lists, first spelling kept."""
    if settings.installed_apps is not None:
        lists = [settings.installed_apps]
    else:
        lists = [lst for lst in (settings.shared_apps, settings.tenant_apps) if lst is not None] + [
            lst for _, lst in settings.tenant_types
        ]
    seen: set[str] = set()
    out: list[AppListEntry] = []
    for lst in lists:
        for entry in lst.entries:
            if entry.value not in seen:
                seen.add(entry.value)
                out.append(entry)
    return tuple(out)


def build_graph(
    root: Path,
    settings: ProjectSettings,
    *,
    python: str | None = None,
    probe: ProbeResult | None = None,
    environ: Mapping[str, str] | None = None,
    cache: ExtractCache | None = None,
) -> ProjectGraph:
    """Locate and read every app the settings install; the input of checks and simulation.

    The installed packages are found by :func:`tenantfix.graph.locate.find_packages`
    (``python`` = ``--python``; ``environ`` defaults to ``os.environ``, for ``$VIRTUAL_ENV``).
    With ``probe`` (see :func:`tenantfix.graph.probe.probe`) the app registry is Django's own and
    ``ProjectGraph.source`` is ``"probe"``, and the models and migrations read are the modules
    Django imported (:func:`tenantfix.django.graph.apps_from_collected`, the system checks'
    builder); when a migration module did not import there, the app directories are read.
    ``cache`` (see :mod:`tenantfix.graph.cache`) gives each file's extraction when its content was
    read before; without one, every file is parsed.
    """
    root = root.resolve()
    if probe is not None and probe.collected is not None:
        # the same builder as the system checks (tenantfix.django): Django's own model and
        # migration modules, read with ast
        from tenantfix.django.graph import apps_from_collected

        found_apps, missing = apps_from_collected(probe.collected, root, settings, cache=cache)
        return ProjectGraph(
            root=root.as_posix(),
            settings=settings,
            apps=found_apps,
            unresolved_apps=missing,
            source="probe",
            packages=PackagesUsed("python" if python else "interpreter", python or sys.executable),
        )
    if cache is None:
        cache = ExtractCache(persist=False)
    located: list[LocatedApp | _Bundled] = []
    unresolved: list[AppListEntry] = []
    if probe is not None:
        located = list(_from_probe(root, probe))
        known = {v for a in located for v in (a.name, a.config_path) if v}
        unresolved = [e for e in app_entries(settings) if e.value not in known]
        packages = PackagesUsed("python" if python else "interpreter", python or sys.executable)
    else:
        found = find_packages(root, python, environ)
        packages = found.used
        locator = Locator(root, found.sys_path, found.mapped)
        labels: set[str] = set()
        for entry in app_entries(settings):
            app: LocatedApp | _Bundled | None = locator.locate(entry.value)
            if app is None:
                # Django is not among the project's packages: its contrib apps are known data
                table = contrib.lookup(entry.value)
                app = _Bundled(*table) if table is not None else None
            if app is None:
                unresolved.append(entry)
            elif app.label not in labels:  # Django refuses duplicate labels; keep the first
                labels.add(app.label)
                located.append(app)
        bundled = tuple(a.label for a in located if isinstance(a, _Bundled))
        if bundled:
            packages = PackagesUsed(packages.source, packages.path, bundled)

    module_labels = {a.name: a.label for a in located}
    user_label = settings.user_model.partition(".")[0]
    swappable_labels = {"AUTH_USER_MODEL": user_label}
    setting_models = {
        name: value.value
        for name, value in (
            ("TENANT_MODEL", settings.tenant_model),
            ("TENANT_DOMAIN_MODEL", settings.tenant_domain_model),
        )
        if value is not None
    }

    prefix = root.as_posix().rstrip("/") + "/"

    def rel(path: Path) -> str:
        # Path.relative_to, lexically as it is, by string: it was a tenth of a warm run
        posix = path.as_posix()
        if posix.startswith(prefix):
            return posix[len(prefix) :]
        return "." if posix == prefix[:-1] else posix

    models_per_app: dict[str, tuple[Model, ...]] = {}
    for app in located:
        if isinstance(app, _Bundled):
            models_per_app[app.label] = contrib.bundled_models(app.spec, module_labels)
            continue
        raw_files = [
            (rel(path), raw)
            for path, module in _model_files(app.directory, app.name)
            if (raw := cache.model_file(path, module)) is not None
        ]
        models_per_app[app.label] = read_models(raw_files, app.label, module_labels, setting_models)
    # inheritance crosses apps (users.User -> auth.AbstractUser): resolve over all models at once
    by_key = {f"{m.app_label}.{m.name}": m for ms in models_per_app.values() for m in ms}
    inherited = inherit_relations(by_key)

    apps: list[App] = []
    for app in located:
        models = tuple(inherited[f"{m.app_label}.{m.name}"] for m in models_per_app[app.label])
        if isinstance(app, _Bundled):
            apps.append(contrib.bundled_app(app.spec, app.config_path, {}, user_label, models))
            continue
        migrations_dir = app.directory / "migrations"
        has_module = (migrations_dir / "__init__.py").is_file()
        migrations: tuple[Migration, ...] = ()
        if has_module:
            resolver = TargetResolver(
                app.label, {m.name: app.label for m in models}, module_labels, setting_models
            )
            migrations = tuple(
                migration_from_raw(mig, p.stem, rel(p), app.label, resolver, swappable_labels)
                for p in migration_files(migrations_dir)
                if (mig := cache.migration_file(p, migration_module(app.name, p))) is not None
            )
        models_file = app.directory / "models.py"
        models_pkg = app.directory / "models" / "__init__.py"
        models_path = (
            rel(models_file)
            if models_file.is_file()
            else rel(models_pkg)
            if models_pkg.is_file()
            else None
        )
        apps.append(
            App(
                label=app.label,
                name=app.name,
                config_path=app.config_path,
                path=rel(app.directory),
                local=app.local,
                models=models,
                migrations=migrations,
                has_migrations_module=has_module,
                models_path=models_path,
            )
        )
    if any(isinstance(a, _Bundled) for a in located):
        apps = _with_unknown_contrib_migrations(
            apps, {a.label for a in located if isinstance(a, _Bundled)}
        )
    return ProjectGraph(
        root=root.as_posix(),
        settings=settings,
        apps=tuple(apps),
        unresolved_apps=tuple(unresolved),
        source="static" if probe is None else "probe",
        packages=packages,
    )


class _Bundled:
    """A contrib app taken from :mod:`tenantfix.graph.contrib` (no file was found for it)."""

    __slots__ = ("config_path", "label", "name", "spec")

    def __init__(self, spec: contrib.ContribApp, config_path: str) -> None:
        self.spec = spec
        self.config_path = config_path
        self.label = spec.label
        self.name = spec.name


def _with_unknown_contrib_migrations(apps: list[App], bundled: set[str]) -> list[App]:
    """Add the table apps' migrations that project migrations name but the table lacks.

    A newer Django than the table's may add a migration (``auth.0013_...``) that the project's
    own migrations depend on. It exists in the user's Django, so the plan must hold it; no
    contrib migration after a ``0001_initial`` has ever created a table, so it is added with no
    operations, after the table's last migration of that app (one leaf per app, as on disk).
    """
    known = {(a.label, m.name) for a in apps for m in a.migrations}
    wanted: dict[str, set[str]] = {}
    for app in apps:
        for migration in app.migrations:
            for dep in migration.dependencies:
                if (
                    dep.app_label in bundled
                    and dep.name not in ("__first__", "__latest__")
                    and (dep.app_label, dep.name) not in known
                ):
                    wanted.setdefault(dep.app_label, set()).add(dep.name)
    if not wanted:
        return apps
    out: list[App] = []
    for app in apps:
        names = sorted(wanted.get(app.label, ()))
        if not names:
            out.append(app)
            continue
        extra: list[Migration] = []
        previous = app.migrations[-1].name if app.migrations else None
        for name in names:
            deps = (Dependency(app.label, previous),) if previous else ()
            path = f"{contrib.PATH_PREFIX}{app.name.replace('.', '/')}/migrations/{name}.py"
            extra.append(Migration(app.label, name, Location(path, 1), dependencies=deps))
            previous = name
        out.append(replace(app, migrations=app.migrations + tuple(extra)))
    return out


def _from_probe(root: Path, probe: ProbeResult) -> list[LocatedApp]:
    located: list[LocatedApp] = []
    for app in probe.apps:
        directory = Path(app.path)
        try:
            directory.resolve().relative_to(root)
            local = True
        except ValueError:
            local = False
        located.append(LocatedApp(app.name, app.name, app.label, app.config_path, directory, local))
    return located


def _model_files(directory: Path, module: str) -> Iterator[tuple[Path, str]]:
    single = directory / "models.py"
    if single.is_file():
        yield single, f"{module}.models"
        return
    package = directory / "models"
    if not (package / "__init__.py").is_file():
        return
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(directory).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield path, ".".join((module, *parts))
