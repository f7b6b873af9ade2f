"""Predict ``migrate_schemas`` on an empty database from the static project graph.

Mirrors what Django 5.2 and django-tenants do, step by step:

- The migration graph is built as ``MigrationLoader.build_graph`` does: internal dependencies
  first, then external ones where ``__first__`` of a migrated app means its first root node, of an
  unmigrated app (no ``migrations`` package) is ignored, and of an app with an *empty* migrations
  package raises ``ValueError: Dependency on app with no migrations: <label>``. Squashed migrations
  replace their targets (nothing is applied yet). A cycle raises Django's
  ``CircularDependencyError: a.0001_initial, b.0001_initial`` (``ensure_not_cyclic``; Django walks
  a set, so which node of the cycle it names first depends on the hash seed: we walk sorted).
- The plan is ``forwards_plan`` of every leaf node in sorted order: Django's iterative depth-first
  search that visits sorted parents, so the order is exactly Django's.
- Each schema runs the whole plan. ``TenantSyncRouter`` allows an app's operations in public when it
  is in SHARED_APPS (``TENANT_TYPES['public']['APPS']``), in a tenant when it is in TENANT_APPS
  (the type's APPS); disallowed migrations are still recorded. ``migrate_schemas`` does not pass
  ``--run-syncdb``, so apps without migrations never get tables.
- On PostgreSQL an AddField's foreign key is created inline (fails at once); CreateModel's foreign
  keys and M2M tables' keys are deferred to the end of the migration. A referenced table is looked up
  in the schema, then (tenants) in public: ``search_path = tenant, public``.
- ``RunPython``/``RunSQL`` run where their migration's app is allowed (the router is asked with
  the migration's app label); a model the function gets with ``apps.get_model`` (or a table the
  SQL names) whose table this schema cannot see fails there, at that operation.

The first failure per schema is reported as Django prints it: the migration being applied and
``relation "<table>" does not exist``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tenantfix.graph.model import (
    USER_MODEL_SETTING,
    App,
    AppList,
    Migration,
    ProjectGraph,
    Relation,
)
from tenantfix.plan import Prediction

SHARED_STEP = "migrate_schemas --shared"
TENANT_STEP = "migrate_schemas --tenant"
PUBLIC = "public"
_MAX_NAME = 63  # PostgreSQL's identifier length, Django's max_name_length()

Key = tuple[str, str]


class MigrationGraphError(Exception):
    """The loader itself fails (before any migration runs), with Django's message."""


@dataclass(frozen=True, slots=True)
class SchemaPrediction:
    """The predicted outcome of one schema's migrate run on an empty database.

    ``schema`` is ``public`` or the tenant type (``tenant`` for single-type projects).
    ``failed_migration``/``error`` describe the first failure (both ``None`` on success; a loader
    error has no migration). ``recorded`` lists the migrations recorded as applied before the
    failure, including those whose operations the router skipped; ``tables`` the tables the run
    left in this schema. ``failures`` lists every failing migration had the run gone on (for
    checks that want the failure about *their* table, not only the first one).
    """

    schema: str
    step: str
    failed_migration: str | None = None
    error: str | None = None
    recorded: tuple[str, ...] = ()
    tables: frozenset[str] = field(default_factory=frozenset)
    failures: tuple[tuple[str, str], ...] = ()  # every (migration, error), run continued
    tables_past_failures: frozenset[str] = field(default_factory=frozenset)

    @property
    def reachable_tables(self) -> frozenset[str]:
        """Tables made by every migration that does not fail itself (the run continued)."""
        return self.tables_past_failures if self.failures else self.tables

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_prediction(self) -> Prediction | None:
        """The failure as a :class:`tenantfix.plan.Prediction` (``None`` when the run succeeds)."""
        if self.error is None:
            return None
        return Prediction(step=self.step, migration=self.failed_migration, error=self.error)


def truncate_name(name: str, length: int = _MAX_NAME, hash_len: int = 4) -> str:
    """Django's ``truncate_name`` for default table names longer than PostgreSQL allows."""
    if len(name) <= length:
        return name
    digest = hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:hash_len]
    return name[: length - hash_len] + digest


def _default_table(label: str, model: str) -> str:
    return truncate_name(f"{label}_{model.lower()}")


# --- the migration graph ----------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class _Node:
    key: Key
    migration: Migration | None
    parents: set[_Node] = field(default_factory=set)
    children: set[_Node] = field(default_factory=set)

    def __lt__(self, other: _Node) -> bool:
        return self.key < other.key

    def __hash__(self) -> int:
        return hash(self.key)


def _node_key(node: _Node) -> Key:
    return node.key


class _Graph:
    def __init__(self) -> None:
        self.nodes: dict[Key, _Node] = {}
        self.dummies: dict[Key, str] = {}
        # every app's roots, computed at once: a cross-app dependency does not change them
        self._roots: dict[str, list[Key]] | None = None

    def add(self, key: Key, migration: Migration) -> None:
        self.nodes[key] = _Node(key, migration)
        self._roots = None

    def depend(self, child: Key, parent: Key, origin: str) -> None:
        for key, role in ((child, "child"), (parent, "parent")):
            if key not in self.nodes:
                self.nodes[key] = _Node(key, None)
                self._roots = None
                self.dummies[key] = (
                    f"Migration {origin} dependencies reference nonexistent {role} node {key!r}"
                )
        if child[0] == parent[0]:
            self._roots = None
        self.nodes[child].parents.add(self.nodes[parent])
        self.nodes[parent].children.add(self.nodes[child])

    def roots(self, app: str) -> list[Key]:
        if self._roots is None:
            roots: dict[str, list[Key]] = {}
            for k, n in self.nodes.items():
                if all(p.key[0] != k[0] for p in n.parents):
                    roots.setdefault(k[0], []).append(k)
            self._roots = {label: sorted(keys) for label, keys in roots.items()}
        return list(self._roots.get(app, ()))

    def leaves(self) -> list[Key]:
        return sorted(k for k, n in self.nodes.items() if all(c.key[0] != k[0] for c in n.children))

    def replace(self, replacement: Key, replaced: Iterable[Key]) -> None:
        self._roots = None
        targets = set(replaced)
        new = self.nodes[replacement]
        for key in targets:
            old = self.nodes.pop(key, None)
            self.dummies.pop(key, None)
            if old is None:
                continue
            for child in old.children:
                child.parents.discard(old)
                if child.key not in targets:
                    new.children.add(child)
                    child.parents.add(new)
            for parent in old.parents:
                parent.children.discard(old)
                if parent.key not in targets:
                    new.parents.add(parent)
                    parent.children.add(new)

    def first_cycle(self, within: set[Key] | None = None) -> list[Key] | None:
        """Django's ``ensure_not_cyclic`` (GvR's algorithm) walked in sorted order: the cycle's
        nodes parent first, as ``CircularDependencyError`` lists them."""
        todo = set(self.nodes if within is None else within)
        ordered: dict[Key, list[_Node]] = {}  # each node's children, sorted once
        # the smallest key left, each time: one sort, skipping the keys visited meanwhile
        for node in sorted(todo):
            if node not in todo:
                continue
            todo.remove(node)
            stack = [node]
            on_stack = {node}
            while stack:
                top = stack[-1]
                children = ordered.get(top)
                if children is None:
                    children = ordered[top] = sorted(self.nodes[top].children, key=_node_key)
                for child in children:
                    if within is not None and child.key not in within:
                        continue
                    if child.key in on_stack:
                        return stack[stack.index(child.key) :]
                    if child.key in todo:
                        stack.append(child.key)
                        on_stack.add(child.key)
                        todo.remove(child.key)
                        break
                else:
                    on_stack.discard(stack.pop())
        return None

    def cyclic_components(self) -> list[list[Key]]:
        """Strongly connected components with a cycle (Kosaraju, iterative), each sorted."""
        order: list[Key] = []
        seen: set[Key] = set()
        for start in sorted(self.nodes):
            if start in seen:
                continue
            seen.add(start)
            stack: list[tuple[Key, list[Key]]] = [
                (start, sorted(c.key for c in self.nodes[start].children))
            ]
            while stack:
                key, rest = stack[-1]
                if rest:
                    nxt = rest.pop()
                    if nxt not in seen:
                        seen.add(nxt)
                        stack.append((nxt, sorted(c.key for c in self.nodes[nxt].children)))
                else:
                    order.append(key)
                    stack.pop()
        assigned: set[Key] = set()
        components: list[list[Key]] = []
        for start in reversed(order):
            if start in assigned:
                continue
            component = []
            todo = [start]
            assigned.add(start)
            while todo:
                key = todo.pop()
                component.append(key)
                for parent in self.nodes[key].parents:
                    if parent.key not in assigned:
                        assigned.add(parent.key)
                        todo.append(parent.key)
            node = self.nodes[start]
            if len(component) > 1 or node in node.parents:
                components.append(sorted(component))
        return sorted(components)

    def forwards_plan(self, target: Key) -> list[Key]:
        # Django's MigrationGraph.iterative_dfs, node for node
        visited: list[Key] = []
        seen: set[Key] = set()
        stack: list[tuple[_Node, bool]] = [(self.nodes[target], False)]
        while stack:
            node, processed = stack.pop()
            if node.key in seen:
                continue
            if processed:
                seen.add(node.key)
                visited.append(node.key)
            else:
                stack.append((node, True))
                stack += [(n, False) for n in sorted(node.parents)]
        return visited


def _loader_graph(graph: ProjectGraph) -> _Graph:
    """The graph ``MigrationLoader.build_graph`` makes, up to (not including) the cycle check."""
    migrated = {a.label for a in graph.apps if a.has_migrations_module}
    unmigrated = {a.label for a in graph.apps if not a.has_migrations_module}
    g = _Graph()
    disk: list[Migration] = [m for a in graph.apps if a.has_migrations_module for m in a.migrations]
    for m in disk:
        g.add(m.key, m)
    for m in disk:
        for dep in m.dependencies:
            if dep.app_label == m.app_label and dep.name != "__first__":
                g.depend(m.key, (dep.app_label, dep.name), _name(m.key))

    def check_key(key: Key, current_app: str) -> Key | None:
        if key[1] not in ("__first__", "__latest__") or key in g.nodes:
            return key
        if key[0] == current_app or key[0] in unmigrated:
            return None
        if key[0] in migrated:
            found = (
                g.roots(key[0])
                if key[1] == "__first__"
                else sorted(
                    k
                    for k, n in g.nodes.items()
                    if k[0] == key[0] and all(c.key[0] != k[0] for c in n.children)
                )
            )
            if not found:
                raise MigrationGraphError(
                    f"ValueError: Dependency on app with no migrations: {key[0]}"
                )
            return found[0]
        raise MigrationGraphError(f"ValueError: Dependency on unknown app: {key[0]}")

    for m in disk:
        for dep in m.dependencies:
            if dep.app_label == m.app_label:
                continue
            if dep.swappable and not dep.app_label:
                continue  # a swappable setting we could not resolve statically
            parent = check_key((dep.app_label, dep.name), m.app_label)
            if parent is not None:
                g.depend(m.key, parent, _name(m.key))
        for run_before in m.run_before:
            child = check_key(run_before, m.app_label)
            if child is not None:
                g.depend(child, m.key, _name(m.key))
    for m in disk:
        if m.replaces:
            g.replace(m.key, m.replaces)
    if g.dummies:
        raise MigrationGraphError(f"NodeNotFoundError: {next(iter(g.dummies.values()))}")
    return g


def circular_dependency_error(cycle: Iterable[Key]) -> str:
    """Django's message for a cycle given parent first."""
    return "CircularDependencyError: " + ", ".join(_name(k) for k in cycle)


@dataclass(frozen=True, slots=True)
class MigrationCycle:
    """Migrations that depend on each other (one strongly connected component of the graph).

    ``cycle`` is one cycle through them, parent first, as Django's error lists it; ``edges``
    every dependency inside the component as (dependent migration, migration it depends on).
    """

    migrations: tuple[Migration, ...]
    cycle: tuple[Key, ...]
    edges: tuple[tuple[Key, Key], ...]

    @property
    def error(self) -> str:
        return circular_dependency_error(self.cycle)


def migration_cycles(graph: ProjectGraph) -> tuple[MigrationCycle, ...]:
    """Every group of migrations that depend on each other (empty when the loader fails before
    it looks for cycles, or finds none)."""
    try:
        g = _loader_graph(graph)
    except MigrationGraphError:
        return ()
    found: list[MigrationCycle] = []
    for component in g.cyclic_components():
        members = set(component)
        cycle = g.first_cycle(members) or [component[0]]
        edges = sorted(
            (key, parent.key)
            for key in component
            for parent in g.nodes[key].parents
            if parent.key in members
        )
        migrations = tuple(m for key in component if (m := g.nodes[key].migration) is not None)
        found.append(MigrationCycle(migrations, tuple(cycle), tuple(edges)))
    return tuple(found)


def migration_plan(graph: ProjectGraph) -> list[Migration]:
    """Every installed migration in the order ``migrate`` applies them to an empty schema.

    Raises :class:`MigrationGraphError` with Django's message when the loader fails.
    """
    g = _loader_graph(graph)
    cycle = g.first_cycle()
    if cycle is not None:
        raise MigrationGraphError(circular_dependency_error(cycle))
    leaves = g.leaves()
    by_app: dict[str, list[str]] = {}
    for label, name in leaves:
        by_app.setdefault(label, []).append(name)
    conflicts = {app: names for app, names in by_app.items() if len(names) > 1}
    if conflicts:
        listing = "; ".join(f"{', '.join(names)} in {app}" for app, names in conflicts.items())
        raise MigrationGraphError(
            "CommandError: Conflicting migrations detected; multiple leaf nodes in the "
            f"migration graph: ({listing})."
        )
    plan: list[Migration] = []
    planned: set[Key] = set()
    for target in leaves:
        for key in g.forwards_plan(target):
            if key not in planned:
                planned.add(key)
                migration = g.nodes[key].migration
                if migration is not None:
                    plan.append(migration)
    return plan


def _name(key: Key) -> str:
    return f"{key[0]}.{key[1]}"


# --- running the plan in one schema -----------------------------------------------------------


@dataclass(slots=True)
class _State:
    """Model key (``label.modelname``) -> its table, or ``None`` when it gets no table."""

    tables: dict[str, str | None]
    swapped: dict[str, bool]

    @classmethod
    def initial(cls, graph: ProjectGraph) -> _State:
        # unmigrated apps' real models are part of Django's migration state (real_apps)
        tables: dict[str, str | None] = {}
        for app in graph.apps:
            if app.has_migrations_module:
                continue
            for model in app.models:
                if model.abstract:
                    continue
                tables[model.key] = model.db_table or _default_table(app.label, model.name)
        return cls(tables, {})


def simulate_schema(
    graph: ProjectGraph,
    plan: list[Migration],
    allowed: Callable[[App], bool],
    *,
    schema: str,
    step: str,
    visible: frozenset[str] = frozenset(),
) -> SchemaPrediction:
    """Run ``plan`` in one empty schema; ``visible`` are tables already reachable (public's).

    Django stops at the first failure; ``recorded`` and ``tables`` describe that moment. The run
    goes on past it (the failed migration rolled back) to list every failure in ``failures``.
    """
    user_key = graph.resolve_model(USER_MODEL_SETTING)
    state = _State.initial(graph)
    created: set[str] = set()
    recorded: list[str] = []
    failures: list[tuple[str, str]] = []
    at_failure: tuple[tuple[str, ...], frozenset[str]] | None = None
    for migration in plan:
        app = graph.app(migration.app_label)
        runs = app is not None and allowed(app)
        label = migration.app_label
        made: list[str] = []
        for cm in migration.created_models:
            if cm.proxy:
                continue  # a proxy shares its concrete model's table
            key = f"{label}.{cm.name.lower()}"
            swapped = cm.swappable == "AUTH_USER_MODEL" and key != user_key
            table = (
                None
                if (not cm.managed or swapped)
                else (cm.db_table or _default_table(label, cm.name))
            )
            state.tables[key] = table
            if runs and table is not None:
                made.append(table)
        renamed: list[tuple[str, str]] = []
        for model_name, new_table in migration.altered_tables:
            key = f"{label}.{model_name.lower()}"
            old = state.tables.get(key)
            new = new_table or _default_table(label, model_name)
            if old is not None:
                state.tables[key] = new
                renamed.append((old, new))
        if not runs:
            recorded.append(_name(migration.key))
            continue
        exists = created | visible | set(made)
        # immediate FKs (AddField/AlterField) fail before the deferred ones of CreateModel;
        # RunPython/RunSQL fail where they run, before the deferred keys are added
        immediate = [r for _, r in migration.added_relations]
        deferred: list[Relation] = []
        for cm in migration.created_models:
            if state.tables.get(f"{label}.{cm.name.lower()}") is not None:
                deferred.extend(cm.relations)
        error = next(
            (e for r in immediate if (e := _missing_target(graph, state, r, exists)) is not None),
            None,
        )
        if error is None:
            error = code_operation_error(graph, migration, state.tables, exists, schema == PUBLIC)
        if error is None:
            error = next(
                (
                    e
                    for r in deferred
                    if (e := _missing_target(graph, state, r, exists)) is not None
                ),
                None,
            )
        if error is not None:
            failures.append((_name(migration.key), error))
            if at_failure is None:
                at_failure = (tuple(recorded), frozenset(created))
            continue
        created.update(made)
        for old, new in renamed:
            if old in created:
                created.discard(old)
                created.add(new)
        recorded.append(_name(migration.key))
    if at_failure is None:
        return SchemaPrediction(
            schema=schema, step=step, recorded=tuple(recorded), tables=frozenset(created)
        )
    return SchemaPrediction(
        schema=schema,
        step=step,
        failed_migration=failures[0][0],
        error=failures[0][1],
        recorded=at_failure[0],
        tables=at_failure[1],
        failures=tuple(failures),
        tables_past_failures=frozenset(created),
    )


def code_operation_error(
    graph: ProjectGraph,
    migration: Migration,
    tables: dict[str, str | None],
    exists: set[str] | frozenset[str],
    public: bool,
) -> str | None:
    """The error of the first RunPython/RunSQL of ``migration`` that reads a table this schema
    cannot see (``tables``: model key -> table in the migration state so far)."""
    for op in migration.code_operations:
        if op.schemas == "none" or op.schemas == ("tenant" if public else "public"):
            continue  # @tenant_migration: the function returns without running here
        for ref, _ in op.models:
            table = tables.get(graph.resolve_model(ref))
            if table is not None and table not in exists:
                return f'relation "{table}" does not exist'
        known = {t for t in tables.values() if t is not None}
        for table, _ in op.tables:
            if table in known and table not in exists:
                return f'relation "{table}" does not exist'
    return None


def _missing_target(
    graph: ProjectGraph, state: _State, relation: Relation, exists: set[str] | frozenset[str]
) -> str | None:
    if relation.target is None:
        return None
    key = graph.resolve_model(relation.target)
    if key not in state.tables:
        return f"ValueError: Related model '{key}' cannot be resolved"
    table = state.tables[key]
    if table is None or table in exists:
        return None
    return f'relation "{table}" does not exist'


# --- the schemas of a project ----------------------------------------------------------------


def _router(graph: ProjectGraph, apps: AppList | None) -> Callable[[App], bool]:
    values = frozenset(apps.values) if apps is not None else frozenset()
    return lambda app: bool(app.list_values() & values)


_CACHE: list[tuple[ProjectGraph, tuple[SchemaPrediction, ...]]] = []


def predict(graph: ProjectGraph) -> tuple[SchemaPrediction, ...]:
    """Public first, then one prediction per tenant type (``tenant`` when single-type).

    Tenants run against the public tables every non-failing public migration makes (the state
    after the public failures are fixed); when the tenant model's table is missing from public,
    the tenant step fails before any tenant migration, querying it.
    The last graph's result is cached: several checks ask for the same graph.
    """
    if _CACHE and _CACHE[0][0] is graph:
        return _CACHE[0][1]
    settings = graph.settings
    try:
        plan = migration_plan(graph)
    except MigrationGraphError as exc:
        result: tuple[SchemaPrediction, ...] = (
            SchemaPrediction(schema=PUBLIC, step=SHARED_STEP, error=str(exc)),
        )
        _CACHE[:] = [(graph, result)]
        return result
    public = simulate_schema(
        graph, plan, _router(graph, settings.public_apps()), schema=PUBLIC, step=SHARED_STEP
    )
    results = [public]
    if settings.has_multi_type_tenants:
        tenant_lists = [(name, lst) for name, lst in settings.tenant_types if name != PUBLIC]
    else:
        tenant_lists = [("tenant", settings.tenant_apps)] if settings.tenant_apps else []
    tenant_table = _tenant_table(graph, plan)
    for name, lst in tenant_lists:
        if tenant_table is not None and tenant_table not in public.reachable_tables:
            results.append(
                SchemaPrediction(
                    schema=name,
                    step=TENANT_STEP,
                    error=f'relation "{tenant_table}" does not exist',
                )
            )
            continue
        results.append(
            simulate_schema(
                graph,
                plan,
                _router(graph, lst),
                schema=name,
                step=TENANT_STEP,
                visible=public.reachable_tables,
            )
        )
    result = tuple(results)
    _CACHE[:] = [(graph, result)]
    return result


def _tenant_table(graph: ProjectGraph, plan: list[Migration]) -> str | None:
    if graph.settings.tenant_model is None:
        return None
    key = graph.resolve_model(graph.settings.tenant_model.value)
    table: str | None = None
    for migration in plan:
        for cm in migration.created_models:
            if f"{migration.app_label}.{cm.name.lower()}" == key:
                table = cm.db_table or _default_table(migration.app_label, cm.name)
        for model_name, new in migration.altered_tables:
            if f"{migration.app_label}.{model_name.lower()}" == key:
                table = new or _default_table(migration.app_label, model_name)
    if table is None:
        model = graph.model(key)
        if model is not None:
            table = model.db_table or _default_table(model.app_label, model.name)
    return table


def first_failure(graph: ProjectGraph) -> Prediction | None:
    """The first predicted failure of the whole ``migrate_schemas`` run (public, then tenants)."""
    return next((p.to_prediction() for p in predict(graph) if not p.ok), None)


def public_prediction(graph: ProjectGraph) -> Prediction | None:
    """The predicted failure of ``migrate_schemas --shared`` (``None`` when it succeeds)."""
    return predict(graph)[0].to_prediction()
