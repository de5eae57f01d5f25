"""Redirect targets after login: only paths on this site, whatever the encoding trick."""

from __future__ import annotations

from urllib.parse import quote, urljoin, urlsplit

import pytest
from conftest import PASSWORD
from hypothesis import given
from hypothesis import strategies as st

from diagnosis.security import safe_next

HOSTILE = [
    "//evil.example", "///evil.example", "////evil.example", "//evil.example/x",
    "/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "/\r\n/evil.example",
    "\t//evil.example", " //evil.example", "/ /evil.example", "/\u3000/evil.example",
    "/\\evil.example", "\\\\evil.example", "\\/evil.example", "/\\/evil.example",
    "https:evil.example", "https://evil.example", "http:/evil.example", "HTTPS://evil.example",
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "evil.example",
    "%2F%2Fevil.example", "/%2F/evil.example", "/%2f%2fevil.example", "/%5Cevil.example",
    "/%09/evil.example", "/%0a/evil.example", "/%0d%0aSet-Cookie:x=1",
    "\uff0f\uff0fevil.example",  # full-width solidus
    "/\uff0fevil.example", "/\uff3cevil.example",  # full-width solidus / reverse solidus
    "/\u200b/evil.example", "/\u202e/evil.example", "/\u2028/evil.example",
    "/\x00/evil.example", "/\x7f/evil.example", "", None, "/" + "a" * 3000,
]
LOCAL = [
    ("/dashboard", "/dashboard"),
    ("/campaigns/3/comments?cause=support&page=2#c9", "/campaigns/3/comments?cause=support&page=2#c9"),
    ("/campaigns/3/comments?q=%E6%97%A5%20x", "/campaigns/3/comments?q=%E6%97%A5%20x"),
    ("/campaigns/3/comments?q=日本", "/campaigns/3/comments?q=%E6%97%A5%E6%9C%AC"),
    ("/login?next=//evil.example", "/login?next=//evil.example"),  # a path on this site
    # Lookalikes NFKC does not fold stay a harmless, percent-encoded path segment.
    ("/\u2044evil.example", "/%E2%81%84evil.example"),
    ("/\u2215\u2215evil.example", "/%E2%88%95%E2%88%95evil.example"),
]


def _leaves_site(location: str) -> bool:
    # How a browser resolves the Location against the page it came from.
    after = urlsplit(urljoin("https://teichaku.example/login", location.replace("\\", "/")))
    return after.netloc != "teichaku.example" or after.scheme != "https"


@pytest.mark.parametrize("target", HOSTILE)
def test_hostile_targets_are_refused(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target,expected", LOCAL)
def test_local_targets_are_kept(target, expected):
    assert safe_next(target) == expected


@given(st.text(max_size=40))
def test_any_accepted_target_is_ascii_and_stays_on_the_site(text):
    out = safe_next(text)
    if out is not None:
        assert out.isascii() and out.startswith("/") and not out.startswith("//")
        assert not any(ch in out for ch in "\\\t\r\n ")
        assert not _leaves_site(out)


@given(st.sampled_from(["/", "//", "\\", "/\\", "\t", "\n", "%2F", "\uff0f", ":", "evil.example"]),
       st.text(alphabet="/\\\t\r\n .:%2Fevilxamp\uff0f\uff3c", max_size=12))
def test_slash_and_control_soup_never_leaves_the_site(head, tail):
    out = safe_next(head + tail)
    assert out is None or not _leaves_site(out)


def test_login_never_redirects_off_site_nor_fails(app, client, world):
    app.config["LOGIN_ATTEMPTS_PER_MINUTE"] = 1000
    for target in filter(None, HOSTILE):
        r = client.post("/login?next=" + quote(target, safe=""),
                        data={"email": world["lead_a"], "password": PASSWORD})
        assert r.status_code == 302, repr(target)
        assert r.headers["Location"] == "/dashboard", repr(target)


def test_login_follows_a_local_next(client, world):
    r = client.post("/login?next=" + quote(f"/campaigns/{world['campaign_a']}?lang=en", safe=""),
                    data={"email": world["lead_a"], "password": PASSWORD})
    assert r.headers["Location"] == f"/campaigns/{world['campaign_a']}?lang=en"


def test_probe_cases_from_the_report(client, world):
    # The exact requests of the probe: a tab gave "//evil.example", a newline a 500.
    for raw in ("/%09/evil.example", "/%0a/x"):
        r = client.post(f"/login?next={raw}", data={"email": world["lead_a"], "password": PASSWORD})
        assert r.status_code == 302 and r.headers["Location"] == "/dashboard", raw
