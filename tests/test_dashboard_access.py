"""Authorisation of every campaign page by guessed ids, and CSRF on every dashboard form."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, login
from dashboard_helpers import comment_ids, fill

from diagnosis.extensions import db
from diagnosis.interviews import add_interview
from diagnosis.models import Campaign, Comment


@pytest.fixture
def both(app, world):
    """Both organisations with responses, comments and an interview note."""
    with app.app_context():
        fill(world["campaign_a"], 10, department="sales", comment="Aの秘密のコメント")
        fill(world["campaign_b"], 10, department="sales", comment="Bの秘密のコメント")
        note = add_interview(db.session.get(Campaign, world["campaign_b"]), "Bのヒアリング",
                             "Bの秘密の話です。")
        db.session.commit()
        world["comment_a"] = comment_ids(world["campaign_a"])[0]
        world["comment_b"] = comment_ids(world["campaign_b"])[0]
        world["interview_b"] = note.id
    return world


GETS = [
    "/campaigns/{campaign_b}", "/campaigns/{campaign_b}/comments",
    "/campaigns/{campaign_b}/interviews", "/campaigns/{campaign_b}/interviews/{interview_b}",
    "/campaigns/{campaign_a}/interviews/{interview_b}",
    "/campaigns/{campaign_b}/export/responses.csv", "/campaigns/{campaign_b}/export/diagnosis.csv",
    "/campaigns/{campaign_b}/report.pdf", "/campaigns/{campaign_b}/report.pdf?lang=en",
    "/campaigns/{campaign_b}/qr.svg", "/campaigns/{campaign_b}/import",
]
POSTS = [
    ("/campaigns/{campaign_b}/comments/{comment_b}/correct", {"label": "purpose"}),
    # B's comment reached through A's campaign id: still refused
    ("/campaigns/{campaign_a}/comments/{comment_b}/correct", {"label": "purpose"}),
    ("/campaigns/{campaign_b}/note", {"note": "x"}),
    ("/campaigns/{campaign_b}/interviews", {"title": "x", "text": "y"}),
    ("/campaigns/{campaign_b}/close", {}),
    ("/campaigns/{campaign_b}/import", {}),
]


@pytest.mark.parametrize("path", GETS)
@pytest.mark.parametrize("who", ["lead_a", "consultant"])
def test_other_organisation_pages_are_not_readable(client, both, path, who):
    login(client, both[who])
    r = client.get(path.format(**both))
    assert r.status_code in (403, 404)
    body = r.get_data(as_text=True)
    assert "株式会社ビー" not in body and "Bの秘密" not in body and not r.data.startswith(b"%PDF")


@pytest.mark.parametrize("path,data", POSTS)
@pytest.mark.parametrize("who", ["lead_a", "consultant"])
def test_other_organisation_forms_are_refused(app, client, both, path, data, who):
    login(client, both[who])
    r = client.post(path.format(**both), data=data)
    assert r.status_code in (403, 404)
    with app.app_context():
        assert db.session.get(Comment, both["comment_b"]).corrected_label is None
        assert db.session.get(Campaign, both["campaign_b"]).consultant_note is None
        assert db.session.get(Campaign, both["campaign_b"]).closed_at is None


@pytest.mark.parametrize("path", [p for p in GETS if "{campaign_b}" in p])
def test_anonymous_is_sent_to_login(client, both, path):
    r = client.get(path.format(**both))
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_own_organisation_pages_are_readable(client, both):
    login(client, both["lead_a"])
    for path in ("/campaigns/{campaign_a}", "/campaigns/{campaign_a}/comments",
                 "/campaigns/{campaign_a}/interviews",
                 "/campaigns/{campaign_a}/export/diagnosis.csv", "/campaigns/{campaign_a}/qr.svg"):
        assert client.get(path.format(**both)).status_code == 200, path
    # Per-person rows are for the consultant only: the DX lead reads aggregates.
    assert client.get("/campaigns/{campaign_a}/export/responses.csv".format(**both)).status_code == 403
    client.post("/logout")
    login(client, both["consultant"])
    assert client.get("/campaigns/{campaign_a}/export/responses.csv".format(**both)).status_code == 200


# ------------------------------------------------------------------ CSRF


@pytest.fixture
def csrf_app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def _token(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def _login_with_token(client, email):
    token = _token(client, "/login")
    r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302


@pytest.mark.usefixtures("csrf_app_config")
def test_every_dashboard_form_needs_a_csrf_token(app, client, both):
    assert client.post("/login", data={"email": both["consultant"],
                                       "password": PASSWORD}).status_code == 400
    assert client.get("/dashboard").status_code == 302  # not logged in
    _login_with_token(client, both["consultant"])
    a = both["campaign_a"]
    forms = [
        (f"/campaigns/{a}/comments/{both['comment_a']}/correct", {"label": "purpose"}),
        (f"/campaigns/{a}/note", {"note": "x"}),
        (f"/campaigns/{a}/interviews", {"title": "x", "text": "y。"}),
        (f"/campaigns/{a}/close", {}),
        (f"/campaigns/{a}/import", {}),
        ("/orgs/new", {"name": "x", "employee_count": "5"}),
        (f"/orgs/{both['org_a']}/campaigns/new", {"name": "x", "slug": "xyz"}),
        (f"/orgs/{both['org_a']}/users/new", {"email": "n@example.com", "name": "n",
                                               "password": "long-enough-pw"}),
        ("/logout", {}),
    ]
    with client.session_transaction() as s:
        s["pending_login"] = {"e": both["consultant"], "n": "0", "x": 0, "p": "0"}
    forms.append(("/login/code", {"code": "123456"}))
    for path, data in forms:
        r = client.post(path, data=data)
        assert r.status_code == 400, path
    with app.app_context():
        assert db.session.get(Comment, both["comment_a"]).corrected_label is None
        assert db.session.get(Campaign, a).consultant_note is None
    # with the page's token the same correction goes through
    token = _token(client, f"/campaigns/{a}/comments")
    r = client.post(f"/campaigns/{a}/comments/{both['comment_a']}/correct",
                    data={"label": "purpose", "csrf_token": token})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Comment, both["comment_a"]).corrected_label == "purpose"
