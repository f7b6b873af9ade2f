"""The only place that orders the stages: discover, resolve, build, check, plan, rewrite, generate.

``analyse`` is what ``check`` runs; ``compute_fixes`` adds the rewrite and migration stages and
returns the new file contents without writing anything into the user's tree; ``converge_fixes``
(what ``apply`` runs) repeats those passes while a fix makes a new fixable finding appear.
Writing (a branch or the working tree) is the caller's choice.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from tenantfix.discover import ProjectLocation, discover
from tenantfix.errors import ExitCode, SettingsError, TenantfixError
from tenantfix.graph.locate import checkout_venv
from tenantfix.graph.model import ProjectGraph
from tenantfix.plan import REGENERATE, Diagnostic, Fix
from tenantfix.settings import Resolution

if TYPE_CHECKING:
    from tenantfix.graph.cache import ExtractCache
    from tenantfix.makemigrations import Generation

_COPY_SKIP_DIRS = {
    ".git",
    ".hg",
    "node_modules",
    "__pycache__",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
}
_COPY_MAX_BYTES = 2_000_000


@dataclass(frozen=True, slots=True)
class Options:
    """What the commands pass down (already merged: defaults < pyproject < flags)."""

    settings: str | None = None
    python: str | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    unsafe_fixes: bool = False
    keep_in_tenant_apps: bool = False
    keep_apps: tuple[str, ...] = ()  # keep only these apps in TENANT_APPS when moving
    probe: bool = False  # ask the project's interpreter for the exact app registry and plan
    cache: bool = True  # keep extractions in the user's cache directory (--no-cache: off)


@dataclass(frozen=True, slots=True)
class Analysis:
    """The result of ``check``: where the project is, its graph and the findings.

    ``graph`` is the first configuration's view (for callers that need one: makemigrations'
    scope); ``resolutions`` hold every configuration of every settings module checked.
    """

    project: ProjectLocation
    graph: ProjectGraph
    diagnostics: tuple[Diagnostic, ...]
    suppressed: tuple[Diagnostic, ...] = ()
    resolutions: tuple[Resolution, ...] = ()
    notes: tuple[str, ...] = ()  # what tenantfix could not read, and the way out


@dataclass(frozen=True, slots=True)
class FixResult:
    """New file contents (paths relative to the project root) and what they fix."""

    analysis: Analysis
    changes: dict[str, bytes | None]
    originals: dict[str, bytes | None]
    fixed: tuple[Diagnostic, ...]
    unfixed: tuple[Diagnostic, ...]
    remaining_after: tuple[Diagnostic, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = ()
    # ``fixed`` split by pass of ``converge_fixes`` (empty: a single ``compute_fixes`` pass)
    rounds: tuple[tuple[Diagnostic, ...], ...] = ()

    @property
    def project_root(self) -> Path:
        return self.analysis.project.root

    def commit_message(self) -> str:
        return commit_message(self)


def analyse(
    path: Path,
    options: Options,
    *,
    cache: ExtractCache | None = None,
    origin: Path | None = None,
) -> Analysis:
    """``check``; ``cache`` shares parsed files between the analyses of one run.

    ``origin``: the project root a scratch copy at ``path`` was made from. A scratch copy is
    not in the user's repository, so git's ignore rules are read at ``origin``."""
    from tenantfix.graph.build import build_graph
    from tenantfix.graph.cache import ExtractCache
    from tenantfix.graph.read_urls import read_urlconfs
    from tenantfix.multiconfig import judge, restrict, union_settings, urlconf_modules
    from tenantfix.settings import resolve_configurations
    from tenantfix.suppress import split_suppressed

    project = discover(path, options.settings)
    resolutions = [resolve_configurations(project)]
    skipped: list[str] = []
    if options.settings is None:
        # Check every settings module a deployment can start with, not only manage.py's.
        from tenantfix.discover import deployment_settings_modules, module_file

        for module in deployment_settings_modules(project):
            settings_path = module_file(project.root, module)
            assert settings_path is not None
            other = replace(project, settings_module=module, settings_path=settings_path)
            try:
                resolutions.append(resolve_configurations(other))
            except SettingsError as exc:
                # wsgi.py's module is checked on top of manage.py's: when it cannot be read
                # (or cannot start at all) that is said, and the rest is still checked.
                skipped.append(f"{module} (from wsgi.py/asgi.py) was not checked: {exc.message}")
    probed = None
    if options.probe:
        from tenantfix.graph.probe import probe

        probed = probe(
            project.root, project.settings_module, python=options.python, failures=skipped
        )
        from tenantfix.multiconfig import decide_with_probe

        # This environment's variables decide what they can without running anything; what
        # is still unknown is filled from the values Django loaded (when it could load them).
        here = resolve_configurations(project, os.environ)
        loaded = probed.settings if probed is not None else None
        resolutions[0] = decide_with_probe(resolutions[0], here, loaded)
    # Models and migrations are read once, for every app any configuration installs.
    if cache is None:
        cache = ExtractCache(persist=options.cache)
    cache.attach(project.root)
    graph = build_graph(
        project.root, union_settings(resolutions), python=options.python, probe=probed, cache=cache
    )
    cache.save()
    graph = replace(graph, urlconfs=read_urlconfs(project.root, urlconf_modules(resolutions)))
    graph, ignored_note = _with_ignored_migrations(graph, origin or project.root)
    verdicts = judge(graph, resolutions, options.select, options.ignore)
    kept, suppressed = split_suppressed(list(verdicts.diagnostics), project.root)
    notes = [note.text() for note in verdicts.notes]
    notes += [
        f"{module} does not use django-tenants (no SHARED_APPS, TENANT_APPS or TENANT_TYPES, and "
        "neither django_tenants nor tenant_schemas installed): nothing to check there; if "
        "another module holds your settings, pass --settings MODULE"
        for module in verdicts.not_tenant
    ]
    notes += skipped
    if ignored_note:
        notes.append(ignored_note)
    for resolution in resolutions:
        if resolution.collapsed:
            notes.append(
                f"{resolution.module}: more than 64 configurations; settings that differ between "
                "them were treated as unknown"
            )
    primary = restrict(graph, resolutions[0].configurations[0].settings)
    return Analysis(
        project, primary, tuple(kept), tuple(suppressed), tuple(resolutions), tuple(notes)
    )


def _with_ignored_migrations(graph: ProjectGraph, root: Path) -> tuple[ProjectGraph, str | None]:
    """Mark the apps whose (absent) migrations git ignores; only apps with models and no
    migration in the checkout are asked about, so a usual project never starts git here."""
    from tenantfix.graph.ignored import ignored_migrations

    candidates = [a for a in graph.apps if a.local and not a.migrations and a.concrete_models]
    ignored = ignored_migrations(root, candidates) if candidates else {}
    if not ignored:
        return graph, None
    apps = tuple(
        replace(a, migrations_ignored=ignored[a.label]) if a.label in ignored else a
        for a in graph.apps
    )
    labels = ", ".join(repr(label) for label in ignored)
    reasons = "; ".join(sorted(set(ignored.values())))
    note = (
        f"git ignores the migration files of {labels} ({reasons}): this project makes them "
        "outside the checkout (makemigrations where it is deployed), so TF005 did not judge "
        "these apps; commit their migrations (`git add --force`) to have them checked"
    )
    return replace(graph, apps=apps), note


def selected_fixes(diagnostic: Diagnostic, options: Options) -> tuple[Fix, ...]:
    fixes = []
    for fix in diagnostic.fixes:
        if fix.safety == "unsafe" and not options.unsafe_fixes:
            continue
        if fix.name == "remove_app_from_list" and (
            options.keep_in_tenant_apps or fix.arg("app") in options.keep_apps
        ):
            continue
        fixes.append(fix)
    return tuple(fixes)


def compute_fixes(
    path: Path,
    options: Options,
    *,
    cache: ExtractCache | None = None,
    origin: Path | None = None,
) -> FixResult:
    """Everything ``apply`` would change, computed in memory and in a scratch copy."""
    from tenantfix.graph.cache import ExtractCache
    from tenantfix.rewrite import rewrite_file

    # one parse per file content: the re-check reads again only what a fix changed
    cache = cache if cache is not None else ExtractCache(persist=options.cache)
    analysis = analyse(path, options, cache=cache, origin=origin)
    refuse_if_django_cannot_start(analysis)
    root = analysis.project.root
    fixed: list[Diagnostic] = []
    unfixed: list[Diagnostic] = []
    by_file: dict[str, list[Fix]] = defaultdict(list)
    labels: list[str] = []
    removals: list[str] = []  # migration files a regenerate fix deletes before makemigrations
    for diagnostic in analysis.diagnostics:
        fixes = selected_fixes(diagnostic, options)
        (fixed if fixes else unfixed).append(diagnostic)
        for fix in fixes:
            if fix.kind == "makemigrations":
                label = fix.arg("app_label")
                if label not in labels:
                    labels.append(label)
                if fix.name == REGENERATE:
                    removals += [r for r in fix.arg("remove").splitlines() if r not in removals]
            elif fix.path is not None and fix not in by_file[fix.path]:
                by_file[fix.path].append(fix)

    originals: dict[str, bytes | None] = {}
    changes: dict[str, bytes | None] = {}
    warnings: list[str] = []
    for rel, file_fixes in sorted(by_file.items()):
        rewritten = rewrite_file(root, rel, file_fixes)
        warnings.extend(rewritten.warnings)
        if rewritten.changed:
            originals[rel] = rewritten.original.encode("utf-8")
            changes[rel] = rewritten.new.encode("utf-8")

    remaining: tuple[Diagnostic, ...] = ()
    if labels or changes:
        # makemigrations reads the project in place (it writes nothing, and generating
        # migrations does not depend on which list an app is in) while the scratch copy for
        # the re-check is made: the two overlap.
        for rel in removals:
            originals[rel] = (root / rel).read_bytes()
            changes[rel] = None
        if labels:
            from tenantfix.progress import report

            # here, not in the worker: the display lives in this thread's context
            report(f"running makemigrations {' '.join(labels)} (the project's Django)")
        # Django must start with the fixed settings when a fix is what lets it start (the
        # router, the ENGINE) or installs the app to generate (INSTALLED_APPS): makemigrations
        # then runs on a copy with those edits, as it does without the files a regenerate fix
        # removes. List moves between SHARED_APPS and TENANT_APPS change nothing it generates.
        startup = {
            rel: changes[rel]
            for rel, file_fixes in by_file.items()
            if rel in changes and any(f.name in _STARTUP_FIXES for f in file_fixes)
        }
        overrides = {**dict.fromkeys(removals), **startup}
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = (
                pool.submit(_generate, analysis, labels, options, overrides) if labels else None
            )
            copy = scratch_copy(root, changes, shallow=True, real_dirs=_settings_dirs(analysis))
            with copy as scratch:
                generation = pending.result() if pending is not None else None
                generated = generation.files if generation is not None else {}
                if generation is not None:
                    warnings.extend(generation.notes)
                for rel, data in generated.items():
                    if rel in removals:  # regenerated under the same name
                        changes[rel] = data
                        copy.write(rel, data)
                    elif not (root / rel).exists():
                        originals[rel] = None
                        changes[rel] = data
                        copy.write(rel, data)
                # The cheap static re-check: the fixed codes must be gone from the result.
                remaining = analyse(
                    scratch, options, cache=cache.scratch(), origin=origin or root
                ).diagnostics
    return FixResult(
        analysis=analysis,
        changes=changes,
        originals=originals,
        fixed=tuple(fixed),
        unfixed=tuple(unfixed),
        remaining_after=remaining,
        warnings=tuple(warnings),
    )


MAX_FIX_PASSES = 5


def converge_fixes(path: Path, options: Options) -> FixResult:
    """``compute_fixes``, then again on the fixed tree while it has new fixable findings.

    A fix can make a finding appear: sharing a user app built on ``AbstractUser`` makes
    ``auth`` a dependency of a shared app (TF003), and the result would fail at the user app's
    first migration with ``relation "auth_group" does not exist``. Like ruff's fix loop, each
    pass re-checks the tree with every earlier pass's changes applied (a scratch copy) and fixes
    what is newly fixable, for at most ``MAX_FIX_PASSES`` passes. Nothing is written.
    """
    from tenantfix.graph.cache import ExtractCache

    cache = ExtractCache(persist=options.cache)
    first = compute_fixes(path, options, cache=cache)
    result = first
    changes = dict(first.changes)
    originals = dict(first.originals)
    rounds = [first.fixed]
    unfixed = list(first.unfixed)
    warnings = list(first.warnings)
    seen = {_finding_key(d) for d in (*first.fixed, *first.unfixed)}
    for _ in range(MAX_FIX_PASSES - 1):
        if not _newly_fixable(result.remaining_after, seen, options):
            break
        with scratch_copy(first.project_root, changes) as scratch:
            result = compute_fixes(
                scratch, options, cache=cache.scratch(), origin=first.project_root
            )
        for rel, data in result.changes.items():
            originals.setdefault(rel, result.originals.get(rel))
            changes[rel] = data
            if changes[rel] == originals[rel]:  # a later pass undid an earlier one
                del changes[rel], originals[rel]
        rounds.append(result.fixed)
        unfixed += [d for d in result.unfixed if _finding_key(d) not in seen]
        warnings += [w for w in result.warnings if w not in warnings]
        seen |= {_finding_key(d) for d in (*result.fixed, *result.unfixed)}
    else:
        still = _newly_fixable(result.remaining_after, seen, options)
        if still:
            codes = ", ".join(sorted({d.code for d in still}))
            warnings.append(
                f"the fixes did not converge after {MAX_FIX_PASSES} passes; still fixable: {codes}"
            )
    if len(rounds) == 1:
        return replace(first, warnings=tuple(warnings))
    return FixResult(
        analysis=first.analysis,
        changes=changes,
        originals=originals,
        fixed=tuple(d for fixed in rounds for d in fixed),
        unfixed=tuple(unfixed),
        remaining_after=result.remaining_after,
        warnings=tuple(warnings),
        rounds=tuple(rounds),
    )


def _settings_dirs(analysis: Analysis) -> set[str]:
    """The folders of every settings file the analysis read (relative to the root)."""
    return {
        PurePosixPath(f).parent.as_posix()
        for resolution in analysis.resolutions
        for f in resolution.files
        if not PurePosixPath(f).is_absolute()
    }


def _finding_key(d: Diagnostic) -> tuple[str, str, str]:
    # lines move when a pass edits a file above the finding; code, file and message do not
    return (d.code, d.location.path, d.finding)


def _newly_fixable(
    found: Sequence[Diagnostic], seen: set[tuple[str, str, str]], options: Options
) -> list[Diagnostic]:
    return [d for d in found if _finding_key(d) not in seen and selected_fixes(d, options)]


def refuse_if_django_cannot_start(analysis: Analysis) -> None:
    """TF014 (an invalid django-tenants configuration): no fix can be generated or checked.

    makemigrations and --verify would only relay Django's start-up error, and fixing the list
    placement of a project that cannot start proves nothing: refuse (exit 3), nothing changed.
    """
    from tenantfix.checks.tf014_tenant_settings_invalid import startup_errors

    errors = startup_errors(analysis.diagnostics)
    if errors:
        listing = "\n".join(f"  {d.code} {d.location}: {d.message}" for d in errors)
        raise TenantfixError(
            "the django-tenants configuration is invalid, so Django cannot start on this "
            f"project:\n{listing}\nNothing was changed: fix these settings by hand (`tenantfix "
            "check` explains each), then run apply again.",
            ExitCode.REFUSED,
        )


# fixes without which the project's Django cannot start, or cannot see the app to generate
_STARTUP_FIXES = frozenset(
    {"set_database_routers", "set_tenant_db_engine", "derive_installed_apps"}
)


def _generate(
    analysis: Analysis,
    labels: list[str],
    options: Options,
    overrides: Mapping[str, bytes | None] | None = None,
) -> Generation:
    from tenantfix.makemigrations import generate_migrations
    from tenantfix.migration_scope import installed_for

    def run(project_dir: Path) -> Generation:
        return generate_migrations(
            project_dir,
            settings_module=analysis.project.settings_module,
            app_labels=labels,
            python=options.python,
            installed=installed_for(analysis.graph, labels),
        )

    if not overrides:
        return run(analysis.project.root)
    # Django's loader refuses the cyclic files a regenerate fix removes, and some settings
    # fixes are what lets Django start: makemigrations runs on a copy with ``overrides``
    # written in (same relative paths, so the result maps back onto the project).
    with scratch_copy(analysis.project.root, dict(overrides)) as scratch:
        return run(scratch)


def _replace_file(dest: Path, data: bytes) -> None:
    # The scratch tree may hard-link the user's files: never write through an existing path.
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    dest.write_bytes(data)


def _link_or_copy(src: str, dst: str) -> None:
    """Hard links make the scratch tree nearly free; another filesystem gets a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


class scratch_copy:
    """A throwaway copy of the project's source with ``changes`` written into it.

    Files are hard links where possible, so every write goes through :meth:`write` (or
    :func:`_replace_file`), which unlinks first.

    ``shallow=True`` (the static re-check, which only reads) copies only the directories
    that hold a changed file or one of ``real_dirs`` (the settings modules' folders, whose
    paths are resolved); every other folder is a symlink to the project's. Removing a copy
    of every folder cost more than the re-check itself (4 s for the 1,000 folders of a
    500-app project on a file system mounted with ``discard``). Never for code that runs
    the project (it would write ``__pycache__`` through the links).
    """

    def __init__(
        self,
        root: Path,
        changes: dict[str, bytes | None],
        *,
        shallow: bool = False,
        real_dirs: Iterable[str] = (),
    ) -> None:
        self.root = root
        self.changes = changes
        self.shallow = shallow
        self.real_dirs = set(real_dirs)
        self.tmp: str | None = None
        self.target: Path | None = None

    def __enter__(self) -> Path:
        self.tmp = tempfile.mkdtemp(prefix="tenantfix-scratch-")
        try:
            return self._fill()
        except BaseException:  # Ctrl-C or a failure half-way through the copy: __exit__ won't run
            self.__exit__()
            raise

    def _fill(self) -> Path:
        assert self.tmp is not None
        target = self.target = Path(self.tmp) / self.root.name
        if self.shallow:
            os.mkdir(target)
            self._populate(self.root, target)
            for rel in sorted(self.real_dirs):
                self._materialise(PurePosixPath(rel).parts)
        else:
            shutil.copytree(
                self.root,
                target,
                ignore=skip_when_copying,
                symlinks=True,
                copy_function=_link_or_copy,
            )
        for rel, data in self.changes.items():
            self.write(rel, data)
        # virtualenvs are not copied: link the one the first analysis read, so that the
        # re-check finds the same installed packages
        venv = checkout_venv(self.root)
        if venv is not None and not any((target / n).exists() for n in (".venv", "venv")):
            (target / venv.name).symlink_to(venv, target_is_directory=True)
        return target

    def write(self, rel: str, data: bytes | None) -> None:
        """Write (``None``: delete) ``rel`` in the copy, never through a link to the project."""
        assert self.target is not None
        if self.shallow:
            self._materialise(PurePosixPath(rel).parts[:-1])
        if data is None:
            (self.target / rel).unlink(missing_ok=True)
        else:
            _replace_file(self.target / rel, data)

    def _populate(self, source: Path, dest: Path) -> None:
        # one level: folders become symlinks (made real on demand), files hard links
        names = os.listdir(source)
        skipped = skip_when_copying(str(source), names)
        for name in names:
            if name in skipped:
                continue
            src, dst = source / name, dest / name
            if src.is_symlink():
                os.symlink(os.readlink(src), dst)
            elif src.is_dir():
                os.symlink(src, dst, target_is_directory=True)
            else:
                _link_or_copy(str(src), str(dst))

    def _materialise(self, parts: Sequence[str]) -> None:
        """Turn the linked folders along ``parts`` into real ones (their content linked)."""
        assert self.target is not None
        source, dest = self.root, self.target
        for part in parts:
            if part in ("", ".", ".."):
                return
            source, dest = source / part, dest / part
            if dest.is_symlink() and Path(os.readlink(dest)) == source:
                dest.unlink()
                os.mkdir(dest)
                self._populate(source, dest)
            elif not dest.exists():
                return  # a new folder: _replace_file makes it

    def __exit__(self, *exc: object) -> None:
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


def skip_when_copying(directory: str, names: list[str]) -> set[str]:
    """``copytree`` ignore: VCS/cache folders, virtualenvs and files over 2 MB (never source)."""
    skipped: set[str] = set()
    base = Path(directory)
    for name in names:
        path = base / name
        if (
            name in _COPY_SKIP_DIRS
            or (path.is_dir() and (path / "pyvenv.cfg").exists())
            or (path.is_file() and not path.is_symlink() and path.stat().st_size > _COPY_MAX_BYTES)
        ):
            skipped.add(name)
    return skipped


def commit_message(result: FixResult) -> str:
    codes = sorted({d.code for d in result.fixed})
    title = "tenantfix: " + _title(codes)
    lines = [title]
    for number, fixed in enumerate(result.rounds or (result.fixed,), start=1):
        if number == 1:
            lines += ["", "Fixes found by `tenantfix check`:", ""]
        else:
            lines += ["", f"Then found on the tree with those fixes (pass {number}):", ""]
        for d in fixed:
            lines.append(f"- {d.code} {d.location}: {d.message}")
            if d.prediction is not None:
                lines.append(f"  Prevents: {d.prediction.sentence()}.")
            lines.append(f"  Why: {d.why}")
            lines.append(f"  Fix: {d.fix_summary}")
    lines += ["", "Changed files:", ""]
    lines += [
        f"- {path}{'' if result.originals.get(path) is not None else ' (new)'}"
        for path in sorted(result.changes)
    ]
    if any(d.code == "TF001" for d in result.fixed):
        lines += [
            "",
            "A database that already ran the failing `migrate_schemas --shared` keeps a phantom",
            "record of the user app's migration: run `tenantfix repair-db` there before migrating.",
        ]
    if any(d.code == "TF011" for d in result.fixed):
        lines += [
            "",
            "The user app left TENANT_APPS: a database whose tenants already have users keeps them",
            "in each tenant schema. Move them into public with `tenantfix move-users` (plan,",
            "--verify, --execute) before deploying (README: Moving users from per-tenant to global).",
        ]
    return "\n".join(lines) + "\n"


def _title(codes: Sequence[str]) -> str:
    if "TF001" in codes:
        return "move the user app into SHARED_APPS"
    if "TF002" in codes:
        return "move the tenant app into SHARED_APPS"
    if "TF011" in codes:
        return "make the user app SHARED-only (users shared by every tenant)"
    if codes == ["TF005"]:
        return "add missing initial migrations"
    return "fix " + ", ".join(codes)
