"""Prove a project migrates on a real PostgreSQL, the way production will.

Three steps, each run by the project's own interpreter through ``drivers/migrate_driver.py``
(started by :mod:`tenantfix.djangorun`):

1. ``manage.py migrate_schemas --shared`` (public);
2. two tenants with a primary domain each, created through the project's TENANT_MODEL and
   TENANT_DOMAIN_MODEL after ``django.setup()`` (their schemas are created empty, so their
   migrations belong to step 3, as ``auto_create_schema`` would run them);
3. ``manage.py migrate_schemas`` (public again, then every tenant schema).

What each step did comes from the driver's events (Django's migrate progress callback, the
schema django-tenants' loop set on the connection, the exception object), not from the
project's output: per-schema progress while it runs, and a failure's migration, schema,
exception and project line without reading a traceback.

The database is a scratch one: a database in a throwaway server made from the machine's
PostgreSQL binaries, or, with ``database_url``, a ``tenantfix_verify_<random>`` database created
on that server and dropped afterwards. Nothing else on that server is touched.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tenantfix.db.params import DatabaseParams
from tenantfix.djangorun import DjangoRunner, refuse_unsupported_manage_py
from tenantfix.errors import ExitCode, TenantfixError

if TYPE_CHECKING:
    from tenantfix.migrate_events import DriverRun, Event
    from tenantfix.pr_body import Verification

Progress = Callable[[str], None]

SHARED = "migrate_schemas --shared"
TENANTS = "create 2 tenants with domains"
ALL = "migrate_schemas"
STEPS = (SHARED, TENANTS, ALL)
TENANT_SPECS = (
    {"schema": "tenantfix_one", "domain": "tenantfix-one.localhost", "label": "tenantfix one"},
    {"schema": "tenantfix_two", "domain": "tenantfix-two.localhost", "label": "tenantfix two"},
)

# Runs in the project's interpreter after django.setup(), in drivers/migrate_driver.py, which
# provides tenantfix_emit (the side channel: the project's prints cannot be taken for the result).
# Django 2.2 to 6.0
# on Python 3.6+: plain syntax only, and what differs between versions is feature-detected (as is
# django-tenant-schemas, whose tenants carry their own domain_url).
_CREATE_TENANTS = r"""
import datetime, decimal, json, sys, uuid
from django.conf import settings
from django.db import connection, models
from django.utils import timezone

try:
    from django_tenants.utils import get_tenant_model
    LEGACY = False
except ImportError:
    # django-tenant-schemas, django-tenants' predecessor: the domain is the tenant's own
    # domain_url field, there is no domain model.
    from tenant_schemas.utils import get_tenant_model
    LEGACY = True

try:
    if LEGACY:
        from tenant_schemas.utils import schema_exists
    else:
        from django_tenants.utils import schema_exists
except ImportError:  # releases without it: ask PostgreSQL directly
    def schema_exists(schema_name):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [schema_name]
            )
            return cursor.fetchone() is not None

# models.JSONField exists since Django 3.1; before it there is no generic JSON field to fill.
JSON_FIELD = getattr(models, "JSONField", None)

def sample(field, label):
    if field.choices:
        return next(iter(dict(field.flatchoices)))
    if isinstance(field, models.EmailField):
        return label.replace(" ", "-") + "@example.com"
    if isinstance(field, models.URLField):
        return "https://" + label.replace(" ", "-") + ".example.com"
    if isinstance(field, (models.CharField, models.TextField)):
        text = label.replace(" ", "-") if isinstance(field, models.SlugField) else label
        return text[: field.max_length] if field.max_length else text
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, (models.IntegerField, models.FloatField)):
        return 0
    if isinstance(field, models.DecimalField):
        return decimal.Decimal(0)
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return datetime.date.today()
    if isinstance(field, models.TimeField):
        return datetime.time(0, 0)
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if JSON_FIELD is not None and isinstance(field, JSON_FIELD):
        return {}
    return None

def fill(model, obj, skip, label):
    missing = []
    for f in model._meta.concrete_fields:
        if f.primary_key or f.auto_created or f.name in skip or f.null or f.has_default():
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            continue
        value = None if f.is_relation else sample(f, label)
        if value is None:
            missing.append("%s (%s)" % (f.name, type(f).__name__))
        else:
            setattr(obj, f.attname, value)
    return missing

out = {"created": [], "missing": {}, "note": None}
specs = json.loads(sys.argv[1])
Tenant = get_tenant_model()
Domain = None
if LEGACY:
    pass
elif getattr(settings, "TENANT_DOMAIN_MODEL", None):
    from django_tenants.utils import get_tenant_domain_model
    Domain = get_tenant_domain_model()
else:
    out["note"] = "TENANT_DOMAIN_MODEL is not set: tenants were created without domains"
for spec in specs:
    tenant = Tenant(schema_name=spec["schema"])
    if LEGACY:
        tenant.domain_url = spec["domain"]
    missing = fill(Tenant, tenant, {"schema_name", "domain_url"}, spec["label"])
    if missing:
        out["missing"][Tenant._meta.label] = missing
        break
    domain = None
    if Domain is not None:
        domain = Domain(domain=spec["domain"], is_primary=True)
        missing = fill(Domain, domain, {"domain", "tenant", "is_primary"}, spec["label"])
        if missing:
            out["missing"][Domain._meta.label] = missing
            break
    # The schema is created empty: its migrations are the next step's, as in production
    # (auto_create_schema would run them right here).
    tenant.auto_create_schema = False
    tenant.save()
    if not schema_exists(spec["schema"]):
        with connection.cursor() as cursor:
            cursor.execute("CREATE SCHEMA %s" % connection.ops.quote_name(spec["schema"]))
    if domain is not None:
        domain.tenant = tenant
        domain.save()
    out["created"].append(spec["schema"])
tenantfix_emit({"event": "result", "data": out})
"""


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step: passed, failed (with the migration and the exact error), or skipped."""

    name: str
    status: str  # "ok" | "failed" | "skipped"
    command: str = ""
    seconds: float = 0.0
    migration: str | None = None
    schema: str | None = None
    error: str | None = None
    log: str = ""  # the tail of the output of a failed step
    where: str | None = None  # the project line the traceback points at

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def describe(self) -> str:
        if self.status != "failed":
            return self.name
        where = f" at {self.migration}" if self.migration else ""
        schema = f" (schema {self.schema})" if self.schema else ""
        return f"{self.name}{schema} failed{where}: {self.error or 'see the log'}"


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """Every step's result and where it ran."""

    project: Path
    database: str  # "a throwaway PostgreSQL 15.8" / "scratch database ... on postgresql://..."
    steps: tuple[StepResult, ...]
    ref: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return all(s.ok for s in self.steps)

    @property
    def failure(self) -> StepResult | None:
        return next((s for s in self.steps if s.status == "failed"), None)

    @property
    def summary(self) -> str:
        failed = self.failure
        if failed is not None:
            return f"{failed.describe()} on {self.database}"
        return f"{', '.join(s.name for s in self.steps)}: all passed on {self.database}"

    def lines(self, verbose: bool = False) -> list[str]:
        """The per-step report for a terminal (``verbose``: the failed step's output too)."""
        target = f" ({self.ref})" if self.ref else ""
        from tenantfix.report._common import display_path

        # relative to the current directory, as every path tenantfix prints
        shown = display_path(".", str(self.project))
        out = [f"Verified {shown}{target} on {self.database}:"]
        for step in self.steps:
            took = f" ({step.seconds:.1f} s)" if step.status != "skipped" else ""
            out.append(
                f"  {step.status.upper() if step.status == 'failed' else step.status:<8}{step.name}{took}"
            )
            if step.status == "failed":
                if step.schema:
                    out.append(f"          schema:    {step.schema}")
                if step.migration:
                    out.append(f"          migration: {step.migration}")
                out.append(f"          error:     {step.error or '(no exception line)'}")
                if step.where:
                    out.append(f"          at:        {step.where}")
                if verbose and step.log:
                    out += [f"          | {line}" for line in step.log.splitlines()]
                elif step.log:
                    out.append("          (the full output is shown with -v/--verbose)")
        out += [f"  note: {n}" for n in self.notes]
        out.append("Verification passed." if self.passed else "Verification FAILED.")
        return out

    def to_verification(self) -> Verification:
        """The PR-body form (``tenantfix.pr_body.Verification``)."""
        from tenantfix.pr_body import Verification

        details = "\n".join(self.lines())
        failed = self.failure
        if failed is not None and failed.log:
            details += "\n\n" + failed.log
        return Verification(passed=self.passed, summary=self.summary, details=details)


@contextlib.contextmanager
def scratch_database(
    database_url: str | None, progress: Progress | None = None
) -> Iterator[tuple[DatabaseParams, str]]:
    """A new empty database and a description of it; it is dropped afterwards (errors too)."""
    from tenantfix import pgserver
    from tenantfix.db.connect import connect

    say = progress or (lambda _msg: None)
    if database_url is None:
        say("starting a throwaway PostgreSQL server")
        with pgserver.ThrowawayPostgres() as server:
            db = server.create_database("tenantfix_verify")
            yield db, f"a throwaway PostgreSQL {_server_version(db)} ({server.bindir})"
        return
    server_params = DatabaseParams.from_url(database_url)
    with connect(server_params) as conn:
        can_create = conn.execute(
            "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    if not can_create or not can_create[0]:
        raise TenantfixError(
            f"role {server_params.role!r} may not create databases on {server_params.safe_url}; "
            "verify needs a scratch database there (GRANT CREATEDB, or use another role), or "
            "leave out --database-url to use a throwaway server.",
            ExitCode.REFUSED,
        )
    name = f"tenantfix_verify_{secrets.token_hex(6)}"
    say(f"creating scratch database {name}")
    pgserver.create_database(server_params, name)
    try:
        db = server_params.with_name(name)
        yield (
            db,
            f"scratch database {name} on {server_params.server} (PostgreSQL {_server_version(db)}, dropped afterwards)",
        )
    finally:
        say(f"dropping scratch database {name}")
        pgserver.drop_database(server_params, name)


def _server_version(db: DatabaseParams) -> str:
    from tenantfix.db.connect import connect

    with connect(db) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "?"


def _failed_step(name: str, run: DriverRun) -> StepResult:
    failure = run.failure
    log = "\n".join(
        part.strip()
        for part in (
            run.stdout[-3000:],
            run.stderr[-4000:],
            failure.traceback[-6000:] if failure else "",
        )
        if part.strip()
    )
    return StepResult(
        name=name,
        status="failed",
        command=run.command,
        seconds=run.seconds,
        migration=failure.migration if failure else None,
        schema=failure.schema if failure else None,
        error=failure.exception if failure else None,
        log=log,
        where=failure.where if failure else None,
    )


class SchemaProgress:
    """Per-schema progress from the driver's events ("public: 12/40 migrations").

    ``say`` gets a line when a schema starts and when it is done; ``detail`` (a display's
    transient status, throttled in plain logs) gets every migration.
    """

    def __init__(self, say: Progress, detail: Progress | None = None) -> None:
        self.say = say
        self.detail = detail
        self.total: dict[str, int] = {}
        self.done: dict[str, int] = {}

    def __call__(self, event: Event) -> None:
        schema = event.schema or "?"
        if event.kind == "plan":
            self.total[schema] = event.count or 0
            self.done[schema] = 0
            if event.count:
                self.say(f"{schema}: 0/{event.count} migrations")
            else:
                self.say(f"{schema}: no migrations to apply")
        elif event.kind in ("apply_start", "unapply_start") and self.detail is not None:
            verb = "applying" if event.kind == "apply_start" else "unapplying"
            self.detail(f"{self._count(schema)}, {verb} {event.migration}")
        elif event.kind in ("apply_success", "unapply_success"):
            self.done[schema] = self.done.get(schema, 0) + 1
            if self.detail is not None:
                self.detail(self._count(schema))
        elif event.kind == "schema_done" and self.total.get(schema):
            took = f" in {event.elapsed:.1f} s" if event.elapsed is not None else ""
            self.say(f"{self._count(schema)} done{took}")

    def _count(self, schema: str) -> str:
        total = self.total.get(schema)
        done = self.done.get(schema, 0)
        return f"{schema}: {done}/{total} migrations" if total else f"{schema}: {done} migrations"


def run_steps(
    runner: DjangoRunner, progress: Progress | None = None
) -> tuple[list[StepResult], list[str]]:
    """The three steps on the runner's database; stops at the first failure."""
    say = progress or (lambda _msg: None)
    # a display's transient per-migration status (cli/_progress.StepProgress.detail), if any
    detail: Progress | None = getattr(progress, "detail", None)
    steps: list[StepResult] = []
    notes: list[str] = []

    say(f"running {SHARED}")
    shared = runner.migrate(
        "migrate_schemas", "--shared", "--noinput", on_event=SchemaProgress(say, detail)
    )
    if not shared.ok:
        return [_failed_step(SHARED, shared)], notes
    steps.append(StepResult(SHARED, "ok", shared.command, shared.seconds))

    say(f"{TENANTS}")
    created = runner.drive_script(_CREATE_TENANTS, json.dumps(TENANT_SPECS))
    payload = created.result
    if not created.ok or payload is None:
        return [*steps, _failed_step(TENANTS, created)], notes
    missing = payload.get("missing")
    if isinstance(missing, dict) and missing:
        fields = "; ".join(f"{model}: {', '.join(names)}" for model, names in missing.items())
        return [
            *steps,
            StepResult(
                TENANTS,
                "failed",
                created.command,
                created.seconds,
                error=(
                    "required fields without a default that tenantfix cannot fill: "
                    f"{fields}. Give them a default or null=True, or verify with a database "
                    "URL where you create the tenants yourself."
                ),
            ),
        ], notes
    if payload.get("note"):
        notes.append(str(payload["note"]))
    steps.append(StepResult(TENANTS, "ok", created.command, created.seconds))

    say(f"running {ALL} (public and {len(TENANT_SPECS)} tenant schemas)")
    everything = runner.migrate(
        "migrate_schemas", "--noinput", on_event=SchemaProgress(say, detail)
    )
    if not everything.ok:
        return [*steps, _failed_step(ALL, everything)], notes
    steps.append(StepResult(ALL, "ok", everything.command, everything.seconds))
    return steps, notes


def _with_skipped(steps: list[StepResult]) -> tuple[StepResult, ...]:
    done = {s.name for s in steps}
    return tuple(steps) + tuple(StepResult(name, "skipped") for name in STEPS if name not in done)


def verify_tree(
    project_dir: Path,
    *,
    settings: str | None = None,
    python: str | None = None,
    database_url: str | None = None,
    progress: Progress | None = None,
    shown_as: Path | None = None,
    ref: str | None = None,
) -> VerifyReport:
    """Verify the project found at ``project_dir`` as it is on disk (a checkout or a copy)."""
    from tenantfix.discover import discover

    location = discover(project_dir, settings)
    # before a server starts: a manage.py tenantfix cannot run on its override is a usage error
    refuse_unsupported_manage_py(location.manage_py)
    with (
        scratch_database(database_url, progress) as (db, description),
        DjangoRunner(
            location.root, location.settings_module, db, python=python, all_aliases=True
        ) as runner,
    ):
        steps, notes = run_steps(runner, progress)
        if runner.manage_py is None:
            notes.append(
                f"no manage.py in {location.root}: Django was started through call_command, "
                "so nothing a manage.py would do first (a .env load, sys.path entries) happened"
            )
    return VerifyReport(
        project=shown_as or location.root,
        database=description,
        steps=_with_skipped(steps),
        ref=ref,
        notes=tuple(notes),
    )


@contextlib.contextmanager
def fixed_copy(project_dir: Path, changes: Mapping[str, bytes | None]) -> Iterator[Path]:
    """A real copy (not hard links: a settings module may append to a log file in the tree)
    of the project with ``changes`` written in; removed afterwards."""
    import shutil
    import tempfile

    from tenantfix.pipeline import skip_when_copying

    parent = Path(tempfile.mkdtemp(prefix="tenantfix-verify-"))
    try:
        target = parent / project_dir.name
        shutil.copytree(project_dir, target, ignore=skip_when_copying, symlinks=True)
        for rel, data in changes.items():
            path = target / rel
            path.unlink(missing_ok=True)
            if data is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        yield target
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def verify_changes(
    project_dir: Path,
    changes: Mapping[str, bytes | None],
    *,
    settings: str | None = None,
    python: str | None = None,
    database_url: str | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Verify ``project_dir`` with ``changes`` (paths relative to it) applied, in a copy:
    what ``apply --verify`` runs before committing."""
    with fixed_copy(project_dir, changes) as copy:
        return verify_tree(
            copy,
            settings=settings,
            python=python,
            database_url=database_url,
            progress=progress,
            shown_as=project_dir,
            ref="with the fix applied, before committing",
        )


def verify_project(
    path: Path,
    *,
    ref: str | None = None,
    settings: str | None = None,
    python: str | None = None,
    database_url: str | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """``tenantfix verify``: the working tree at ``path``, or ``ref`` in a temporary worktree."""
    if ref is None:
        return verify_tree(
            path, settings=settings, python=python, database_url=database_url, progress=progress
        )
    from tenantfix import vcs

    if database_url is not None:
        DatabaseParams.from_url(database_url)  # a usage error before any checkout
    repo = vcs.open_repo(path)
    root = vcs.repo_root(repo)
    try:
        repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}")
    except Exception:
        raise TenantfixError(
            f"--ref {ref!r} is not a commit, branch or tag of {root}", ExitCode.USAGE
        ) from None
    rel = path.resolve().relative_to(root.resolve())
    if progress:
        progress(f"checking out {ref} into a temporary worktree")
    with vcs.temporary_worktree(root, ref) as tree:
        return verify_tree(
            tree / rel,
            settings=settings,
            python=python,
            database_url=database_url,
            progress=progress,
            shown_as=path.resolve(),
            ref=ref,
        )
