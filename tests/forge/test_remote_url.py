from __future__ import annotations

import pytest

from tenantfix.forge import api_url_for
from tenantfix.forge.remote_url import parse_remote_url, redact_url


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port", "owner", "name", "provider"),
    [
        (
            "https://github.com/acme/portal.git",
            "https",
            "github.com",
            None,
            "acme",
            "portal",
            "github",
        ),
        ("https://github.com/acme/portal", "https", "github.com", None, "acme", "portal", "github"),
        (
            "https://x-access-token:s3cret@github.com/acme/portal.git",
            "https",
            "github.com",
            None,
            "acme",
            "portal",
            "github",
        ),
        ("git@github.com:acme/portal.git", "ssh", "github.com", None, "acme", "portal", "github"),
        (
            "ssh://git@github.com/acme/portal.git",
            "ssh",
            "github.com",
            None,
            "acme",
            "portal",
            "github",
        ),
        (
            "ssh://git@gitlab.example.org:2222/group/sub/portal.git",
            "ssh",
            "gitlab.example.org",
            2222,
            "group/sub",
            "portal",
            "gitlab",
        ),
        (
            "https://gitlab.com/group/sub/portal.git/",
            "https",
            "gitlab.com",
            None,
            "group/sub",
            "portal",
            "gitlab",
        ),
        ("gitlab.com:group/portal", "ssh", "gitlab.com", None, "group", "portal", "gitlab"),
        (
            "https://git.corp.example:8443/acme/portal.git",
            "https",
            "git.corp.example",
            8443,
            "acme",
            "portal",
            None,
        ),
        (
            "git+ssh://git@github.com/acme/portal",
            "ssh",
            "github.com",
            None,
            "acme",
            "portal",
            "github",
        ),
    ],
)
def test_parses_forge_urls(url, scheme, host, port, owner, name, provider):
    remote = parse_remote_url(url)
    assert (
        remote.scheme,
        remote.host,
        remote.port,
        remote.owner,
        remote.name,
        remote.provider,
    ) == (
        scheme,
        host,
        port,
        owner,
        name,
        provider,
    )
    assert remote.full_name == f"{owner}/{name}"


@pytest.mark.parametrize(
    "url", ["/srv/git/portal.git", "../portal", "file:///srv/git/portal.git", "C:/repos/portal"]
)
def test_local_paths_have_no_provider(url):
    remote = parse_remote_url(url)
    assert remote.scheme == "file"
    assert remote.provider is None
    assert remote.name == "portal"


@pytest.mark.parametrize("url", ["", "https:///acme/portal", "https://github.com/"])
def test_rejects_non_urls(url):
    with pytest.raises(ValueError):
        parse_remote_url(url)


def test_credentials_never_survive_parsing_or_redaction():
    url = "https://bot:ghp_abcdef123456@github.com/acme/portal.git"
    remote = parse_remote_url(url)
    assert "ghp_abcdef123456" not in repr(remote)
    assert redact_url(f"fatal: unable to access '{url}/': 403") == (
        "fatal: unable to access 'https://***@github.com/acme/portal.git/': 403"
    )


def test_api_urls():
    assert (
        api_url_for(parse_remote_url("git@github.com:acme/portal.git"), "github")
        == "https://api.github.com"
    )
    assert (
        api_url_for(parse_remote_url("https://ghe.corp.example/acme/portal.git"), "github")
        == "https://ghe.corp.example/api/v3"
    )
    # an ssh port is not the web port
    assert (
        api_url_for(parse_remote_url("ssh://git@gitlab.corp.example:2222/g/portal.git"), "gitlab")
        == "https://gitlab.corp.example"
    )
