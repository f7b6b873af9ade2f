"""Build the static :class:`ProjectGraph`: every installed app, its models and its migrations.

Only ``ast`` is used (libcst is an order of magnitude slower to parse) and nothing of the user's
project is imported. Each file is read once. Local files get paths relative to the root,
installed packages absolute paths.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tenantfix.graph.locate import LocatedApp, Locator, interpreter_sys_path
from tenantfix.graph.model import (
    App,
    AppListEntry,
    Migration,
    Model,
    ProjectGraph,
    ProjectSettings,
)
from tenantfix.graph.probe import ProbeResult
from tenantfix.graph.read_migrations import migration_files, read_migration
from tenantfix.graph.read_models import (
    TargetResolver,
    inherit_relations,
    parse_model_files,
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
) -> ProjectGraph:
    """Locate and read every app the settings install; the input of checks and simulation.

    ``python`` is the project's interpreter, whose ``sys.path`` holds the installed packages
    (default: the interpreter running tenantfix). With ``probe`` (see
    :func:`tenantfix.graph.probe.probe`) the app registry is Django's own and
    ``ProjectGraph.source`` is ``"probe"``; models and migrations are read statically either way.
    """
    root = root.resolve()
    located: list[LocatedApp] = []
    unresolved: list[AppListEntry] = []
    if probe is not None:
        located = _from_probe(root, probe)
        known = {v for a in located for v in (a.name, a.config_path) if v}
        unresolved = [e for e in app_entries(settings) if e.value not in known]
    else:
        locator = Locator(root, interpreter_sys_path(python))
        labels: set[str] = set()
        for entry in app_entries(settings):
            app = locator.locate(entry.value)
            if app is None:
                unresolved.append(entry)
            elif app.label not in labels:  # Django refuses duplicate labels; keep the first
                labels.add(app.label)
                located.append(app)

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

    def rel(path: Path) -> str:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            return path.as_posix()

    models_per_app: dict[str, tuple[Model, ...]] = {}
    for app in located:
        parsed = parse_model_files(_model_files(app.directory, app.name), rel)
        models_per_app[app.label] = read_models(parsed, app.label, module_labels, setting_models)
    # inheritance crosses apps (users.User -> auth.AbstractUser): resolve over all models at once
    by_key = {f"{m.app_label}.{m.name}": m for ms in models_per_app.values() for m in ms}
    inherited = inherit_relations(by_key)

    apps: list[App] = []
    for app in located:
        models = tuple(inherited[f"{m.app_label}.{m.name}"] for m in models_per_app[app.label])
        migrations_dir = app.directory / "migrations"
        has_module = (migrations_dir / "__init__.py").is_file()
        migrations: tuple[Migration, ...] = ()
        if has_module:
            resolver = TargetResolver(
                app.label, {m.name: app.label for m in models}, module_labels, setting_models
            )
            migrations = tuple(
                m
                for m in (
                    read_migration(p, rel(p), app.label, app.name, resolver, swappable_labels)
                    for p in migration_files(migrations_dir)
                )
                if m is not None
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
    return ProjectGraph(
        root=root.as_posix(),
        settings=settings,
        apps=tuple(apps),
        unresolved_apps=tuple(unresolved),
        source="static" if probe is None else "probe",
    )


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
