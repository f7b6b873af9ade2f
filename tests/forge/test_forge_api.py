"""Both forge clients against the local fake GitHub/GitLab server (real HTTP, real libraries)."""

from __future__ import annotations

import logging

import pytest
from support_forge import REPO

from tenantfix.errors import ExitCode
from tenantfix.forge import ForgeError, ForgeOptions, PullRequestExists, forge_for_remote

FAST = ForgeOptions(retries=3, backoff=0.01, timeout=10, write_interval=0)
PROVIDERS = ["github", "gitlab"]


@pytest.fixture(params=PROVIDERS)
def provider(request):
    return request.param


def make_forge(fake, provider, monkeypatch, token):
    monkeypatch.setenv("GITHUB_TOKEN" if provider == "github" else "GITLAB_TOKEN", token)
    api = fake.github_api_url if provider == "github" else fake.gitlab_url
    return forge_for_remote(
        f"git@{provider}.example.com:{REPO}.git", provider=provider, api_url=api, options=FAST
    )


def pulls(fake, provider):
    return fake.github.pulls(REPO) if provider == "github" else fake.gitlab.merge_requests(REPO)


def test_create_find_update_close(fake_forge, provider, monkeypatch, forge_token):
    forge = make_forge(fake_forge, provider, monkeypatch, forge_token)
    assert forge.default_branch() == "main"
    assert forge.find_pull_requests("tenantfix/fix") == []

    pr = forge.create_pull_request(
        head="tenantfix/fix", base="main", title="Fix it", body="b1", draft=True
    )
    assert (pr.number, pr.state, pr.head, pr.base, pr.title, pr.draft) == (
        1,
        "open",
        "tenantfix/fix",
        "main",
        "Fix it",
        True,
    )
    forge.add_labels(pr.number, ["tenantfix", "bot"])
    found = forge.find_pull_requests("tenantfix/fix")
    assert [p.number for p in found] == [1]
    assert forge.find_pull_requests("other") == []

    updated = forge.update_pull_request(pr.number, title="Fix it again", body="b2", base="main")
    assert (updated.title, updated.body, updated.draft) == ("Fix it again", "b2", True)
    closed = forge.close_pull_request(pr.number, comment="not needed")
    assert closed.state == "closed"
    assert forge.find_pull_requests("tenantfix/fix") == []
    assert [p.number for p in forge.find_pull_requests("tenantfix/fix", state="all")] == [1]

    state = pulls(fake_forge, provider)[0]
    assert state["state"] in ("closed",)
    labels = [x["name"] for x in state["labels"]] if provider == "github" else state["labels"]
    assert labels == ["tenantfix", "bot"]
    notes = (
        fake_forge.github.repos[REPO].comments
        if provider == "github"
        else fake_forge.gitlab.project(REPO).notes
    )[1]
    assert notes == ["not needed"]


def test_second_create_reports_existing(fake_forge, provider, monkeypatch, forge_token):
    forge = make_forge(fake_forge, provider, monkeypatch, forge_token)
    forge.create_pull_request(head="tenantfix/fix", base="main", title="t", body="b", draft=False)
    with pytest.raises(PullRequestExists):
        forge.create_pull_request(
            head="tenantfix/fix", base="main", title="t", body="b", draft=False
        )


def test_transient_5xx_is_retried(fake_forge, provider, monkeypatch, forge_token):
    forge = make_forge(fake_forge, provider, monkeypatch, forge_token)
    path = r"/repos/acme/portal$" if provider == "github" else r"/projects/[^/]+$"
    fake_forge.fail("GET", path, 502, times=2)
    assert forge.default_branch() == "main"
    assert len(fake_forge.requests_to("GET", path)) == 3


def test_persistent_5xx_gives_remote_error(fake_forge, provider, monkeypatch, forge_token):
    forge = make_forge(fake_forge, provider, monkeypatch, forge_token)
    path = r"/pulls$" if provider == "github" else r"/merge_requests$"
    fake_forge.fail("POST", path, 503, times=50)
    with pytest.raises(ForgeError) as info:
        forge.create_pull_request(head="x", base="main", title="t", body="b", draft=False)
    assert info.value.exit_code == ExitCode.REMOTE
    assert "503" in info.value.message
    assert "try again later" in info.value.message


@pytest.mark.parametrize(
    ("status", "words"), [(401, "rejected"), (403, "permission"), (404, "not found")]
)
def test_client_errors_are_clean(
    fake_forge, provider, monkeypatch, forge_token, status, words, caplog
):
    caplog.set_level(logging.DEBUG)
    forge = make_forge(fake_forge, provider, monkeypatch, forge_token)
    path = r"/repos/acme/portal$" if provider == "github" else r"/projects/[^/]+$"
    fake_forge.fail("GET", path, status, times=1, body={"message": f"nope {forge_token}"})
    with pytest.raises(ForgeError) as info:
        forge.default_branch()
    assert info.value.exit_code == ExitCode.REMOTE
    assert str(status) in info.value.message and words in info.value.message
    # even a server that echoes the token back does not get it into our message or logs
    assert forge_token not in info.value.message
    assert forge_token not in caplog.text


def test_wrong_token_is_401(fake_forge, provider, monkeypatch, forge_token):
    forge = make_forge(fake_forge, provider, monkeypatch, "wrong-token-value")
    with pytest.raises(ForgeError) as info:
        forge.default_branch()
    assert "401" in info.value.message
    assert "wrong-token-value" not in info.value.message


def test_missing_token(monkeypatch, provider):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    with pytest.raises(ForgeError) as info:
        forge_for_remote(f"https://{provider}.com/{REPO}.git")
    assert info.value.exit_code == ExitCode.REMOTE
    assert ("GITHUB_TOKEN" if provider == "github" else "GITLAB_TOKEN") in info.value.message


def test_unknown_provider_needs_flag(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "x" * 10)
    with pytest.raises(ForgeError, match="--provider"):
        forge_for_remote("https://git.corp.example/acme/portal.git")


def test_github_reviewers_and_gitlab_reviewer_ids(fake_forge, provider, monkeypatch, forge_token):
    forge = make_forge(fake_forge, provider, monkeypatch, forge_token)
    fake_forge.gitlab.add_user("alice")
    pr = forge.create_pull_request(head="b", base="main", title="t", body="b", draft=False)
    forge.request_reviewers(pr.number, ["alice"])
    state = pulls(fake_forge, provider)[0]
    if provider == "github":
        assert state["requested_reviewers"] == [{"login": "alice"}]
    else:
        assert [r["username"] for r in state["reviewers"]] == ["alice"]
