"""Accounts, per-organisation authorisation of every campaign page by guessed ids, and CSRF on
every dashboard form."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, login
from dashboard_helpers import comment_ids, fill
from sqlalchemy import select

from diagnosis.extensions import db
from diagnosis.interviews import add_interview
from diagnosis.store.models import Campaign, Comment, Organisation, User


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
    "/campaigns/{campaign_b}/review", "/campaigns/{campaign_b}/review?at={comment_b}",
]
POSTS = [
    ("/campaigns/{campaign_b}/comments/{comment_b}/correct", {"label": "purpose"}),
    # B's comment reached through A's campaign id: still refused
    ("/campaigns/{campaign_a}/comments/{comment_b}/correct", {"label": "purpose"}),
    ("/campaigns/{campaign_b}/note", {"note": "x"}),
    ("/campaigns/{campaign_b}/interviews", {"title": "x", "text": "y"}),
    ("/campaigns/{campaign_b}/close", {}),
    ("/campaigns/{campaign_b}/import", {}),
    ("/campaigns/{campaign_b}/review/{comment_b}", {"label": "purpose"}),
    ("/campaigns/{campaign_a}/review/{comment_b}", {"label": "purpose"}),
    ("/campaigns/{campaign_b}/review/undo", {}),
    ("/campaigns/{campaign_b}/review/adapt", {}),
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


def test_own_review_queue_never_shows_a_comment_asked_for_by_another_organisations_id(client, both):
    login(client, both["lead_a"])
    body = client.get("/campaigns/{campaign_a}/review?at={comment_b}".format(**both)).get_data(as_text=True)
    assert "Bの秘密" not in body and f'data-comment-id="{both["comment_b"]}"' not in body


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


# ------------------------------------------------------------------ accounts


def test_login_logout_and_cookie_flags(app, client, world):
    r = client.post("/login", data={"email": world["lead_a"], "password": "wrong-password"},
                    follow_redirects=True)
    assert r.status_code == 200
    assert "メールアドレスまたはパスワードが正しくありませんでした" in r.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302
    r = login(client, world["lead_a"])
    assert r.status_code == 302
    cookie = r.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/dashboard").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/dashboard").status_code == 302  # back to login


def test_passwords_are_hashed(app, world):
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == world["lead_a"])).one()
        assert PASSWORD not in user.password_hash and user.check_password(PASSWORD)


def test_open_redirect_refused(client, world):
    r = client.post("/login?next=//evil.example/x",
                    data={"email": world["lead_a"], "password": PASSWORD})
    assert r.headers["Location"] == "/dashboard"


@pytest.mark.parametrize("path", [
    "/orgs/{org_b}", "/campaigns/{campaign_b}", "/orgs/{org_b}/campaigns/new",
    "/orgs/{org_b}/users/new",
])
def test_dx_lead_cannot_see_another_organisation(client, world, path):
    login(client, world["lead_a"])
    r = client.get(path.format(**world))
    assert r.status_code in (403, 404)
    assert "株式会社ビー" not in r.get_data(as_text=True)


def test_dx_lead_sees_own_organisation_only(client, world):
    login(client, world["lead_a"])
    home = client.get("/dashboard").get_data(as_text=True)
    assert "株式会社エー" in home and "株式会社ビー" not in home
    page = client.get(f"/campaigns/{world['campaign_a']}")
    assert page.status_code == 200
    assert f"/s/{world['token_a']}" in page.get_data(as_text=True)
    # DX leads are not consultants: no creating organisations or closing waves
    assert client.get("/orgs/new").status_code == 403
    assert client.post(f"/campaigns/{world['campaign_a']}/close").status_code == 403


def test_consultant_sees_only_assigned_organisations(client, world):
    login(client, world["consultant"])
    assert client.get(f"/orgs/{world['org_a']}").status_code == 200
    assert client.get(f"/orgs/{world['org_b']}").status_code == 404
    assert client.get(f"/campaigns/{world['campaign_b']}").status_code == 404
    assert client.post(f"/campaigns/{world['campaign_b']}/close").status_code == 404


def test_consultant_creates_org_campaign_and_dx_lead_in_the_web_ui(app, client, world):
    login(client, world["consultant"])
    r = client.post("/orgs/new", data={"name": "合同会社シー", "employee_count": "9",
                                       "rollout_date": "2026-10-01", "ai_tool": "ChatGPT"})
    assert r.status_code == 302
    with app.app_context():
        org = db.session.scalars(select(Organisation).where(Organisation.name == "合同会社シー")).one()
        org_id = org.id
    r = client.post(f"/orgs/{org_id}/campaigns/new", data={
        "name": "第1回", "slug": "c-2026-12", "questionnaire_id": "ai-adoption",
        "opens_on": "2026-01-01", "closes_on": "", "languages": "ja,en"})
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        campaign = db.session.scalars(select(Campaign).where(Campaign.slug == "c-2026-12")).one()
        assert len(campaign.public_token) >= 20
        assert f"/s/{campaign.public_token}" in page
    # duplicate slug → a field error, not a 500
    r = client.post(f"/orgs/{org_id}/campaigns/new", data={
        "name": "again", "slug": "c-2026-12", "questionnaire_id": "ai-adoption",
        "opens_on": "2026-01-01", "languages": "ja"})
    assert r.status_code == 200 and "already used" in r.get_data(as_text=True)
    r = client.post(f"/orgs/{org_id}/users/new", data={
        "email": "lead-c@example.com", "name": "C lead", "password": "long-enough-pw"})
    assert r.status_code == 302
    client.post("/logout")
    login(client, "lead-c@example.com", "long-enough-pw")
    assert client.get(f"/orgs/{org_id}").status_code == 200
    assert client.get(f"/orgs/{world['org_a']}").status_code == 404


def test_consultant_closes_a_wave(app, client, world):
    login(client, world["consultant"])
    assert client.post(f"/campaigns/{world['campaign_a']}/close").status_code == 302
    assert client.get(f"/s/{world['token_a']}").status_code == 410


def test_login_attempts_are_rate_limited_per_address(app, client, world):
    from diagnosis.ratelimit import limiter

    limiter.reset()
    app.config["LOGIN_ATTEMPTS_PER_MINUTE"] = 3
    try:
        for _ in range(3):
            client.post("/login", data={"email": "nobody@example.com", "password": "x" * 12})
        r = login(client, world["lead_a"])
        assert r.status_code == 429 and "アクセスが集中しています" in r.get_data(as_text=True)
        other = app.test_client()
        r = other.post("/login", data={"email": world["lead_a"], "password": PASSWORD},
                       environ_base={"REMOTE_ADDR": "198.51.100.7"})
        assert r.status_code == 302
    finally:
        limiter.reset()
