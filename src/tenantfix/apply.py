"""`apply` as a library: preconditions, compute, then exactly one way of writing.

Three outcomes, and nothing half-done in between: a diff on stdout (``dry_run``), the files in
the working tree (``no_commit``, written all-or-nothing), or a commit on a new branch built
without touching the user's checkout.

Reruns are no-ops: "nothing to fix" is decided on the tree before any branch is looked at, and
an existing branch that already holds exactly this fix (same fingerprint trailer as the bot
writes, same tree, same base) is "up to date". Any other existing branch is refused, saying
whether it is tenantfix's own stale branch (``--force-branch`` rebuilds it) or someone's work.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tenantfix import interrupt
from tenantfix.discover import find_manage_py
from tenantfix.errors import ExitCode, TenantfixError
from tenantfix.pipeline import FixResult, Options, converge_fixes
from tenantfix.plan import REGENERATE
from tenantfix.vcs import Identity

if TYPE_CHECKING:
    from tenantfix.verify import VerifyReport

DEFAULT_BRANCH = "tenantfix/shared-user-app"


@dataclass(frozen=True, slots=True)
class ApplyRequest:
    path: Path
    options: Options
    branch: str = DEFAULT_BRANCH
    dry_run: bool = False
    no_commit: bool = False
    allow_dirty: bool = False
    force_branch: bool = False
    verify: bool = False  # run the migrations of the fixed tree on PostgreSQL before writing
    database_url: str | None = None  # verify on this server (scratch database) instead
    progress: Callable[[str], None] | None = None  # verify's progress lines


@dataclass(frozen=True, slots=True)
class ApplyOutcome:
    result: FixResult
    mode: str  # "dry-run" | "working-tree" | "branch" | "up-to-date" | "nothing"
    branch: str | None = None
    commit: str | None = None
    git_root: Path | None = None
    diff_prefix: str = ""  # project root relative to the git root, for diffs and commits
    verification: VerifyReport | None = None  # set when ``verify`` ran (and passed)
    replaced: str | None = None  # the old tip, when --force-branch rebuilt an existing branch


@dataclass(frozen=True, slots=True)
class _Source:
    """The project to analyse, and (when committing) the repository and commit it comes from."""

    project_dir: Path
    git_root: Path | None
    prefix: str  # project root relative to the git root
    base_sha: str | None = None  # the commit the fix branch starts from


@contextlib.contextmanager
def _source_tree(request: ApplyRequest) -> Iterator[_Source]:
    """The tree to analyse; when committing, the commit the branch will be built on.

    Committing needs the tree the commit is based on: the checkout itself when it is clean,
    or a temporary worktree of HEAD when ``--allow-dirty`` let a dirty one through (the
    uncommitted edits then stay out of the branch). Existing branches are not looked at here:
    whether the tree needs a fix at all is decided first.
    """
    from tenantfix import vcs

    manage_py = find_manage_py(request.path)
    project_dir = manage_py.parent
    if request.dry_run or request.no_commit:
        git_root = _git_root_or_none(project_dir)
        yield _Source(project_dir, git_root, _prefix(git_root, project_dir))
        return
    repo = vcs.open_repo(project_dir)
    git_root = vcs.repo_root(repo)
    if not vcs.has_commits(repo):
        raise TenantfixError(
            f"{git_root} has no commit yet; commit the project first (the fix branch starts from HEAD)",
            ExitCode.REFUSED,
        )
    vcs.check_branch_name(repo, request.branch)
    dirty = vcs.dirty_paths(repo)
    prefix = _prefix(git_root, project_dir)
    if dirty and not request.allow_dirty:
        listing = "\n".join(f"    {p}" for p in dirty[:10])
        raise TenantfixError(
            "the working tree has uncommitted changes:\n"
            f"{listing}\ncommit or stash them first, or pass --allow-dirty (the branch is then "
            "built from HEAD without them).",
            ExitCode.REFUSED,
        )
    base_sha: str = repo.head.commit.hexsha
    if dirty:
        with vcs.temporary_worktree(git_root, base_sha) as tree:
            yield _Source(tree / prefix if prefix else tree, git_root, prefix, base_sha)
    else:
        yield _Source(project_dir, git_root, prefix, base_sha)


def _git_root_or_none(path: Path) -> Path | None:
    import git

    from tenantfix import vcs

    try:
        repo = vcs.repo_at(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    return Path(repo.working_tree_dir) if repo.working_tree_dir else None


def _prefix(git_root: Path | None, project_dir: Path) -> str:
    if git_root is None:
        return ""
    rel = project_dir.resolve().relative_to(git_root.resolve()).as_posix()
    return "" if rel == "." else rel + "/"


def run_apply(request: ApplyRequest) -> ApplyOutcome:
    """Compute the fixes and write them the requested way (or raise, having written nothing)."""
    with _source_tree(request) as source:
        project_dir, git_root, prefix = source.project_dir, source.git_root, source.prefix
        result = converge_fixes(project_dir, request.options)
        interrupt.raise_if_received()  # a Ctrl-C something swallowed (libcst: TransformExit)
        _require_fixed(result)
        if not result.changes:
            return ApplyOutcome(result, "nothing", git_root=git_root, diff_prefix=prefix)
        if request.dry_run or request.no_commit:
            verification = _verify(project_dir, result, request) if request.verify else None
            if request.dry_run:
                return ApplyOutcome(
                    result,
                    "dry-run",
                    git_root=git_root,
                    diff_prefix=prefix,
                    verification=verification,
                )
            _write_working_tree(project_dir, result)
            return ApplyOutcome(
                result,
                "working-tree",
                git_root=git_root,
                diff_prefix=prefix,
                verification=verification,
            )
        return _commit_on_branch(request, result, source)


def _commit_on_branch(request: ApplyRequest, result: FixResult, source: _Source) -> ApplyOutcome:
    from tenantfix import vcs
    from tenantfix.bot import fingerprint, with_trailer

    git_root, prefix, base_sha = source.git_root, source.prefix, source.base_sha
    assert git_root is not None and base_sha is not None
    changes = {prefix + rel: data for rel, data in result.changes.items()}
    fp = fingerprint(result.fixed, base_sha)
    existing = _existing_branch(git_root, request.branch, base_sha, changes, fp)
    if existing is not None and existing.up_to_date:
        return ApplyOutcome(result, "up-to-date", request.branch, existing.tip, git_root, prefix)
    if existing is not None and not request.force_branch:
        raise TenantfixError(existing.refusal(request.branch), ExitCode.REFUSED)
    verification = _verify(source.project_dir, result, request) if request.verify else None
    interrupt.raise_if_received()
    old_tip = existing.tip if existing is not None else None
    verb = "rebuilt" if old_tip else "created"
    done = False
    try:
        # Ctrl-C waits for the few git commands that make the commit and move the ref, so
        # the branch is either untouched or complete, and the message can say which.
        with interrupt.deferred():
            sha = vcs.commit_changes(
                git_root,
                base=base_sha,
                branch=request.branch,
                changes=changes,
                message=with_trailer(result.commit_message(), fp),
                author=_author(git_root),
                force=request.force_branch,
            )
            interrupt.wrote(
                f"branch {request.branch!r} was {verb} at {sha[:12]}; your checkout is unchanged"
            )
            done = True
    except BaseException:
        # a git child killed by the same Ctrl-C: did the ref move before it died?
        now = _branch_tip(git_root, request.branch) if interrupt.received() else old_tip
        if done or now is None or now == old_tip:
            raise
        raise interrupt.Interrupted(
            f"branch {request.branch!r} was {verb} at {now[:12]} before it stopped; "
            "your checkout is unchanged"
        ) from None
    return ApplyOutcome(
        result,
        "branch",
        request.branch,
        sha,
        git_root,
        prefix,
        verification=verification,
        replaced=existing.tip if existing is not None else None,
    )


def _branch_tip(git_root: Path, branch: str) -> str | None:
    from tenantfix import vcs

    repo = vcs.repo_at(git_root)
    if not vcs.branch_exists(repo, branch):
        return None
    tip: str = repo.rev_parse(f"refs/heads/{branch}").hexsha
    return tip


def _write_working_tree(project_dir: Path, result: FixResult) -> None:
    """``--no-commit``: all files or none, even when Ctrl-C arrives during the renames."""
    with interrupt.deferred():
        write_all_or_nothing(project_dir, result)
        files = ", ".join(sorted(result.changes))
        interrupt.wrote(f"the fix was written to {len(result.changes)} file(s): {files}")


@dataclass(frozen=True, slots=True)
class _ExistingBranch:
    """What an existing fix branch holds, compared with the fix this run would commit."""

    tip: str
    up_to_date: bool
    own: bool  # only tenantfix commits on it (beyond the base): a stale branch of ours
    foreign: tuple[str, ...]  # commits on it not made by tenantfix

    def refusal(self, branch: str) -> str:
        if self.own:
            return (
                f"branch {branch!r} already exists: it is tenantfix's own branch from an earlier "
                f"run (only tenantfix commits, tip {self.tip[:12]}), and it holds a different "
                "fix from the one HEAD needs now (the base moved or the findings changed). "
                "Rerun with --force-branch to rebuild it from HEAD, or delete it "
                f"(`git branch -D {branch}`)."
            )
        if self.foreign:
            listing = ", ".join(sha[:12] for sha in self.foreign[:5])
            what = f"has commits not made by tenantfix ({listing})"
        else:
            what = f"is not a tenantfix branch (its tip {self.tip[:12]} is not a tenantfix commit)"
        return (
            f"branch {branch!r} already exists and {what}. Review or delete it "
            f"(`git branch -D {branch}`), choose another name with --branch, or pass "
            "--force-branch to replace it."
        )


def _existing_branch(
    git_root: Path,
    branch: str,
    base_sha: str,
    changes: dict[str, bytes | None],
    fp: str,
) -> _ExistingBranch | None:
    from tenantfix import vcs
    from tenantfix.bot import branch_commits

    repo = vcs.repo_at(git_root)
    if not vcs.branch_exists(repo, branch):
        return None
    tip: str = repo.rev_parse(f"refs/heads/{branch}").hexsha
    own = branch_commits(git_root, tip, [base_sha])
    foreign = tuple(c.sha for c in own if not c.is_bot)
    tip_info = branch_commits(git_root, tip, [f"{tip}^@"])  # the tip alone
    tip_is_bot = bool(tip_info) and tip_info[0].is_bot
    parents = [p.hexsha for p in repo.commit(tip).parents]
    up_to_date = (
        tip_is_bot
        and not foreign
        and parents == [base_sha]
        and tip_info[0].fingerprint == fp
        # the fingerprint names the findings and the base; the tree shows the fix itself
        # is the same too (options such as --keep-in-tenant-apps change it)
        and vcs.holds_exactly(git_root, base_sha, tip, changes)
    )
    return _ExistingBranch(tip, up_to_date, tip_is_bot and not foreign, foreign)


def _verify(project_dir: Path, result: FixResult, request: ApplyRequest) -> VerifyReport:
    """``--verify``: migrate a copy of the fixed tree on PostgreSQL; raise (exit 4) on failure."""
    from tenantfix.verify import verify_changes

    report = verify_changes(
        project_dir,
        result.changes,
        settings=result.analysis.project.settings_module,
        python=request.options.python,
        database_url=request.database_url,
        progress=request.progress,
    )
    if not report.passed:
        lines = "\n".join(report.lines())
        raise TenantfixError(
            f"verification of the fixed tree failed, so nothing was written or committed:\n{lines}",
            ExitCode.VERIFY_FAILED,
        )
    return report


def _require_fixed(result: FixResult) -> None:
    """The cheap static re-check: a fix that leaves its own finding behind is not committed."""
    # by finding, not message: one that now holds in fewer configurations is still there
    fixed = {(d.code, d.finding) for d in result.fixed}
    # regenerated migrations get new names: any cycle left after regenerating is the fix's own
    regenerated = {d.code for d in result.fixed if any(f.name == REGENERATE for f in d.fixes)}
    still = [
        d for d in result.remaining_after if (d.code, d.finding) in fixed or d.code in regenerated
    ]
    if still:
        lines = "\n".join(f"    {d.code} {d.location}: {d.message}" for d in still)
        raise TenantfixError(
            f"after rewriting, these findings are still there, so nothing was written:\n{lines}",
            ExitCode.VERIFY_FAILED,
        )


def _author(git_root: Path) -> Identity | None:
    """The repository's configured user as author (the committer is always tenantfix[bot])."""
    from tenantfix import vcs

    reader = vcs.repo_at(git_root).config_reader()
    try:
        return Identity(
            str(reader.get_value("user", "name")), str(reader.get_value("user", "email"))
        )
    except Exception:  # no user configured: the bot is the author too
        return None


def write_all_or_nothing(project_dir: Path, result: FixResult) -> None:
    """Write every change or none: stage each file next to its target, then rename them all.

    If a rename fails midway, the files already replaced are restored from ``originals``.
    """
    staged: list[tuple[Path, Path | None]] = []
    try:
        for rel, data in sorted(result.changes.items()):
            target = project_dir / rel
            if data is None:
                staged.append((target, None))
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".tenantfix", dir=target.parent
            )
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            if target.exists():
                os.chmod(tmp, target.stat().st_mode & 0o7777)
            else:
                os.chmod(tmp, 0o644)
            staged.append((target, Path(tmp)))
    except OSError as exc:
        for _, tmp_path in staged:
            if tmp_path is not None:
                tmp_path.unlink(missing_ok=True)
        raise TenantfixError(
            f"cannot write {exc.filename}: {exc.strerror}; nothing was changed", ExitCode.REFUSED
        ) from None
    done: list[Path] = []
    try:
        for target, tmp_path in staged:
            if tmp_path is None:
                target.unlink(missing_ok=True)
            else:
                os.replace(tmp_path, target)
            done.append(target)
    except OSError as exc:
        for target in done:
            rel = target.relative_to(project_dir).as_posix()
            original = result.originals.get(rel)
            if original is None:
                target.unlink(missing_ok=True)
            else:
                target.write_bytes(original)
        for _, tmp_path in staged:
            if tmp_path is not None:
                tmp_path.unlink(missing_ok=True)
        raise TenantfixError(
            f"cannot write {exc.filename}: {exc.strerror}; changes were rolled back",
            ExitCode.REFUSED,
        ) from None
