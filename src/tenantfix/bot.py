"""Publish a fix the way Renovate and Dependabot do: one branch, one pull request, kept current.

No state is kept anywhere but the repository and the pull request. A fingerprint of the
findings, the base commit and the tool version is written into the commit (a trailer) and the
PR body (a hidden comment); a rerun compares fingerprints and:

- pushes nothing and edits nothing when they match ("up to date");
- rebuilds the branch from the current base and force-pushes it (with a lease) when the base
  moved or the findings changed, then updates the same pull request;
- closes an open pull request with a comment when the base no longer needs a fix;
- stops, without touching anything, when someone else pushed commits to the branch
  (``force`` overrides).

Git runs through :mod:`tenantfix.vcs` only (GitPython, no hooks). The token never reaches
argv, ``.git/config`` or any message: :class:`tenantfix.vcs.Remote` gives it to the ls-remote,
fetch and push processes as ``GIT_CONFIG_*`` environment variables, and scrubs their errors.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from tenantfix import __version__, interrupt
from tenantfix.errors import ExitCode, TenantfixError
from tenantfix.forge import (
    Forge,
    ForgeError,
    ForgeOptions,
    Provider,
    PullRequest,
    PullRequestExists,
    forge_for_remote,
    read_token,
    scrub,
)
from tenantfix.forge.remote_url import parse_remote_url, redact_url
from tenantfix.plan import Diagnostic
from tenantfix.pr_body import Verification, fingerprint_from_body, render
from tenantfix.vcs import BOT, BOT_EMAIL, Identity, Remote, RemoteError

if TYPE_CHECKING:
    import git

    from tenantfix.pipeline import Options

TRAILER = "Tenantfix-Fingerprint"
_TRAILER_RE = re.compile(rf"^{TRAILER}:\s*([0-9a-f]+)\s*$", re.MULTILINE)
_PRIVATE_REF = "refs/tenantfix/remote"

Action = Literal[
    "created", "updated", "up-to-date", "pushed", "closed", "nothing-to-do", "declined"
]


class FixOutcome(Protocol):
    """What :func:`publish` needs from ``tenantfix.pipeline.FixResult``."""

    @property
    def fixed(self) -> tuple[Diagnostic, ...]: ...

    @property
    def unfixed(self) -> tuple[Diagnostic, ...]: ...

    @property
    def changes(self) -> dict[str, bytes | None]: ...

    @property
    def originals(self) -> dict[str, bytes | None]: ...

    def commit_message(self) -> str: ...


@dataclass(frozen=True, slots=True)
class PublishTarget:
    """Where the fix goes: the bot branch, the remote and base, and the pull request options."""

    branch: str
    remote: str = "origin"
    base: str | None = None
    open_pr: bool = False
    provider: Provider | None = None
    api_url: str | None = None
    repository: str | None = None
    labels: tuple[str, ...] = ("tenantfix",)
    draft: bool = False
    reviewers: tuple[str, ...] = ()
    force: bool = False


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What happened; ``messages`` are the lines to show the user, already scrubbed."""

    action: Action
    branch: str
    base: str
    base_sha: str
    fingerprint: str | None
    commit: str | None = None
    pushed: bool = False
    pull_request: PullRequest | None = None
    messages: tuple[str, ...] = field(default_factory=tuple)


def fingerprint(findings: Sequence[Diagnostic], base_sha: str, version: str = __version__) -> str:
    """A short stable hash of what the fix is for and what it was built on."""
    data = {
        "version": version,
        "base": base_sha,
        "findings": sorted([d.code, d.location.path, d.location.line] for d in findings),
    }
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    return digest[:16]


def with_trailer(message: str, fp: str) -> str:
    return message.rstrip("\n") + f"\n\n{TRAILER}: {fp}\n"


def fingerprint_from_message(message: str) -> str | None:
    found = _TRAILER_RE.findall(message)
    return found[-1] if found else None


# ---------------------------------------------------------------------------- git plumbing
def _remote_error(repo: git.Repo, message: str, branch: str) -> TenantfixError:
    """Exit 5, saying what is true of the local branch at this moment (it may not exist)."""
    return TenantfixError(message + _local_branch_note(repo, branch), ExitCode.REMOTE)


def _local_branch_note(repo: git.Repo, branch: str) -> str:
    from tenantfix import vcs

    local = vcs.ref_sha(repo, f"refs/heads/{branch}")
    if local is None:
        return f" No local branch {branch!r} exists; nothing was written."
    return f" The local branch {branch!r} is at {local[:12]}."


@dataclass(frozen=True, slots=True)
class CommitInfo:
    sha: str
    committer_email: str
    fingerprint: str | None

    @property
    def is_bot(self) -> bool:
        return self.committer_email == BOT_EMAIL and self.fingerprint is not None


def branch_commits(repo_root: Path, tip: str, exclude: Sequence[str]) -> list[CommitInfo]:
    """Commits reachable from ``tip`` and from none of ``exclude``, newest first."""
    from tenantfix import vcs

    return _commits(vcs.repo_at(repo_root), tip, exclude)


def _commits(repo: git.Repo, tip: str, exclude: Sequence[str]) -> list[CommitInfo]:
    raw: str = repo.git.log("--format=%H%x00%ce%x00%B%x1e", tip, *(f"^{e}" for e in exclude))
    commits = []
    for record in raw.split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        sha, email, body = record.split("\x00", 2)
        commits.append(CommitInfo(sha, email, fingerprint_from_message(body)))
    return commits


# ---------------------------------------------------------------------------- publish
def publish(
    repo_root: Path,
    target: PublishTarget,
    *,
    compute: Callable[[Path], FixOutcome],
    project_prefix: str = "",
    author: Identity | None = None,
    verify: Callable[[Path, FixOutcome], Verification] | None = None,
    forge: Forge | None = None,
    forge_options: ForgeOptions | None = None,
    echo: Callable[[str], None] | None = None,
) -> PublishResult:
    """Push the fix branch for the remote's base branch and open or update its pull request.

    ``compute(project_dir)`` runs the pipeline on a temporary checkout of the remote base
    (``project_dir`` = checkout / ``project_prefix``) and returns its FixResult; its
    ``changes`` are relative to the project directory. ``verify(project_dir, result)`` runs
    only when a new commit is about to be pushed. Raises TenantfixError: exit 5 for remote and
    API failures (the message says where the local branch is), 3 when someone else's commits are on the branch.
    """
    from tenantfix import vcs

    branch, remote, base, force = target.branch, target.remote, target.base, target.force
    messages: list[str] = []

    def say(line: str) -> None:
        line = scrub(line)
        messages.append(line)
        if echo is not None:
            echo(line)

    repo_root = Path(repo_root)
    repo = vcs.repo_at(repo_root)
    remote_url = vcs.remote_url(repo_root, remote)
    if remote_url is None:
        raise TenantfixError(
            f"no git remote named {remote!r}; add it (`git remote add {remote} URL`) or pass "
            "the remote with --remote",
            ExitCode.USAGE,
        ) from None
    try:
        guessed = target.provider or parse_remote_url(remote_url).provider
    except ValueError:
        guessed = target.provider
    token = read_token(guessed, required=False) if guessed else None
    if target.open_pr and forge is None:
        forge = forge_for_remote(
            remote_url,
            provider=target.provider,
            api_url=target.api_url,
            repository=target.repository,
            options=forge_options,
        )
        token = read_token(forge.provider)
    origin = Remote(repo_root, remote, remote_url, provider=guessed, token=token)
    shown_remote = redact_url(remote_url)

    # ---- where the remote is
    from tenantfix.progress import report

    report(f"reading {shown_remote}")
    try:
        if base is None:
            base = forge.default_branch() if forge is not None else origin.default_branch()
        heads = origin.heads(base, branch)
    except RemoteError as exc:
        raise _remote_error(repo, f"cannot read {shown_remote}: {exc}.", branch) from None
    if base not in heads:
        raise TenantfixError(
            f"the base branch {base!r} does not exist on {shown_remote}", ExitCode.REMOTE
        )
    remote_tip = heads.get(branch)
    refspecs = [f"+refs/heads/{base}:{_PRIVATE_REF}/base"]
    if remote_tip:
        refspecs.append(f"+refs/heads/{branch}:{_PRIVATE_REF}/branch")
    report(f"fetching {base}{f' and {branch}' if remote_tip else ''} from {shown_remote}")
    try:
        origin.fetch(*refspecs)
    except RemoteError as exc:
        raise _remote_error(repo, f"cannot fetch from {shown_remote}: {exc}.", branch) from None
    base_sha = heads[base]

    foreign: list[CommitInfo] = []
    remote_fp: str | None = None
    if remote_tip:
        on_branch = _commits(repo, remote_tip, [base_sha])
        foreign = [c for c in on_branch if not c.is_bot]
        tip_commits = [c for c in on_branch if c.sha == remote_tip]
        if tip_commits and tip_commits[0].is_bot:
            remote_fp = tip_commits[0].fingerprint

    with vcs.temporary_worktree(repo_root, base_sha) as checkout:
        project_dir = checkout / project_prefix if project_prefix else checkout
        result = compute(project_dir)
        findings = result.fixed
        changes = {project_prefix + rel: data for rel, data in result.changes.items()}
        fp = fingerprint(findings, base_sha)

        if not changes:
            return _close_stale(forge, branch, base, base_sha, foreign, say, messages)
        if foreign and not force:
            listing = ", ".join(c.sha[:12] for c in foreign[:5])
            raise TenantfixError(
                f"{branch!r} on {shown_remote} has commits not made by tenantfix ({listing}). "
                "They were not overwritten and the pull request was not touched. Merge or move "
                "them, delete the branch, or rerun with --force to replace it.",
                ExitCode.REFUSED,
            )

        title = (
            result.commit_message().splitlines()[0].strip()
            or "tenantfix: fix django-tenants settings"
        )
        up_to_date = remote_tip is not None and remote_fp == fp and not foreign
        commit_sha: str
        pushed = False
        verification: Verification | None = None
        if up_to_date:
            assert remote_tip is not None
            commit_sha = remote_tip
            _sync_local_branch(repo, branch, remote_tip, base_sha, force)
        else:
            if verify is not None:
                verification = verify(project_dir, result)
                if not verification.passed:
                    raise TenantfixError(
                        f"verification failed, nothing was pushed: {verification.summary}",
                        ExitCode.VERIFY_FAILED,
                    )
            _check_local_branch(repo, branch, base_sha, remote_tip, force)
            interrupt.raise_if_received()
            with interrupt.deferred():  # the local branch is either as it was or complete
                commit_sha = vcs.commit_changes(
                    repo_root,
                    base=base_sha,
                    branch=branch,
                    changes=changes,
                    message=with_trailer(result.commit_message(), fp),
                    author=author,
                    committer=BOT,
                    force=True,
                )
                interrupt.wrote(f"the local branch {branch!r} was moved to {commit_sha[:12]}")
            lease = f"refs/heads/{branch}:{remote_tip or ''}"
            report(f"pushing {branch} to {shown_remote}")
            try:
                origin.push(
                    f"--force-with-lease={lease}", remote, f"{commit_sha}:refs/heads/{branch}"
                )
            except RemoteError as exc:
                if interrupt.received():
                    raise _unknown_push(shown_remote) from None
                raise _remote_error(
                    repo, f"push of {branch!r} to {shown_remote} was rejected: {exc}.", branch
                ) from None
            except KeyboardInterrupt:
                raise _unknown_push(shown_remote) from None
            interrupt.wrote(f"it was pushed to {shown_remote}")
            pushed = True
            verb = "rebuilt on" if remote_tip else "pushed on top of"
            say(f"Branch {branch!r} {verb} {base}@{base_sha[:12]} ({commit_sha[:12]}).")

    if forge is None:
        if not pushed:
            say(f"Branch {branch!r} is up to date with {base}@{base_sha[:12]}; nothing pushed.")
        return PublishResult(
            "pushed" if pushed else "up-to-date",
            branch,
            base,
            base_sha,
            fp,
            commit_sha,
            pushed,
            None,
            tuple(messages),
        )

    body = render(
        title=title,
        fixed=findings,
        unfixed=result.unfixed,
        changes=result.changes,
        originals=result.originals,
        base=base,
        base_sha=base_sha,
        fingerprint=fp,
        prefix=project_prefix,
        verification=verification,
    )
    try:
        action, pr = _sync_pull_request(
            forge,
            branch=branch,
            base=base,
            title=title,
            body=body,
            fp=fp,
            pushed=pushed,
            labels=target.labels,
            draft=target.draft,
            reviewers=target.reviewers,
        )
    except ForgeError as exc:
        raise _remote_error(repo, exc.message, branch) from None
    except KeyboardInterrupt:
        raise interrupt.Interrupted(
            f"{interrupt.written()}; the pull request may not have been opened or updated: "
            "rerun to finish"
        ) from None
    if action == "declined":
        say(
            f"{pr.url} with this exact fix was closed without merging; not reopening it. "
            "It comes back when the base branch or the findings change."
        )
    elif action == "up-to-date":
        say(f"Up to date: {pr.url} already fixes {base}@{base_sha[:12]}; nothing pushed or edited.")
    else:
        say(f"Pull request {action}: {pr.url}")
    return PublishResult(
        action, branch, base, base_sha, fp, commit_sha, pushed, pr, tuple(messages)
    )


def _unknown_push(shown_remote: str) -> interrupt.Interrupted:
    return interrupt.Interrupted(
        f"{interrupt.written()}; whether the push to {shown_remote} completed is unknown: "
        "rerun to finish (it is a no-op if it did)"
    )


def _check_local_branch(
    repo: git.Repo, branch: str, base_sha: str, remote_tip: str | None, force: bool
) -> None:
    """The local fix branch may be replaced only if it holds nothing but bot commits."""
    from tenantfix import vcs

    local = vcs.ref_sha(repo, f"refs/heads/{branch}")
    if local is None or force:
        return
    exclude = [base_sha] + ([remote_tip] if remote_tip else [])
    mine = [c for c in _commits(repo, local, exclude) if not c.is_bot]
    if mine:
        raise TenantfixError(
            f"the local branch {branch!r} has commits not made by tenantfix "
            f"({', '.join(c.sha[:12] for c in mine[:5])}); rename it or pass --force",
            ExitCode.REFUSED,
        )


def _sync_local_branch(repo: git.Repo, branch: str, sha: str, base_sha: str, force: bool) -> None:
    """Point the local branch at the pushed commit when that loses nothing."""
    try:
        _check_local_branch(repo, branch, base_sha, sha, force)
    except TenantfixError:
        return  # the user's own local commits win; the remote is what matters here
    import git

    current: str = repo.git.symbolic_ref("--quiet", "--short", "HEAD", with_exceptions=False)
    if current.strip() != branch:
        # a convenience only (the pushed branch is what counts): a ref git cannot write,
        # such as one a branch named like its parent directory blocks, is left as it is
        with contextlib.suppress(git.GitCommandError):
            repo.git.update_ref(f"refs/heads/{branch}", sha)


def _sync_pull_request(
    forge: Forge,
    *,
    branch: str,
    base: str,
    title: str,
    body: str,
    fp: str,
    pushed: bool,
    labels: Sequence[str],
    draft: bool,
    reviewers: Sequence[str],
) -> tuple[Action, PullRequest]:
    existing = forge.find_pull_requests(branch)
    if existing:
        pr = existing[0]
        if not pushed and fingerprint_from_body(pr.body) == fp and pr.base == base:
            return "up-to-date", pr
        return "updated", forge.update_pull_request(pr.number, title=title, body=body, base=base)
    declined = [
        p
        for p in forge.find_pull_requests(branch, state="all")
        if p.state == "closed" and fingerprint_from_body(p.body) == fp
    ]
    if declined:
        # a human closed this very fix without merging it: do not open it again
        return "declined", declined[0]
    try:
        pr = forge.create_pull_request(head=branch, base=base, title=title, body=body, draft=draft)
    except PullRequestExists:
        # another run opened it between our look-up and our create
        existing = forge.find_pull_requests(branch)
        if not existing:
            raise
        pr = forge.update_pull_request(existing[0].number, title=title, body=body, base=base)
        forge.add_labels(pr.number, labels)
        return "updated", pr
    forge.add_labels(pr.number, labels)
    forge.request_reviewers(pr.number, reviewers)
    return "created", pr


def _close_stale(
    forge: Forge | None,
    branch: str,
    base: str,
    base_sha: str,
    foreign: Sequence[CommitInfo],
    say: Callable[[str], None],
    messages: list[str],
) -> PublishResult:
    closed: PullRequest | None = None
    if forge is not None:
        try:
            open_prs = forge.find_pull_requests(branch)
            if open_prs and foreign:
                say(
                    f"{base}@{base_sha[:12]} needs no fix, but {open_prs[0].url} has commits not "
                    "made by tenantfix; leaving it open."
                )
            elif open_prs:
                for pr in open_prs:
                    closed = forge.close_pull_request(
                        pr.number,
                        comment=(
                            f"tenantfix finds nothing to fix on `{base}` any more "
                            f"(`{base_sha[:12]}`), so this pull request is no longer needed. "
                            "Closing it; a new one will be opened if the problem comes back."
                        ),
                    )
                    say(f"Closed {pr.url}: {base} no longer needs the fix.")
        except ForgeError as exc:
            raise TenantfixError(exc.message, ExitCode.REMOTE) from None
    if closed is None:
        say(f"Nothing to fix on {base}@{base_sha[:12]}; no branch pushed, no pull request opened.")
    return PublishResult(
        "closed" if closed else "nothing-to-do",
        branch,
        base,
        base_sha,
        None,
        None,
        False,
        closed,
        tuple(messages),
    )


# ---------------------------------------------------------------------------- CLI glue
_AUTHOR_RE = re.compile(r"^\s*(?P<name>[^<>]+?)\s*<(?P<email>[^<>@\s]+@[^<>\s]+)>\s*$")


def parse_author(text: str) -> Identity:
    """``"Name <email>"`` as given to ``--author`` (git's own syntax)."""
    match = _AUTHOR_RE.match(text)
    if not match:
        raise TenantfixError(
            f"--author must look like 'Name <email>', not {text!r}", ExitCode.USAGE
        )
    return Identity(match["name"], match["email"])


def publish_project(
    path: Path,
    options: Options,
    target: PublishTarget,
    *,
    author: str | None = None,
    verify: Callable[[Path, FixOutcome], Verification] | None = None,
    forge_options: ForgeOptions | None = None,
    echo: Callable[[str], None] | None = None,
) -> PublishResult:
    """``apply --push/--open-pr``: run the pipeline on the remote base and publish the result.

    ``options`` is a ``tenantfix.pipeline.Options``. The user's checkout is only used to find
    the project and the remote: the fix is computed from the remote's base branch.
    """
    from tenantfix import vcs
    from tenantfix.apply import _author, _require_fixed
    from tenantfix.discover import find_manage_py
    from tenantfix.pipeline import converge_fixes

    project_dir = find_manage_py(path).parent
    repo = vcs.open_repo(project_dir)
    git_root = vcs.repo_root(repo)
    rel = project_dir.resolve().relative_to(git_root.resolve()).as_posix()
    prefix = "" if rel == "." else rel + "/"

    def compute(checkout_project: Path) -> FixOutcome:
        result = converge_fixes(checkout_project, options)
        _require_fixed(result)
        return result

    return publish(
        git_root,
        target,
        compute=compute,
        project_prefix=prefix,
        author=parse_author(author) if author else _author(git_root),
        verify=verify,
        forge_options=forge_options,
        echo=echo,
    )
