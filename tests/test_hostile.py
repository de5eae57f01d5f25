"""Hostile input: markup in every free-text field and in names is escaped on every page."""

from __future__ import annotations

import re

import pytest
from conftest import login
from dashboard_helpers import fill
from sqlalchemy import select

from diagnosis.extensions import db
from diagnosis.interviews import add_interview
from diagnosis.models import Campaign, Comment, Organisation, User

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def hostile(app, world):
    with app.app_context():
        org = db.session.get(Organisation, world["org_a"])
        org.name = "悪意社" + XSS
        campaign = db.session.get(Campaign, world["campaign_a"])
        campaign.name = "wave" + XSS
        campaign.consultant_note = "note" + XSS
        db.session.scalars(select(User).where(User.email == world["lead_a"])).one().name = XSS
        fill(campaign.id, 12, comment="使い方がわからない" + XSS, department="sales")
        add_interview(campaign, "ヒアリング" + XSS, "部長が使っていない。" + XSS,
                      interviewee="課長" + XSS)
        for c in db.session.scalars(select(Comment).where(Comment.label.is_(None))):
            c.label, c.confidence = "leadership", 0.8
        db.session.commit()
    return world


def assert_escaped(html: str) -> None:
    assert "<script>alert" not in html
    assert "<img src=x onerror" not in html
    assert "&lt;script&gt;" in html


def test_survey_free_text_with_markup_is_stored_as_text_and_escaped_on_the_form(client, world):
    html = client.get(f"/s/{world['token_a']}").get_data(as_text=True)
    nonce = re.search(r'name="nonce" type="hidden" value="([^"]+)"', html).group(1)
    r = client.post(f"/s/{world['token_a']}", data={"nonce": nonce, "reasons": XSS})
    assert r.status_code == 400  # required items missing: the form comes back with the text
    body = r.get_data(as_text=True)
    assert "<script>alert" not in body and "&lt;script&gt;" in body


@pytest.mark.parametrize("who", ["lead_a", "consultant"])
def test_every_page_escapes_names_comments_and_notes(client, hostile, who):
    login(client, hostile[who])
    pages = ["/dashboard", f"/orgs/{hostile['org_a']}", f"/campaigns/{hostile['campaign_a']}",
             f"/campaigns/{hostile['campaign_a']}/comments",
             f"/campaigns/{hostile['campaign_a']}/interviews"]
    for path in pages:
        r = client.get(path)
        assert r.status_code == 200, path
        assert_escaped(r.get_data(as_text=True))


def test_path_traversal_in_static_files_is_refused(client):
    for path in ("/static/../config.py", "/static/..%2fconfig.py", "/static/%2e%2e/__init__.py",
                 "/static//etc/passwd"):
        r = client.get(path, follow_redirects=True)
        assert r.status_code == 404, path
        assert b"SECRET_KEY" not in r.data and b"root:" not in r.data
