"""Find phantom migration records (TF012) in a django-tenants database and plan their repair.

A phantom record is a row of ``<schema>.django_migrations`` for a migration whose tables do
not exist in that schema, for an app the *current* settings let migrate there: Django records
a migration as applied even when the router skipped its operations (DOMAIN.md §1), so after an
app moves between SHARED_APPS and TENANT_APPS, ``migrate_schemas`` finds "nothing to apply"
and the tables never appear. The repair is the one django-tenants documents:

1. ``migrate_schemas --schema=<schema> <app> zero --fake``: deletes the records only;
2. ``migrate_schemas --shared`` (public) or ``migrate_schemas --schema=<tenant>``: creates
   the tables and records the migrations again.

Which tables a migration creates comes from the static project graph (its ``CreateModel``
operations, renamed by ``AlterModelTable``). Guards, checked before anything runs:

- an app whose tables *partly* exist in the schema is refused (``zero --fake`` would make
  migrate re-create tables that exist);
- ``zero --fake`` also unrecords every recorded migration that depends on the app (Django's
  own plan); each must be either skipped in that schema (its app is not migrated there) or a
  phantom itself, otherwise the repair is refused;
- tenant schemas holding their own copy of tables of an app that is now public-only (the
  user table above all: it shadows ``public.users_user`` on ``search_path``) are reported,
  never touched.

Nothing here drops a schema or a table or deletes a row of data: the only rows that change
are migration records, through Django's own ``--fake``.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tenantfix.db.params import DatabaseParams
from tenantfix.errors import ExitCode, SettingsError, TenantfixError

if TYPE_CHECKING:
    from tenantfix.db.inspect import Conn
    from tenantfix.discover import ProjectLocation
    from tenantfix.djangorun import RunResult
    from tenantfix.graph.model import App, ProjectGraph

Key = tuple[str, str]
PUBLIC = "public"


# ------------------------------------------------------------------------- migration index
class MigrationIndex:
    """The project's migration graph and the tables each migration creates (static)."""

    def __init__(self, graph: ProjectGraph) -> None:
        self.graph = graph
        self.migrations = {m.key: m for app in graph.apps for m in app.migrations}
        self.parents: dict[Key, set[Key]] = defaultdict(set)
        self.children: dict[Key, set[Key]] = defaultdict(set)
        for key, migration in self.migrations.items():
            for dep in migration.dependencies:
                parent = self._resolve(dep.app_label, dep.name)
                if parent is not None:
                    self._edge(parent, key)
            for app_label, name in migration.run_before:
                if (app_label, name) in self.migrations:
                    self._edge(key, (app_label, name))

    def _edge(self, parent: Key, child: Key) -> None:
        self.parents[child].add(parent)
        self.children[parent].add(child)

    def _resolve(self, app_label: str, name: str) -> Key | None:
        names = sorted(n for (a, n) in self.migrations if a == app_label)
        if not names:
            return None
        if name == "__first__":
            return (app_label, names[0])
        if name == "__latest__":
            return (app_label, names[-1])
        return (app_label, name) if (app_label, name) in self.migrations else None

    def root_nodes(self, app_label: str) -> list[Key]:
        """Migrations of the app with no parent in the same app (Django's ``root_nodes``)."""
        return sorted(
            k
            for k in self.migrations
            if k[0] == app_label and not any(p[0] == app_label for p in self.parents[k])
        )

    def descendants(self, roots: Iterable[Key]) -> set[Key]:
        """Every migration depending (transitively) on ``roots``, the roots included."""
        seen: set[Key] = set()
        queue = deque(roots)
        while queue:
            key = queue.popleft()
            if key in seen:
                continue
            seen.add(key)
            queue.extend(self.children[key])
        return seen

    def tables(self, app_label: str, recorded: set[Key]) -> dict[Key, set[str]]:
        """For each recorded migration of the app, the (final) tables its CreateModels make."""
        app = self.graph.app(app_label)
        if app is None:
            return {}
        user_model = self.graph.settings.user_model.lower()
        current: dict[str, str] = {}  # model name (lower) -> table, after renames
        created_by: dict[str, Key] = {}
        for migration in sorted(app.migrations, key=lambda m: m.name):
            if migration.key not in recorded:
                continue
            for cm in migration.created_models:
                if cm.proxy or not cm.managed:
                    continue
                if (
                    cm.swappable == "AUTH_USER_MODEL"
                    and user_model != f"{app_label}.{cm.name}".lower()
                ):
                    continue  # swapped out: Django never creates this table
                current[cm.name.lower()] = cm.table(app_label)
                created_by[cm.name.lower()] = migration.key
            for model_name, table in migration.altered_tables:
                if model_name.lower() in current:
                    current[model_name.lower()] = table or f"{app_label}_{model_name.lower()}"
        out: dict[Key, set[str]] = defaultdict(set)
        for model, key in created_by.items():
            out[key].add(current[model])
        return dict(out)


# ------------------------------------------------------------------------------ findings
@dataclass(frozen=True, slots=True)
class PhantomApp:
    """An app whose recorded migrations in a schema have none of their tables there."""

    schema: str
    app_label: str
    records: tuple[str, ...]  # "users.0001_initial"
    missing_tables: tuple[str, ...]
    dependents: tuple[str, ...] = ()  # other recorded migrations ``zero --fake`` unrecords


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an app in a schema cannot be repaired automatically."""

    schema: str
    app_label: str
    reason: str


@dataclass(frozen=True, slots=True)
class Shadow:
    """A tenant schema's own copy of tables of an app that now lives in public only."""

    schema: str
    app_label: str
    tables: tuple[tuple[str, int], ...]  # (table, rows)
    is_user_app: bool


@dataclass(frozen=True, slots=True)
class PlannedCommand:
    """One ``manage.py`` command of the plan and why it is safe."""

    args: tuple[str, ...]  # arguments after ``manage.py``
    why: str

    @property
    def shell(self) -> str:
        return "python manage.py " + " ".join(self.args)


@dataclass(frozen=True, slots=True)
class RepairPlan:
    """What was found in which schemas, and the commands that repair it."""

    project: ProjectLocation
    database: DatabaseParams
    schemas: tuple[str, ...]
    phantoms: tuple[PhantomApp, ...]
    refusals: tuple[Refusal, ...]
    shadows: tuple[Shadow, ...]
    commands: tuple[PlannedCommand, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def needed(self) -> bool:
        return bool(self.phantoms)

    @property
    def refused(self) -> bool:
        return bool(self.refusals)

    def lines(self) -> list[str]:
        tenants = [s for s in self.schemas if s != PUBLIC]
        out = [
            f"Database {self.database.safe_url}: public and {len(tenants)} tenant schema(s)"
            + (f" ({', '.join(tenants)})" if tenants else "")
            + f"; settings {self.project.settings_module}."
        ]
        for phantom in self.phantoms:
            out.append(
                f"TF012 {phantom.schema}: {', '.join(phantom.records)} recorded as applied, but "
                f"none of its tables exist there ({', '.join(phantom.missing_tables)})."
            )
            if phantom.dependents:
                out.append(
                    "      `zero --fake` also deletes the records of migrations that depend on it, "
                    f"which migrate_schemas records again: {', '.join(phantom.dependents)}."
                )
        for refusal in self.refusals:
            out.append(f"REFUSED {refusal.schema}: app {refusal.app_label!r}: {refusal.reason}")
        for shadow in self.shadows:
            listing = ", ".join(f"{t} ({n} row{'s' if n != 1 else ''})" for t, n in shadow.tables)
            what = (
                "the user model's tables"
                if shadow.is_user_app
                else f"tables of {shadow.app_label!r}"
            )
            out.append(
                f"NOTE {shadow.schema}: holds its own copy of {what}: {listing}. The app is now "
                f"public-only, and on search_path '{shadow.schema}, public' these tables shadow "
                "the public ones. tenantfix leaves them untouched: move or merge their rows "
                "yourself if they matter, then drop them once nothing references them."
            )
        out += [f"NOTE {n}" for n in self.notes]
        if self.refused:
            out.append("Nothing will be run: resolve the refusals above first (no --execute).")
        elif not self.needed:
            out.append("No phantom migration records: nothing to repair.")
        else:
            out.append("Plan (run in this order, with your settings and this database):")
            for i, command in enumerate(self.commands, 1):
                out.append(f"  {i}. {command.shell}")
                out.append(f"     {command.why}")
        return out


# ---------------------------------------------------------------------------- inspection
def _allowed(graph: ProjectGraph, app: App, schema: str) -> bool:
    return graph.is_shared(app) if schema == PUBLIC else graph.is_tenant(app)


def _label(key: Key) -> str:
    return f"{key[0]}.{key[1]}"


def analyse_schema(
    index: MigrationIndex, schema: str, recorded: set[Key], tables: set[str]
) -> tuple[list[PhantomApp], list[Refusal]]:
    """Phantom apps and refusals of one schema (pure: the caller read the database)."""
    graph = index.graph
    phantoms: list[tuple[str, set[Key], set[str]]] = []
    refusals: list[Refusal] = []
    healthy_or_skipped: set[str] = set()
    for app in graph.apps:
        app_records = {k for k in recorded if k[0] == app.label and k in index.migrations}
        if not app_records or not _allowed(graph, app, schema):
            continue
        expected = set().union(*index.tables(app.label, app_records).values())
        if not expected:
            continue  # records of migrations that create no table: nothing to judge by
        present = expected & tables
        if not present:
            phantoms.append((app.label, app_records, expected))
        elif present != expected:
            refusals.append(
                Refusal(
                    schema,
                    app.label,
                    f"its tables partly exist in {schema} (present: {', '.join(sorted(present))}; "
                    f"missing: {', '.join(sorted(expected - present))}). `zero --fake` would "
                    "make migrate_schemas try to create the present tables again; repair this "
                    "app by hand (e.g. `migrate_schemas --fake` up to the migration matching the "
                    "tables that exist).",
                )
            )
        else:
            healthy_or_skipped.add(app.label)
    phantom_labels = {label for label, _, _ in phantoms}
    out: list[PhantomApp] = []
    for label, records, expected in phantoms:
        unrecorded = index.descendants(index.root_nodes(label)) & recorded
        dependents = sorted(k for k in unrecorded if k[0] != label)
        bad = []
        for key in dependents:
            dep_app = graph.app(key[0])
            if dep_app is None or not _allowed(graph, dep_app, schema):
                continue  # skipped in this schema: its record is bookkeeping only
            if key[0] in phantom_labels:
                continue  # repaired alongside
            bad.append(_label(key))
        if bad:
            refusals.append(
                Refusal(
                    schema,
                    label,
                    f"`zero --fake` would also unrecord {', '.join(bad)}, which did run in "
                    f"{schema} (their app is migrated there and is not a phantom); "
                    "migrate_schemas would then run them a second time. Repair by hand.",
                )
            )
            continue
        out.append(
            PhantomApp(
                schema=schema,
                app_label=label,
                records=tuple(_label(k) for k in sorted(records)),
                missing_tables=tuple(sorted(expected)),
                dependents=tuple(_label(k) for k in dependents),
            )
        )
    refused = {(r.schema, r.app_label) for r in refusals}
    return [p for p in out if (p.schema, p.app_label) not in refused], refusals


def _shadows(graph: ProjectGraph, schema: str, tables: set[str], conn: Conn) -> list[Shadow]:
    from tenantfix.db.inspect import row_count

    user_app = graph.user_app
    out: list[Shadow] = []
    for app in graph.apps:
        if not graph.is_shared(app) or graph.is_tenant(app):
            continue
        own = sorted({m.table for m in app.concrete_models} & tables)
        if own:
            counted = tuple((t, row_count(conn, schema, t)) for t in own)
            out.append(
                Shadow(
                    schema, app.label, counted, user_app is not None and app.label == user_app.label
                )
            )
    return out


def _tenant_table(graph: ProjectGraph) -> tuple[str, str]:
    setting = graph.settings.tenant_model
    if setting is None:
        raise SettingsError(
            f"{graph.settings.path} sets no TENANT_MODEL: is this a django-tenants project?",
            ExitCode.REFUSED,
        )
    model = graph.model(setting.value)
    if model is None:
        raise SettingsError(
            f"TENANT_MODEL {setting.value!r} names a model tenantfix cannot find", ExitCode.REFUSED
        )
    return model.app_label, model.table


def load_graph(
    path: Path, settings: str | None, python: str | None
) -> tuple[ProjectLocation, ProjectGraph]:
    from tenantfix.discover import discover
    from tenantfix.graph.build import build_graph
    from tenantfix.settings_resolver import resolve_settings

    location = discover(path, settings)
    graph = build_graph(location.root, resolve_settings(location), python=python)
    return location, graph


def plan_repair(
    path: Path,
    database_url: str,
    *,
    settings: str | None = None,
    python: str | None = None,
) -> RepairPlan:
    """Read the project and the database (read-only) and build the plan."""
    from tenantfix.db import inspect
    from tenantfix.db.connect import connect

    params = DatabaseParams.from_url(database_url)
    location, graph = load_graph(path, settings, python)
    index = MigrationIndex(graph)
    tenant_app, tenant_table = _tenant_table(graph)
    notes: list[str] = []
    with connect(params) as conn:
        public_records = inspect.recorded_migrations(conn, PUBLIC)
        if public_records is None:
            raise TenantfixError(
                f"{params.safe_url} is not a Django database: public has no django_migrations "
                "table (migrate has never run there). Check --database-url; there is nothing to "
                "repair in a database that never migrated.",
                ExitCode.REFUSED,
            )
        public_tables = inspect.tables_in(conn, PUBLIC)
        if tenant_table in public_tables:
            tenants = [s for s in inspect.tenant_schemas(conn, tenant_table) if s != PUBLIC]
        elif any(app == tenant_app for app, _ in public_records):
            tenants = []
            notes.append(
                f"public has no {tenant_table} table although {tenant_app}'s migrations are "
                "recorded there: no tenant schema can be listed until public is repaired; run "
                "repair-db again afterwards to check the tenant schemas."
            )
        else:
            raise TenantfixError(
                f"{params.safe_url} is not a django-tenants database for this project: public "
                f"has no {tenant_table} table (TENANT_MODEL {graph.settings.tenant_model.value if graph.settings.tenant_model else ''}) "
                f"and no record of {tenant_app!r} migrations. Check --database-url and --settings.",
                ExitCode.REFUSED,
            )
        phantoms, refusals = analyse_schema(index, PUBLIC, public_records, public_tables)
        shadows: list[Shadow] = []
        schemas = [PUBLIC]
        for schema in tenants:
            if not inspect.schema_exists(conn, schema):
                notes.append(
                    f"tenant {schema!r} is in {tenant_table} but its schema does not exist; skipped"
                )
                continue
            schemas.append(schema)
            recorded = inspect.recorded_migrations(conn, schema)
            tables = inspect.tables_in(conn, schema)
            shadows += _shadows(graph, schema, tables, conn)
            if recorded is None:
                continue  # never migrated: migrate_schemas will do it, nothing is phantom
            p, r = analyse_schema(index, schema, recorded, tables)
            phantoms += p
            refusals += r
    return RepairPlan(
        project=location,
        database=params,
        schemas=tuple(schemas),
        phantoms=tuple(phantoms),
        refusals=tuple(refusals),
        shadows=tuple(shadows),
        commands=tuple(_commands(phantoms)) if not refusals else (),
        notes=tuple(notes),
    )


def _commands(phantoms: list[PhantomApp]) -> list[PlannedCommand]:
    by_schema: dict[str, list[PhantomApp]] = defaultdict(list)
    for p in phantoms:
        by_schema[p.schema].append(p)
    out: list[PlannedCommand] = []
    for schema in sorted(by_schema, key=lambda s: (s != PUBLIC, s)):
        for p in by_schema[schema]:
            deleted = len(p.records) + len(p.dependents)
            out.append(
                PlannedCommand(
                    ("migrate_schemas", f"--schema={schema}", p.app_label, "zero", "--fake"),
                    f"Safe: --fake runs no migration code; it only deletes {deleted} record(s) "
                    f"from {schema}.django_migrations. None of {p.app_label}'s tables exist in "
                    f"{schema}, so no table, row or schema is touched.",
                )
            )
        if schema == PUBLIC:
            out.append(
                PlannedCommand(
                    ("migrate_schemas", "--shared"),
                    "Creates the missing tables in public and records the migrations again "
                    "(every pending shared migration runs, as on a normal deploy). It only "
                    "creates and alters; each migration has its own transaction.",
                )
            )
        else:
            out.append(
                PlannedCommand(
                    ("migrate_schemas", f"--schema={schema}"),
                    f"Creates the missing tables in {schema} and records the migrations again "
                    "(pending tenant migrations of that schema only).",
                )
            )
    return out


# ----------------------------------------------------------------------------- execution
@dataclass(frozen=True, slots=True)
class RepairRun:
    """The commands that ran (stopping at the first failure) and the database afterwards."""

    runs: tuple[RunResult, ...]
    after: RepairPlan | None  # re-inspection after success

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.runs) and (self.after is None or not self.after.needed)


def execute(
    plan: RepairPlan, *, python: str | None = None, progress: Callable[[str], None] | None = None
) -> RepairRun:
    """Run the plan's commands against the plan's database (the user's real one)."""
    from tenantfix.djangorun import DjangoRunner

    if plan.refused:
        raise TenantfixError(
            "the repair was refused (see above); nothing was run", ExitCode.REFUSED
        )
    runs: list[RunResult] = []
    with DjangoRunner(
        plan.project.root, plan.project.settings_module, plan.database, python=python
    ) as runner:
        for command in plan.commands:
            if progress:
                progress(f"running {command.shell}")
            result = runner.manage(*command.args)
            runs.append(result)
            if not result.ok:
                return RepairRun(tuple(runs), None)
    after = plan_repair(
        plan.project.root,
        plan.database.url,
        settings=plan.project.settings_module,
        python=python,
    )
    return RepairRun(tuple(runs), after)
