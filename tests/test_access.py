"""Accounts and per-organisation authorisation."""

from __future__ import annotations

import pytest
from conftest import PASSWORD, login
from sqlalchemy import select

from diagnosis.extensions import db
from diagnosis.models import Campaign, Organisation, User


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


def test_anonymous_is_sent_to_login(client, world):
    r = client.get(f"/campaigns/{world['campaign_a']}")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


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
