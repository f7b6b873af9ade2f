"""`apply --push/--open-pr` on a GitHub runner leaves the Action's outputs in $GITHUB_OUTPUT."""

from __future__ import annotations

from tenantfix import github_output
from tenantfix.bot import PublishResult
from tenantfix.forge import PullRequest


def result(action, pr=None) -> PublishResult:
    return PublishResult(
        action=action, branch="b", base="main", base_sha="0" * 40, fingerprint=None, pull_request=pr
    )


def test_outputs_use_the_actions_words(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.write_text("earlier=1\n")
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    github_output.write(result("nothing-to-do"))
    pr = PullRequest(7, "https://h/acme/x/pull/7", "open", "t", "body", "b", "main")
    github_output.write(result("updated", pr))
    assert out.read_text().splitlines() == [
        "earlier=1",
        "result=nothing-to-fix",
        "pull-request-number=",
        "pull-request-url=",
        "result=updated",
        "pull-request-number=7",
        "pull-request-url=https://h/acme/x/pull/7",
    ]


def test_nothing_is_written_outside_a_runner(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    github_output.write(result("created"))  # no file named, nothing to write, no error
    assert list(tmp_path.iterdir()) == []
