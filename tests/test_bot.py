"""The bot flow against real git remotes (bare repos, and smart HTTP through the fake forge)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support_forge import REPO, git, init_repo, make_bare_remote

from tenantfix.bot import TRAILER, PublishTarget, fingerprint_from_message, publish
from tenantfix.errors import ExitCode, TenantfixError
from tenantfix.forge import ForgeOptions
from tenantfix.graph.model import Location
from tenantfix.plan import Diagnostic, Prediction
from tenantfix.pr_body import fingerprint_from_body
from tenantfix.vcs import BOT_EMAIL, Identity

FAST = ForgeOptions(retries=3, backoff=0.01, timeout=10, write_interval=0)
BRANCH = "tenantfix/shared-user-app"
BROKEN = 'SHARED_APPS = [\n    "django_tenants",\n    "customers",\n]\nTENANT_APPS = ["users"]\n'
FIXED = 'SHARED_APPS = [\n    "django_tenants",\n    "customers",\n    "users",\n]\nTENANT_APPS = ["users"]\n'


@dataclass
class Outcome:
    """Shaped like tenantfix.pipeline.FixResult (what publish reads from it)."""

    fixed: tuple[Diagnostic, ...]
    changes: dict[str, bytes | None]
    originals: dict[str, bytes | None]
    unfixed: tuple[Diagnostic, ...] = ()
    seen: list[Path] = field(default_factory=list)

    def commit_message(self) -> str:
        return "tenantfix: move the user app into SHARED_APPS\n\nTF001 settings.py\n"


def compute(project_dir: Path) -> Outcome:
    """A real (tiny) fixer: TF001 when 'users' is missing from SHARED_APPS in settings.py."""
    settings = project_dir / "proj" / "settings.py"
    text = settings.read_text()
    shared = re.search(r"SHARED_APPS = \[(.*?)\]", text, re.S)
    assert shared is not None
    if '"users"' in shared.group(1):
        return Outcome((), {}, {})
    line = text[: shared.start()].count("\n") + 1
    diag = Diagnostic(
        code="TF001",
        message="AUTH_USER_MODEL app 'users' is not in SHARED_APPS",
        location=Location("proj/settings.py", line),
        why="admin.LogEntry in the public schema points at users.User",
        fix_summary="add 'users' to SHARED_APPS",
        prediction=Prediction(
            "migrate_schemas --shared", "admin.0001_initial", 'relation "users_user" does not exist'
        ),
    )
    new = text[: shared.end() - 1] + '    "users",\n' + text[shared.end() - 1 :]
    return Outcome((diag,), {"proj/settings.py": new.encode()}, {"proj/settings.py": text.encode()})


def project_files(settings: str = BROKEN) -> dict[str, str]:
    return {"manage.py": "# manage\n", "proj/__init__.py": "", "proj/settings.py": settings}


@pytest.fixture
def local(tmp_path):
    """A working copy with a bare remote on disk, and a second clone to play 'the others'."""
    work = init_repo(tmp_path / "work", project_files())
    bare = make_bare_remote(tmp_path / "remote.git", work)
    return work, bare


def remote_sha(bare: Path, ref: str) -> str | None:
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", ref], cwd=bare, capture_output=True, text=True
    )
    return proc.stdout.strip() or None


def advance_base(
    bare: Path, tmp_path: Path, files: dict[str, str], message: str = "upstream work"
) -> str:
    """Someone else pushes to main."""
    other = tmp_path / f"other-{len(list(tmp_path.iterdir()))}"
    subprocess.run(["git", "clone", "--quiet", str(bare), str(other)], check=True)
    for name, text in files.items():
        (other / name).parent.mkdir(parents=True, exist_ok=True)
        (other / name).write_text(text)
    git(other, "add", "--all")
    git(other, "commit", "--quiet", "-m", message)
    git(other, "push", "--quiet", "origin", "main")
    return git(other, "rev-parse", "HEAD")


_TARGET_FIELDS = {f.name for f in dataclasses.fields(PublishTarget)}


def run(work: Path, **kwargs):
    target = {k: kwargs.pop(k) for k in list(kwargs) if k in _TARGET_FIELDS}
    target.setdefault("branch", BRANCH)
    kwargs.setdefault("forge_options", FAST)
    return publish(work, PublishTarget(**target), compute=compute, **kwargs)


def test_first_run_pushes_a_bot_commit_and_leaves_the_checkout_alone(local):
    work, bare = local
    (work / "notes.txt").write_text("uncommitted\n")
    head_before = git(work, "rev-parse", "HEAD")
    status_before = git(work, "status", "--porcelain")
    # a hook that would fail the commit: tenantfix must not run it
    hook = work / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)

    result = run(work, author=Identity("Ada", "ada@example.com"))

    assert result.action == "pushed" and result.pushed
    pushed = remote_sha(bare, f"refs/heads/{BRANCH}")
    assert pushed == result.commit
    info = git(work, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%P", pushed).split("|")
    assert info == ["Ada <ada@example.com>", f"tenantfix[bot] <{BOT_EMAIL}>", head_before]
    message = git(work, "log", "-1", "--format=%B", pushed)
    assert fingerprint_from_message(message) == result.fingerprint
    assert f"{TRAILER}: {result.fingerprint}" in message
    assert git(work, "show", f"{pushed}:proj/settings.py") + "\n" == FIXED
    # user's HEAD, index and working tree untouched; the local branch exists
    assert git(work, "rev-parse", "HEAD") == head_before
    assert git(work, "status", "--porcelain") == status_before
    assert git(work, "rev-parse", f"refs/heads/{BRANCH}") == pushed


def test_rerun_is_a_no_op(local):
    work, bare = local
    first = run(work)
    reflog_before = subprocess.run(
        ["git", "log", "-g", "--oneline", f"refs/heads/{BRANCH}"],
        cwd=work,
        capture_output=True,
        text=True,
    ).stdout
    second = run(work)
    assert second.action == "up-to-date" and not second.pushed
    assert second.commit == first.commit == remote_sha(bare, f"refs/heads/{BRANCH}")
    assert any("up to date" in m for m in second.messages)
    reflog_after = subprocess.run(
        ["git", "log", "-g", "--oneline", f"refs/heads/{BRANCH}"],
        cwd=work,
        capture_output=True,
        text=True,
    ).stdout
    assert reflog_after == reflog_before  # the local branch did not move either


def test_base_moved_regenerates_the_branch(local, tmp_path):
    work, bare = local
    first = run(work)
    new_base = advance_base(bare, tmp_path, {"README.md": "hello\n"})
    second = run(work)
    assert second.pushed and second.commit != first.commit
    assert second.base_sha == new_base
    assert git(work, "rev-parse", f"{second.commit}^") == new_base
    assert remote_sha(bare, f"refs/heads/{BRANCH}") == second.commit
    assert second.fingerprint != first.fingerprint
    # one commit on top of the base, not a stack of bot commits
    assert git(work, "rev-list", "--count", f"{new_base}..{second.commit}") == "1"


def test_human_commit_on_the_bot_branch_is_not_overwritten(local, tmp_path):
    work, bare = local
    run(work)
    other = tmp_path / "human"
    subprocess.run(
        ["git", "clone", "--quiet", "--branch", BRANCH, str(bare), str(other)], check=True
    )
    (other / "proj" / "extra.py").write_text("# reviewer's tweak\n")
    git(other, "add", "--all")
    git(other, "commit", "--quiet", "-m", "tweak")
    git(other, "push", "--quiet", "origin", BRANCH)
    human_tip = git(other, "rev-parse", "HEAD")
    advance_base(bare, tmp_path, {"README.md": "moved\n"})

    with pytest.raises(TenantfixError) as info:
        run(work)
    assert info.value.exit_code == ExitCode.REFUSED
    assert "not made by tenantfix" in info.value.message and human_tip[:12] in info.value.message
    assert remote_sha(bare, f"refs/heads/{BRANCH}") == human_tip

    forced = run(work, force=True)
    assert forced.pushed
    assert remote_sha(bare, f"refs/heads/{BRANCH}") == forced.commit != human_tip


def test_fixed_on_base_pushes_nothing(local, tmp_path):
    work, bare = local
    advance_base(bare, tmp_path, {"proj/settings.py": FIXED}, "fix by hand")
    result = run(work)
    assert result.action == "nothing-to-do" and not result.pushed
    assert remote_sha(bare, f"refs/heads/{BRANCH}") is None


def test_rejected_push_exits_5_and_keeps_the_local_branch(local):
    work, bare = local
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'policy: no bots here' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(TenantfixError) as info:
        run(work)
    assert info.value.exit_code == ExitCode.REMOTE
    assert "rejected" in info.value.message and "policy: no bots here" in info.value.message
    local_sha = git(work, "rev-parse", f"refs/heads/{BRANCH}")
    assert local_sha[:12] in info.value.message
    assert remote_sha(bare, f"refs/heads/{BRANCH}") is None


def test_lease_protects_a_branch_that_moved_under_us(local, tmp_path):
    """Someone pushes to the bot branch after our look-up, before our push: the lease refuses."""
    work, bare = local
    run(work)
    advance_base(bare, tmp_path, {"README.md": "x\n"})
    other = tmp_path / "racer"
    subprocess.run(
        ["git", "clone", "--quiet", "--branch", BRANCH, str(bare), str(other)], check=True
    )

    def compute_while_someone_pushes(project_dir):
        (other / "late.txt").write_text("late\n")
        git(other, "add", "--all")
        git(other, "commit", "--quiet", "-m", "late push")
        git(other, "push", "--quiet", "origin", BRANCH)
        return compute(project_dir)

    with pytest.raises(TenantfixError) as info:
        publish(work, PublishTarget(branch=BRANCH), compute=compute_while_someone_pushes)
    assert info.value.exit_code == ExitCode.REMOTE
    assert "stale info" in info.value.message
    assert remote_sha(bare, f"refs/heads/{BRANCH}") == git(other, "rev-parse", "HEAD")
    local = git(work, "rev-parse", f"refs/heads/{BRANCH}")
    assert f"The local branch '{BRANCH}' is at {local[:12]}." in info.value.message


def test_unknown_remote_is_a_usage_error(local):
    work, _ = local
    with pytest.raises(TenantfixError) as info:
        run(work, remote="upstream")
    assert info.value.exit_code == ExitCode.USAGE


# --------------------------------------------------------------------------- with the fake forge
@pytest.fixture(params=["github", "gitlab"])
def served(request, tmp_path, fake_forge, forge_token, monkeypatch):
    """A working copy whose origin is the fake forge's smart-HTTP git, token in the env."""
    provider = request.param
    monkeypatch.setenv("GITHUB_TOKEN" if provider == "github" else "GITLAB_TOKEN", forge_token)
    work = init_repo(tmp_path / "work", project_files())
    bare = fake_forge.git_root / f"{REPO}.git"
    make_bare_remote(bare, work, url=fake_forge.git_url(REPO))
    api = fake_forge.github_api_url if provider == "github" else fake_forge.gitlab_url
    return provider, work, bare, api


def pulls_of(fake, provider):
    return fake.github.pulls(REPO) if provider == "github" else fake.gitlab.merge_requests(REPO)


def body_of(pr, provider):
    return pr["body"] if provider == "github" else pr["description"]


def is_open(pr):
    return pr["state"] in ("open", "opened")


def test_whole_bot_flow(served, fake_forge, forge_token, tmp_path, capsys):
    provider, work, bare, api = served
    out: list[str] = []

    def go(**kw):
        return run(
            work,
            open_pr=True,
            provider=provider,
            api_url=api,
            echo=out.append,
            labels=("tenantfix", "deps"),
            **kw,
        )

    # 1. first run: push and open
    first = go()
    assert first.action == "created"
    prs = pulls_of(fake_forge, provider)
    assert len(prs) == 1 and is_open(prs[0])
    assert fingerprint_from_body(body_of(prs[0], provider)) == first.fingerprint
    assert 'relation "users_user" does not exist' in body_of(prs[0], provider)
    assert "tenantfix repair-db" in body_of(prs[0], provider)
    assert remote_sha(bare, f"refs/heads/{BRANCH}") == first.commit
    labels = prs[0]["labels"]
    assert [x["name"] if isinstance(x, dict) else x for x in labels] == ["tenantfix", "deps"]

    # 2. rerun: no push, no API write
    writes = len(fake_forge.writes())
    second = go()
    assert second.action == "up-to-date" and not second.pushed
    assert len(fake_forge.writes()) == writes
    assert len(pulls_of(fake_forge, provider)) == 1

    # 3. base moved: same branch rebuilt, same PR updated
    new_base = advance_base(bare, tmp_path, {"README.md": "moved\n"})
    third = go()
    assert third.action == "updated" and third.pushed
    prs = pulls_of(fake_forge, provider)
    assert len(prs) == 1 and is_open(prs[0])
    assert fingerprint_from_body(body_of(prs[0], provider)) == third.fingerprint
    assert new_base[:12] in body_of(prs[0], provider)
    assert remote_sha(bare, f"refs/heads/{BRANCH}") == third.commit

    # 4. fixed on base: the stale PR is closed with a comment, nothing new opened
    advance_base(bare, tmp_path, {"proj/settings.py": FIXED}, "fixed by hand")
    fourth = go()
    assert fourth.action == "closed"
    prs = pulls_of(fake_forge, provider)
    assert len(prs) == 1 and not is_open(prs[0])
    comments = (
        fake_forge.github.repos[REPO].comments
        if provider == "github"
        else fake_forge.gitlab.project(REPO).notes
    )[prs[0]["number" if provider == "github" else "iid"]]
    assert len(comments) == 1 and "no longer needed" in comments[0]

    # 5. and a rerun of that is quiet
    assert go().action == "nothing-to-do"

    # the token is nowhere: messages, captured output, git config, remote URL, reflogs
    captured = capsys.readouterr()
    everything = "\n".join(out) + captured.out + captured.err
    everything += (work / ".git" / "config").read_text()
    everything += git(work, "remote", "-v")
    assert forge_token not in everything
    assert (
        forge_token
        not in subprocess.run(
            ["git", "log", "-g", "--all", "--format=%gs %B"],
            cwd=work,
            capture_output=True,
            text=True,
        ).stdout
    )
    # and the API requests all carried it (so it really was used)
    assert all(forge_token in str(r.headers) for r in fake_forge.requests)


def test_race_422_finds_and_updates_the_existing_pr(served, fake_forge, forge_token):
    provider, work, _bare, api = served
    path = r"/pulls$" if provider == "github" else r"/merge_requests$"

    def racing_run_opens_one():
        if provider == "github":
            fake_forge.github.open_pull(
                REPO,
                head=BRANCH,
                base="main",
                title="other run",
                body="",
                api=fake_forge.github_api_url,
                web=fake_forge.url,
            )
        else:
            fake_forge.gitlab.merge_requests(REPO).append(
                {
                    "id": 1,
                    "iid": 1,
                    "project_id": 1,
                    "title": "other run",
                    "description": "",
                    "state": "opened",
                    "source_branch": BRANCH,
                    "target_branch": "main",
                    "draft": False,
                    "labels": [],
                    "reviewers": [],
                    "web_url": f"{fake_forge.gitlab_url}/{REPO}/-/merge_requests/1",
                }
            )
            fake_forge.gitlab.project(REPO).notes[1] = []

    fake_forge.before("POST", path, racing_run_opens_one)
    result = run(work, open_pr=True, provider=provider, api_url=api)
    assert result.action == "updated"
    prs = pulls_of(fake_forge, provider)
    assert len(prs) == 1
    assert fingerprint_from_body(body_of(prs[0], provider)) == result.fingerprint
    status = 422 if provider == "github" else 409
    assert len(fake_forge.requests_to("POST", path)) == 1, status


def test_5xx_is_retried_then_succeeds(served, fake_forge):
    provider, work, _bare, api = served
    path = r"/pulls$" if provider == "github" else r"/merge_requests$"
    fake_forge.fail("POST", path, 502, times=2)
    result = run(work, open_pr=True, provider=provider, api_url=api)
    assert result.action == "created"
    assert len(fake_forge.requests_to("POST", path)) == 3
    assert len(pulls_of(fake_forge, provider)) == 1


def test_401_is_a_clean_error_and_the_branch_is_kept(served, fake_forge, forge_token, monkeypatch):
    provider, work, _bare, api = served
    path = r"/pulls$" if provider == "github" else r"/merge_requests$"
    fake_forge.fail("POST", path, 401, body={"message": "Bad credentials"})
    with pytest.raises(TenantfixError) as info:
        run(work, open_pr=True, provider=provider, api_url=api)
    assert info.value.exit_code == ExitCode.REMOTE
    local = git(work, "rev-parse", f"refs/heads/{BRANCH}")
    assert "401" in info.value.message
    assert f"The local branch '{BRANCH}' is at {local[:12]}." in info.value.message
    assert forge_token not in info.value.message
    assert git(work, "rev-parse", f"refs/heads/{BRANCH}")
    # the branch was pushed before the API failed; the next run only has to open the PR
    again = run(work, open_pr=True, provider=provider, api_url=api)
    assert again.action == "created" and not again.pushed


def test_missing_token_fails_before_anything_is_pushed(served, fake_forge, monkeypatch):
    provider, work, bare, api = served
    monkeypatch.delenv("GITHUB_TOKEN") if provider == "github" else monkeypatch.delenv(
        "GITLAB_TOKEN"
    )
    with pytest.raises(TenantfixError) as info:
        run(work, open_pr=True, provider=provider, api_url=api)
    assert info.value.exit_code == ExitCode.REMOTE
    assert "_TOKEN is not set" in info.value.message
    assert "kept" not in info.value.message and "Nothing was written" in info.value.message
    assert remote_sha(bare, f"refs/heads/{BRANCH}") is None
    assert fake_forge.requests == []


def test_push_over_http_needs_the_token(served, fake_forge, monkeypatch):
    """Without a token the smart-HTTP push is refused (401): the token really is what git used."""
    _provider, work, bare, _api = served
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    with pytest.raises(TenantfixError) as info:
        run(work, base="main")
    assert info.value.exit_code == ExitCode.REMOTE
    assert "cannot read" in info.value.message
    # no branch existed before the failure, and the message does not pretend one is kept
    assert "kept" not in info.value.message
    assert f"No local branch '{BRANCH}' exists; nothing was written." in info.value.message
    assert remote_sha(bare, f"refs/heads/{BRANCH}") is None


def test_a_pr_closed_by_a_human_is_not_reopened(served, fake_forge):
    provider, work, _bare, api = served
    first = run(work, open_pr=True, provider=provider, api_url=api)
    pr = pulls_of(fake_forge, provider)[0]
    pr["state"] = "closed"  # a reviewer declined it
    again = run(work, open_pr=True, provider=provider, api_url=api)
    assert again.action == "declined"
    assert len(pulls_of(fake_forge, provider)) == 1
    assert any("not reopening" in m for m in again.messages)
    assert again.fingerprint == first.fingerprint


def test_unreachable_remote_says_only_what_is_true_of_the_local_branch(local, tmp_path):
    """Before any run no local branch exists; after one, the message names where it is."""
    work, bare = local
    git(work, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    with pytest.raises(TenantfixError) as info:
        run(work, base="main")
    assert info.value.exit_code == ExitCode.REMOTE
    assert "kept" not in info.value.message
    assert f"No local branch '{BRANCH}' exists; nothing was written." in info.value.message

    git(work, "remote", "set-url", "origin", str(bare))
    first = run(work)
    git(work, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    with pytest.raises(TenantfixError) as info:
        run(work, base="main")
    assert f"The local branch '{BRANCH}' is at {first.commit[:12]}." in info.value.message


def test_fetch_and_push_report_progress(local):
    from tenantfix.progress import reporting

    work, _ = local
    seen: list[str] = []
    with reporting(seen.append):
        run(work)
    assert [m.split(" ", 1)[0] for m in seen] == ["reading", "fetching", "pushing"]
    assert seen[1].startswith("fetching main from ") and seen[2].startswith(f"pushing {BRANCH} to ")
