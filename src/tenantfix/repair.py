"""Find phantom migration records (TF012) in a django-tenants database and plan their repair.

A phantom record is a row of ``<schema>.django_migrations`` for a migration whose tables do
not exist in that schema, for an app the *current* settings let migrate there: Django records
a migration as applied even when the router skipped its operations (DOMAIN.md §1). Two
databases people really have:

- the first ``migrate_schemas --shared`` failed (the write-up: at ``admin.0001_initial``):
  public holds contenttypes, auth and the phantom ``users.0001_initial``, and no tenant table
  yet. It is recognised by what this project's migrations recorded, not by the tenant table;
- an app moved after tenants exist (added to TENANT_APPS, or SHARED -> TENANT): every tenant
  schema records its migrations without tables.

The repair is the one django-tenants documents:

1. ``migrate_schemas --schema=<schema> <app> zero --fake``: deletes the records only;
2. ``migrate_schemas --shared`` (public) and ``migrate_schemas --tenant`` (tenant schemas):
   creates the tables and records the migrations again.

Which tables a migration creates comes from the static project graph (its ``CreateModel``
operations, renamed by ``AlterModelTable``). Guards, checked in every schema before anything
runs (one refusal anywhere and nothing runs anywhere):

- an app whose tables *partly* exist in the schema is refused (``zero --fake`` would make
  migrate re-create tables that exist);
- ``zero --fake`` also unrecords every recorded migration that depends on the app (Django's
  own plan); each must be either skipped in that schema (its app is not migrated there) or a
  phantom itself, otherwise the repair is refused;
- tables of an app the settings no longer migrate in a schema (a tenant's own user table once
  the user app is public-only; public's tables of an app moved to TENANT_APPS), and schemas
  with a django_migrations table but no tenant row, are reported, never touched.

Nothing here drops a schema or a table or deletes a row of data: the only rows that change
are migration records, through Django's own ``--fake``.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tenantfix.db.params import DatabaseParams
from tenantfix.errors import ExitCode, SettingsError, TenantfixError

if TYPE_CHECKING:
    from tenantfix.db.inspect import Conn
    from tenantfix.db.schemas import DatabaseLayout, SchemaState
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
    """A schema's own copy of tables of an app the settings no longer migrate there.

    In a tenant schema: an app that is now public-only (the user table above all: it shadows
    ``public.users_user`` on ``search_path``). In public: an app that is now tenant-only (left
    behind by a SHARED_APPS -> TENANT_APPS move).
    """

    schema: str
    app_label: str
    tables: tuple[tuple[str, int], ...]  # (table, rows)
    is_user_app: bool


@dataclass(frozen=True, slots=True)
class Orphan:
    """A schema with a django_migrations table and no tenant row: reported, never touched."""

    schema: str
    phantoms: tuple[PhantomApp, ...]  # what the repair would be, were it a tenant


@dataclass(frozen=True, slots=True)
class PlannedCommand:
    """One ``manage.py`` command of the plan."""

    args: tuple[str, ...]  # arguments after ``manage.py``
    schema: str | None = None  # the one schema it changes, for progress and reports

    @property
    def shell(self) -> str:
        return "python manage.py " + " ".join(self.args)


@dataclass(frozen=True, slots=True)
class PlanStep:
    """Commands of one kind (one app's reset over N schemas, or one migrate), and why safe."""

    title: str  # the command, with ``<schema>`` standing for N schemas
    why: str
    commands: tuple[PlannedCommand, ...]


FIRST_MIGRATE = "first-migrate"  # --shared never completed: no tenant rows, no tenant schemas
TENANTS = "tenants"  # the tenant table exists: public and every tenant schema are judged


@dataclass(frozen=True, slots=True)
class RepairPlan:
    """What was found in which schemas, and the commands that repair it."""

    project: ProjectLocation
    database: DatabaseParams
    state: str  # FIRST_MIGRATE | TENANTS
    tenant_table: str
    schemas: tuple[str, ...]  # public first, then the tenant schemas judged
    phantoms: tuple[PhantomApp, ...]
    refusals: tuple[Refusal, ...]
    shadows: tuple[Shadow, ...]
    orphans: tuple[Orphan, ...]
    steps: tuple[PlanStep, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    has_tenant_table: bool = True

    @property
    def needed(self) -> bool:
        return bool(self.phantoms)

    @property
    def refused(self) -> bool:
        return bool(self.refusals)

    @property
    def commands(self) -> tuple[PlannedCommand, ...]:
        return tuple(c for step in self.steps for c in step.commands)

    def lines(self, *, verbose: bool = False) -> list[str]:
        tenants = [s for s in self.schemas if s != PUBLIC]
        out = [
            f"Database {self.database.safe_url}: public and {len(tenants)} tenant schema(s)"
            + (f" ({_some(tenants, verbose)})" if tenants else "")
            + f"; settings {self.project.settings_module}."
        ]
        if self.state == FIRST_MIGRATE and self.needed:
            where = (
                f"public.{self.tenant_table} has no tenant rows"
                if self.has_tenant_table
                else f"public has no {self.tenant_table} table"
            )
            out.append(
                f"First migrate failed: {where} and there are no tenant schemas, so "
                "`migrate_schemas --shared` never completed on this database. Plan: reset these "
                "phantom records in public, then run `migrate_schemas --shared`."
            )
        out += _phantom_lines(self.phantoms, len(tenants), verbose)
        refusals = list(self.refusals) if verbose else list(self.refusals)[:_SHOWN]
        for refusal in refusals:
            out.append(f"REFUSED {refusal.schema}: app {refusal.app_label!r}: {refusal.reason}")
        if len(refusals) < len(self.refusals):
            out.append(f"REFUSED ... and {len(self.refusals) - len(refusals)} more (--verbose).")
        out += _shadow_lines(
            self.shadows, {p.app_label for p in self.phantoms if p.schema != PUBLIC}, verbose
        )
        for orphan in self.orphans:
            found = (
                "; it records migrations whose tables are missing there: "
                + ", ".join(f"{p.app_label} ({', '.join(p.records)})" for p in orphan.phantoms)
                if orphan.phantoms
                else ""
            )
            out.append(
                f"NOTE {orphan.schema}: has a django_migrations table but no row in "
                f"public.{self.tenant_table} (a deleted tenant's schema?){found}. repair-db "
                "reports it and never touches it."
            )
        out += [f"NOTE {n}" for n in self.notes]
        if self.refused:
            out.append(
                "Nothing will be run, in any schema: resolve the refusals above first "
                "(no --execute)."
            )
        elif not self.needed:
            out.append("No phantom migration records: nothing to repair.")
            if not self.has_tenant_table:
                out.append(
                    "migrate_schemas --shared has still never completed here: fix the settings "
                    "(`tenantfix check`, `tenantfix apply`), then run it."
                )
        else:
            out.append("Plan (run in this order, with your settings and this database):")
            for i, step in enumerate(self.steps, 1):
                out.append(f"  {i}. {step.title}")
                if len(step.commands) > 1:
                    if verbose:
                        out += [f"       {c.shell}" for c in step.commands]
                    else:
                        out.append(
                            f"     ({len(step.commands)} commands, one per schema; --verbose "
                            "lists them)"
                        )
                out.append(f"     {step.why}")
        return out


_SHOWN = 5  # schema names, refusals: how many before "and N more (--verbose)"


def _some(names: list[str], verbose: bool) -> str:
    if verbose or len(names) <= _SHOWN:
        return ", ".join(names)
    return f"{', '.join(names[:_SHOWN])} and {len(names) - _SHOWN} more"


def _phantom_lines(phantoms: Iterable[PhantomApp], tenant_count: int, verbose: bool) -> list[str]:
    out: list[str] = []
    by_app: dict[str, list[PhantomApp]] = defaultdict(list)
    for phantom in phantoms:
        if phantom.schema == PUBLIC:
            out.append(
                f"TF012 public: {', '.join(phantom.records)} recorded as applied, but none of "
                f"its tables exist there ({', '.join(phantom.missing_tables)})."
            )
            if phantom.dependents:
                out.append(
                    "      `zero --fake` also deletes the records of migrations that depend on "
                    f"it, which migrate_schemas records again: {', '.join(phantom.dependents)}."
                )
        else:
            by_app[phantom.app_label].append(phantom)
    for label, group in by_app.items():
        schemas = [p.schema for p in group]
        records = sorted({r for p in group for r in p.records})
        tables = sorted({t for p in group for t in p.missing_tables})
        dependents = sorted({d for p in group for d in p.dependents})
        out.append(
            f"TF012 {label}: phantom in {len(group)} of {tenant_count} tenant schema(s) "
            f"({_some(schemas, verbose)}): {', '.join(records)} recorded as applied, but none "
            f"of its tables exist there ({', '.join(tables)})."
        )
        if dependents:
            out.append(
                "      `zero --fake` also deletes the records of migrations that depend on it, "
                f"which migrate_schemas records again: {', '.join(dependents)}."
            )
        uniform = all(p.records == group[0].records for p in group)
        if verbose or not uniform:
            if not uniform and not verbose:
                out.append("      (the records differ between schemas: --verbose lists them)")
            else:
                out += [f"      {p.schema}: {', '.join(p.records)}" for p in group]
    return out


def _shadow_lines(shadows: Iterable[Shadow], repaired: set[str], verbose: bool) -> list[str]:
    out: list[str] = []
    by_app: dict[tuple[str, bool], list[Shadow]] = defaultdict(list)
    for shadow in shadows:
        by_app[(shadow.app_label, shadow.schema == PUBLIC)].append(shadow)
    for (label, in_public), group in by_app.items():
        first = group[0]
        what = "the user model's tables" if first.is_user_app else f"tables of {label!r}"
        move_users = (
            " For users, `tenantfix move-users` moves them (into public, foreign keys rewritten, "
            "reversible)."
            if first.is_user_app
            else ""
        )
        if in_public:
            listing = ", ".join(_rows(t, n) for t, n in first.tables)
            # Found on a real project: with no table of their own, tenant queries silently
            # read public's rows through search_path; the repair changes what they see.
            change = (
                f" Until the repair, the tenant schemas have no {label} tables of their own, so "
                "their queries read these public rows through search_path; after it they read "
                "their own tables, which start empty. Copy the rows each tenant needs into its "
                "schema after the repair."
                if label in repaired
                else ""
            )
            out.append(
                f"NOTE public: holds {what}: {listing}. The app is now tenant-only, and on "
                f"search_path '<tenant>, public' each tenant's own tables shadow these.{change} "
                "tenantfix leaves them untouched: move their rows into the tenant schemas "
                "yourself if they matter, then drop them once nothing references them."
            )
            continue
        if len(group) == 1 or verbose:
            for shadow in group:
                listing = ", ".join(_rows(t, n) for t, n in shadow.tables)
                out.append(
                    f"NOTE {shadow.schema}: holds its own copy of {what}: {listing}. The app is "
                    f"now public-only, and on search_path '{shadow.schema}, public' these tables "
                    "shadow the public ones. tenantfix leaves them untouched: move or merge their "
                    "rows yourself if they matter, then drop them once nothing references them."
                    + move_users
                )
            continue
        tables = sorted({t for s in group for t, _ in s.tables})
        rows = sum(n for s in group for _, n in s.tables)
        out.append(
            f"NOTE {len(group)} tenant schemas ({_some([s.schema for s in group], False)}) hold "
            f"their own copy of {what} ({', '.join(tables)}; {rows} rows in all; --verbose lists "
            "each). The app is now public-only, and on search_path '<tenant>, public' these "
            "tables shadow the public ones. tenantfix leaves them untouched: move or merge their "
            "rows yourself if they matter, then drop them once nothing references them."
            + move_users
        )
    return out


def _rows(table: str, n: int) -> str:
    return f"{table} ({n} row{'s' if n != 1 else ''})"


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


def _shadows(graph: ProjectGraph, state: SchemaState, conn: Conn) -> list[Shadow]:
    """Tables of apps the settings no longer migrate in this schema (never touched)."""
    from tenantfix.db.inspect import row_count

    user_app = graph.user_app
    out: list[Shadow] = []
    for app in graph.apps:
        if state.name == PUBLIC:
            moved_away = graph.is_tenant(app) and not graph.is_shared(app)
        else:
            moved_away = graph.is_shared(app) and not graph.is_tenant(app)
        if not moved_away:
            continue
        own = sorted({m.table for m in app.concrete_models} & state.tables)
        if own:
            counted = tuple((t, row_count(conn, state.name, t)) for t in own)
            out.append(
                Shadow(
                    state.name,
                    app.label,
                    counted,
                    user_app is not None and app.label == user_app.label,
                )
            )
    return out


def _unmigrated(
    index: MigrationIndex,
    layout: DatabaseLayout,
    phantoms: list[PhantomApp],
    tenants: Iterable[SchemaState],
) -> list[str]:
    """Apps with neither records nor tables in a schema that should have them: not phantoms,
    just not migrated yet (after an interrupted repair, or a deploy that skipped migrate)."""
    graph = index.graph
    phantom_public = any(p.schema == PUBLIC for p in phantoms)
    phantom_tenant = any(p.schema != PUBLIC for p in phantoms)
    by_app: dict[tuple[str, bool], list[str]] = defaultdict(list)
    for state in (layout.public, *tenants):
        is_public = state.name == PUBLIC
        if state.records is None or (phantom_public if is_public else phantom_tenant):
            continue  # the plan's migrate_schemas run covers these
        recorded = state.recorded_apps()
        for app in graph.apps:
            if app.label in recorded or not app.migrations or not _allowed(graph, app, state.name):
                continue
            keys = {m.key for m in app.migrations}
            expected = set().union(*index.tables(app.label, keys).values())
            if expected and not expected & state.tables:
                by_app[(app.label, is_public)].append(state.name)
    out: list[str] = []
    for (label, is_public), schemas in sorted(by_app.items()):
        command = "migrate_schemas --shared" if is_public else "migrate_schemas --tenant"
        where = (
            "public"
            if is_public
            else f"{len(schemas)} of {len(layout.tenants)} tenant schema(s) ({_some(schemas, False)})"
        )
        out.append(
            f"{label} has neither migration records nor tables in {where}: not a phantom, just "
            f"not migrated yet (an interrupted repair?). `python manage.py {command}` creates "
            "them."
        )
    return out


def _public_rows_hidden(
    phantoms: list[PhantomApp], shadows: list[Shadow], public: SchemaState, conn: Conn
) -> list[str]:
    """Tenant phantoms whose tables public also has: tenant queries read public's rows today.

    Seen on real projects (auth added to TENANT_APPS after tenants exist): with no table of
    their own, tenant queries find public's through search_path. Once repaired, each tenant
    reads its own new, empty table: logins, permissions, reference rows seem to vanish.
    """
    from tenantfix.db.inspect import row_count

    shadowed = {s.app_label for s in shadows if s.schema == PUBLIC}  # already explained
    out: list[str] = []
    by_app: dict[str, set[str]] = defaultdict(set)
    for p in phantoms:
        if p.schema != PUBLIC and p.app_label not in shadowed:
            by_app[p.app_label].update(p.missing_tables)
    for label, missing in sorted(by_app.items()):
        in_public = sorted(missing & public.tables)
        if not in_public:
            continue
        counted = ", ".join(_rows(t, row_count(conn, PUBLIC, t)) for t in in_public)
        out.append(
            f"until the repair, queries in the tenant schemas read public's {label} tables "
            f"through search_path ({counted}); after it each tenant reads its own new tables "
            "(empty, but for what migrate itself adds). If tenants rely on public's rows "
            "(logins, permissions, reference data), "
            f"copy what each needs after the repair, or keep {label} out of TENANT_APPS."
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
    from tenantfix.settings import resolve_settings

    location = discover(path, settings)
    graph = build_graph(location.root, resolve_settings(location), python=python)
    return location, graph


def _recognise(
    graph: ProjectGraph,
    index: MigrationIndex,
    layout: DatabaseLayout,
    params: DatabaseParams,
    tenant_app: str,
) -> str:
    """FIRST_MIGRATE or TENANTS, or a refusal naming what this project's database would hold.

    The tenant table alone does not decide it: the write-up's first ``--shared`` failed before
    django-tenants created it. What this project's migrations would have recorded does.
    """
    public = layout.public
    if public.records is None:
        raise TenantfixError(
            f"{params.safe_url} is not a Django database: public has no django_migrations "
            "table (migrate has never run there). Check --database-url; there is nothing to "
            "repair in a database that never migrated.",
            ExitCode.REFUSED,
        )
    if layout.has_tenant_table:
        # No tenant row and no tenant schema: what a failed first --shared leaves when the
        # tenant app's migration ran before the failing one (the write-up's order).
        return TENANTS if layout.tenant_rows or layout.orphans else FIRST_MIGRATE
    ours = sorted(k for k in public.records if k in index.migrations)
    known_apps = {a.label for a in graph.apps}
    foreign = sorted(public.recorded_apps() - known_apps)
    if ours and not foreign:
        return FIRST_MIGRATE
    setting = graph.settings.tenant_model
    expected = sorted(
        {
            f"{a.label}.{m.name}"
            for a in graph.apps
            if a.local or a.label == tenant_app
            for m in a.migrations
            if m.initial or m.name.startswith("0001")
        }
    )
    found = (
        "it records migrations of apps this project does not have: "
        + ", ".join(foreign[:10])
        + (f" and {len(foreign) - 10} more" if len(foreign) > 10 else "")
        if foreign
        else "its django_migrations table is empty"
        if not public.records
        else "none of its records is a migration of this project"
    )
    raise TenantfixError(
        f"{params.safe_url} is not a django-tenants database for this project: public has no "
        f"{layout.tenant_table} table (TENANT_MODEL {setting.value if setting else '?'}), and "
        f"{found}. Expected in public.django_migrations: records of this project's migrations "
        f"({', '.join(expected[:8]) or 'none found in the project'}"
        f"{', ...' if len(expected) > 8 else ''}). Check --database-url and --settings.",
        ExitCode.REFUSED,
    )


def plan_repair(
    path: Path,
    database_url: str,
    *,
    settings: str | None = None,
    python: str | None = None,
) -> RepairPlan:
    """Read the project and the database (read-only) and build the plan."""
    from tenantfix.db.connect import connect, scrub
    from tenantfix.db.schemas import read_layout

    params = DatabaseParams.from_url(database_url)
    location, graph = load_graph(path, settings, python)
    index = MigrationIndex(graph)
    tenant_app, tenant_table = _tenant_table(graph)
    notes: list[str] = []
    import psycopg

    try:
        with connect(params) as conn:
            layout = read_layout(conn, tenant_table)
            state = _recognise(graph, index, layout, params, tenant_app)
            public = layout.public
            assert public.records is not None  # _recognise refused otherwise
            phantoms, refusals = analyse_schema(
                index, PUBLIC, set(public.records), set(public.tables)
            )
            shadows = _shadows(graph, public, conn)
            for schema in layout.missing:
                notes.append(
                    f"tenant {schema!r} is in {tenant_table} but its schema does not exist; skipped"
                )
            # Multi-type tenants: what migrates in a tenant schema depends on the tenant's
            # type (TENANT_TYPES[type]["APPS"]), read from a column tenantfix does not read yet.
            # Judging them by every type's apps would call another type's skipped records
            # phantoms (seen on the multi-type fixture), so they are not judged at all.
            judged = () if graph.settings.has_multi_type_tenants else layout.tenants
            if len(judged) < len(layout.tenants):
                notes.append(
                    f"multi-type tenants (TENANT_TYPES): which apps migrate in a tenant schema "
                    f"depends on its tenant type, which tenantfix does not read yet, so the "
                    f"{len(layout.tenants)} tenant schema(s) were not judged (public was). Check "
                    "them with `python manage.py tenant_command showmigrations --schema=<schema>`."
                )
            for tenant in judged:
                shadows += _shadows(graph, tenant, conn)
                if tenant.records is None:
                    continue  # never migrated: migrate_schemas will do it, nothing is phantom
                p, r = analyse_schema(index, tenant.name, set(tenant.records), set(tenant.tables))
                phantoms += p
                refusals += r
            notes += _public_rows_hidden(phantoms, shadows, public, conn)
            notes += _unmigrated(index, layout, phantoms, judged)
            orphans = []
            for left in layout.orphans:
                assert left.records is not None
                p = []
                if not graph.settings.has_multi_type_tenants:
                    p, _ = analyse_schema(index, left.name, set(left.records), set(left.tables))
                orphans.append(Orphan(left.name, tuple(p)))
    except psycopg.Error as exc:
        # e.g. a tenant schema the role may not read: a message, never a traceback
        raise TenantfixError(
            f"reading {params.safe_url} failed: {scrub(str(exc).strip(), params)}. Nothing was "
            "changed; repair-db needs a role that can read every schema (USAGE on each "
            "schema, SELECT on django_migrations and the tenant table).",
            ExitCode.REFUSED,
        ) from None
    return RepairPlan(
        project=location,
        database=params,
        state=state,
        tenant_table=tenant_table,
        schemas=(PUBLIC, *(t.name for t in layout.tenants)),
        phantoms=tuple(phantoms),
        refusals=tuple(refusals),
        shadows=tuple(shadows),
        orphans=tuple(orphans),
        steps=tuple(_steps(phantoms)) if not refusals else (),
        notes=tuple(notes),
        has_tenant_table=layout.has_tenant_table,
    )


def _steps(phantoms: list[PhantomApp]) -> list[PlanStep]:
    public = [p for p in phantoms if p.schema == PUBLIC]
    tenant: dict[str, list[PhantomApp]] = defaultdict(list)
    for p in phantoms:
        if p.schema != PUBLIC:
            tenant[p.app_label].append(p)
    out: list[PlanStep] = []
    for p in public:
        deleted = len(p.records) + len(p.dependents)
        command = PlannedCommand(
            ("migrate_schemas", f"--schema={PUBLIC}", p.app_label, "zero", "--fake"), PUBLIC
        )
        out.append(
            PlanStep(
                command.shell,
                f"Safe: --fake runs no migration code; it only deletes {deleted} record(s) from "
                f"public.django_migrations. None of {p.app_label}'s tables exist in public, so no "
                "table, row or schema is touched.",
                (command,),
            )
        )
    if public:
        command = PlannedCommand(("migrate_schemas", "--shared"), PUBLIC)
        out.append(
            PlanStep(
                command.shell,
                "Creates the missing tables in public and records the migrations again (every "
                "pending shared migration runs, as on a normal deploy). It only creates and "
                "alters; each migration has its own transaction.",
                (command,),
            )
        )
    for label in sorted(tenant):
        group = sorted(tenant[label], key=lambda p: p.schema)
        commands = tuple(
            PlannedCommand(
                ("migrate_schemas", f"--schema={p.schema}", label, "zero", "--fake"), p.schema
            )
            for p in group
        )
        title = (
            commands[0].shell
            if len(commands) == 1
            else f"python manage.py migrate_schemas --schema=<schema> {label} zero --fake, "
            f"for each of the {len(commands)} schemas above"
        )
        out.append(
            PlanStep(
                title,
                f"Safe: --fake runs no migration code; it only deletes {label}'s records"
                + (
                    " (and those of migrations depending on it, listed above)"
                    if any(p.dependents for p in group)
                    else ""
                )
                + " from each schema's django_migrations. None of "
                f"{label}'s tables exist in these schemas, so no table, row or schema is touched.",
                commands,
            )
        )
    if tenant:
        command = PlannedCommand(("migrate_schemas", "--tenant"))
        out.append(
            PlanStep(
                command.shell,
                "Creates the missing tables in every tenant schema and records the migrations "
                "again (every pending tenant migration runs, in every tenant schema, as on a "
                "normal deploy). It only creates and alters.",
                (command,),
            )
        )
    return out


# ----------------------------------------------------------------------------- execution
class Progress(Protocol):
    """Told before each command: how many ran, how many in all, and which one starts."""

    def __call__(self, done: int, total: int, command: PlannedCommand) -> None: ...


@dataclass(frozen=True, slots=True)
class RepairRun:
    """The commands that ran (stopping at the first failure) and the database afterwards."""

    plan: RepairPlan
    runs: tuple[RunResult, ...]
    after: RepairPlan | None  # re-inspection after success
    interrupted: PlannedCommand | None = None  # Ctrl-C during this command

    @property
    def ok(self) -> bool:
        return (
            self.interrupted is None
            and all(r.ok for r in self.runs)
            and (self.after is None or not self.after.needed)
        )

    @property
    def failed(self) -> RunResult | None:
        return next((r for r in self.runs if not r.ok), None)

    def took_effect(self, *, verbose: bool = True) -> list[str]:
        """What changed in the database, up to a failure; resets of one app over more than a
        few schemas as one line unless ``verbose``."""
        out: list[str] = []
        resets: dict[str, list[str]] = defaultdict(list)
        for command, run in zip(self.plan.commands, self.runs, strict=False):
            if not run.ok:
                break
            if "zero" in command.args:
                resets[command.args[2]].append(command.schema or "?")
            else:
                applied = f": applied {', '.join(run.applied)}" if run.applied else ""
                out.append(f"{' '.join(command.args)} ran{applied}")
        for label, schemas in resets.items():
            if verbose or len(schemas) <= _SHOWN:
                out += [
                    f"{s}: {label}'s migration records deleted (no table or row touched)"
                    for s in schemas
                ]
            else:
                out.append(
                    f"{label}'s migration records deleted in {len(schemas)} schemas "
                    f"({_some(schemas, False)}; no table or row touched)"
                )
        return out

    def not_run_lines(self, *, verbose: bool = True) -> list[str]:
        """The commands that did not run, those of one step over many schemas as one line."""
        left = self.not_run()
        if verbose or len(left) <= _SHOWN:
            return [c.shell for c in left]
        out: list[str] = []
        for step in self.plan.steps:
            mine = [c for c in step.commands if c in left]
            if len(mine) == 1:
                out.append(mine[0].shell)
            elif mine:
                schemas = [c.schema or "?" for c in mine]
                out.append(
                    f"{step.title.split(', for each')[0]} in {len(mine)} schemas "
                    f"({_some(schemas, False)})"
                )
        return out

    def lines(self, *, verbose: bool = False) -> list[str]:
        """One line per command that ran; a step over many schemas as one line unless
        ``verbose`` (its failing command, if any, on a line of its own)."""
        out: list[str] = []
        start = 0
        for step in self.plan.steps:
            results = self.runs[start : start + len(step.commands)]
            start += len(step.commands)
            if not results:
                break
            failed = [r for r in results if not r.ok]
            if verbose or len(step.commands) == 1:
                shown = list(results)
            else:
                passed = len(results) - len(failed)
                took = sum(r.seconds for r in results if r.ok)
                out.append(
                    f"{'ok':<8}{step.title} ({took:.1f} s)"
                    if passed == len(step.commands)
                    else f"{'ok':<8}{passed} of {len(step.commands)} commands of: {step.title} "
                    f"({took:.1f} s)"
                )
                shown = failed
            for run in shown:
                mark = "ok" if run.ok else "FAILED"
                out.append(f"{mark:<8}{run.command} ({run.seconds:.1f} s)")
        return out

    def not_run(self) -> list[PlannedCommand]:
        skip = len(self.runs) + (1 if self.interrupted is not None else 0)
        return list(self.plan.commands[skip:])


def execute(
    plan: RepairPlan,
    *,
    python: str | None = None,
    progress: Progress | None = None,
    all_aliases: bool = False,
) -> RepairRun:
    """Run the plan's commands against the plan's database; stop at the first failure.

    ``all_aliases`` points every alias of DATABASES at the plan's database (for a scratch
    clone: no other configured database can be reached).
    """
    from tenantfix.djangorun import DjangoRunner

    if plan.refused:
        raise TenantfixError(
            "the repair was refused (see above); nothing was run", ExitCode.REFUSED
        )
    from tenantfix.batchrun import run_batch

    runs: list[RunResult] = []
    total = len(plan.commands)
    started: list[PlannedCommand] = []  # the command running when Ctrl-C came

    def starting(command: PlannedCommand) -> None:
        started.append(command)  # every command before it succeeded: the run stops at a failure
        if progress:
            progress(len(started) - 1, total, command)

    def starting_nth(batch: tuple[PlannedCommand, ...]) -> Callable[[int], None]:
        return lambda i: starting(batch[i])

    with DjangoRunner(
        plan.project.root,
        plan.project.settings_module,
        plan.database,
        python=python,
        all_aliases=all_aliases,
    ) as runner:
        try:
            for step in plan.steps:
                if len(step.commands) == 1:
                    starting(step.commands[0])
                    # with the system checks, as `manage.py <command>` would run them
                    single = run_batch(
                        runner,
                        [step.commands[0].args],
                        into=runs,
                        checks=True,
                        timeout_per_command=runner.timeout,
                    )
                    if not single:
                        raise TenantfixError(
                            f"`{step.commands[0].shell}` ended without a result; rerun "
                            "repair-db to see the state",
                            ExitCode.VERIFY_FAILED,
                        )
                    if not single[0].ok:
                        return RepairRun(plan, tuple(runs), None)
                    continue
                # one app over many schemas: one process, not one Django start-up per schema
                batch = step.commands
                results = run_batch(
                    runner, [c.args for c in batch], before_each=starting_nth(batch), into=runs
                )
                if not all(r.ok for r in results):
                    return RepairRun(plan, tuple(runs), None)
                if len(results) != len(batch):
                    raise TenantfixError(
                        f"the batch of {len(batch)} commands stopped after {len(results)} "
                        "without an error; rerun repair-db to see the state",
                        ExitCode.VERIFY_FAILED,
                    )
        except KeyboardInterrupt:
            return RepairRun(plan, tuple(runs), None, interrupted=started[-1] if started else None)
    after = plan_repair(
        plan.project.root,
        plan.database.url,
        settings=plan.project.settings_module,
        python=python,
    )
    return RepairRun(plan, tuple(runs), after)


# ----------------------------------------------------------------------- proof on a clone
@dataclass(frozen=True, slots=True)
class CloneProof:
    """The plan run on a scratch clone first: what ran there and whether any row went."""

    description: str  # how the clone was made
    run: RepairRun | None  # None: the plan on the clone differed, nothing ran
    lost: tuple[str, ...]  # "acme.notes_note: 3 row(s) before, 2 after"
    mismatch: str | None = None

    @property
    def ok(self) -> bool:
        return self.mismatch is None and self.run is not None and self.run.ok and not self.lost

    def lines(self, *, verbose: bool = False) -> list[str]:
        out = [f"Proof on {self.description}:"]
        if self.mismatch:
            out.append(f"  FAILED  {self.mismatch}")
        if self.run is not None:
            out += [f"  {line}" for line in self.run.lines(verbose=verbose)]
            failed = self.run.failed
            if failed is not None:
                where = f" at {failed.failed_migration}" if failed.failed_migration else ""
                schema = f" (schema {failed.schema})" if failed.schema else ""
                out.append(f"          error{where}{schema}: {failed.error}")
            if self.run.interrupted is not None:
                out.append(f"  INTERRUPTED during {self.run.interrupted.shell}")
            if self.run.failed is None and self.run.after is not None and self.run.after.needed:
                out.append("  FAILED  phantom records remain on the clone after the plan ran")
        out += [f"  LOST    {line}" for line in self.lost]
        if self.ok:
            out.append(
                "  Proven: every command passed, no phantom record remains, and no table lost "
                "a row (django_migrations aside)."
            )
        return out


def prove_on_clone(
    plan: RepairPlan,
    *,
    python: str | None = None,
    progress: Progress | None = None,
    say: Callable[[str], None] | None = None,
) -> CloneProof:
    """Clone the plan's database, plan again on the clone, run it there, count every row."""
    from tenantfix.db.clone import scratch_clone
    from tenantfix.db.connect import connect
    from tenantfix.db.schemas import row_counts

    with scratch_clone(plan.database, say) as clone:
        with connect(clone.params) as conn:
            before = row_counts(conn)
        on_clone = plan_repair(
            plan.project.root,
            clone.params.url,
            settings=plan.project.settings_module,
            python=python,
        )
        if [c.args for c in on_clone.commands] != [c.args for c in plan.commands]:
            return CloneProof(
                clone.description,
                None,
                (),
                "the plan read from the clone differs from the one read from the database "
                "(did the database change meanwhile?); nothing was run. Run repair-db again.",
            )
        run = execute(on_clone, python=python, progress=progress, all_aliases=True)
        with connect(clone.params) as conn:
            after = row_counts(conn)
    lost = tuple(
        f"{schema}.{table}: {n} row(s) before, "
        + (f"{after[(schema, table)]} after" if (schema, table) in after else "table gone")
        for (schema, table), n in sorted(before.items())
        if table != "django_migrations" and after.get((schema, table), -1) < n
    )
    return CloneProof(clone.description, run, lost)
