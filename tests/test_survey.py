"""The employee survey: rendering, validation, storage, double submit, states, anonymity."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from diagnosis.extensions import db
from diagnosis.store.models import Campaign, Response, UsedNonce


def valid_answers(**over):
    data = {
        "usage": "monthly",
        "pu_useful": "4", "pu_usecase": "2", "pu_goal": "dk", "pu_nofit": "2",
        "le_exec": "3", "le_manager": "2", "le_policy": "1", "le_fringe": "4",
        "su_skill": "2", "su_training": "1", "su_ask": "2", "su_hard": "4",
        "reasons": "使い方がよくわからないし、聞ける人もいない。",
        "help_wanted": "月1回の研修があれば使うと思います。",
        "department": "sales", "role": "staff", "age_band": "40s", "tenure": "prefer_not",
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def get_form(client, token, lang=None):
    r = client.get(f"/s/{token}" + (f"?lang={lang}" if lang else ""))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    nonce = re.search(r'name="nonce" type="hidden" value="([^"]+)"', html).group(1)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    return html, nonce, csrf.group(1) if csrf else None


def count(model, **where):
    stmt = select(func.count()).select_from(model)
    for k, v in where.items():
        stmt = stmt.where(getattr(model, k) == v)
    return db.session.scalar(stmt)


def test_form_renders_in_japanese_by_default_with_english_switch(client, world):
    html, _, _ = get_form(client, world["token_a"])
    assert 'lang="ja"' in html
    assert "生成AI活用に関するアンケート" in html
    assert "とてもそう思う" in html and "回答しない" in html
    assert f'/s/{world["token_a"]}?lang=en' in html  # visible switch
    html_en, _, _ = get_form(client, world["token_a"], "en")
    assert 'lang="en"' in html_en and "Survey on using generative AI at work" in html_en
    assert "Strongly agree" in html_en and "Prefer not to answer" in html_en
    # accessibility: fieldsets with legends, labels tied to inputs
    assert html.count("<fieldset") >= 13 and "<legend>" in html
    assert 'for="reasons"' in html and 'id="reasons"' in html


def test_submit_stores_one_response_and_redirects_to_thanks(app, client, world):
    _, nonce, _ = get_form(client, world["token_a"])
    r = client.post(f"/s/{world['token_a']}", data=valid_answers(nonce=nonce),
                    environ_base={"REMOTE_ADDR": "203.0.113.9", "HTTP_USER_AGENT": "Secret/1.0"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/thanks?lang=ja")
    thanks = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "ご回答ありがとうございました" in thanks
    with app.app_context():
        resp = db.session.scalars(select(Response)).one()
        assert resp.answers["usage"] == "monthly"
        assert resp.answers["pu_useful"] == 4 and resp.answers["pu_goal"] == "dk"
        assert resp.department == "sales" and resp.age_band == "40s" and resp.tenure is None
        # stored as the UTC date (models.today), whatever the machine's time zone (JST 00–09 h)
        assert resp.submitted_on == dt.datetime.now(dt.UTC).date()
        assert resp.classification_status == "pending"
        assert sorted(c.item_id for c in resp.comments) == ["help_wanted", "reasons"]
        # anonymity: nothing about the client is stored anywhere in the row
        row = " ".join(str(v) for v in (resp.answers, resp.segments(), resp.lang, resp.source))
        assert "203.0.113.9" not in row and "Secret/1.0" not in row
        columns = {c.name for c in Response.__table__.columns}
        assert not columns & {"ip", "ip_address", "user_agent", "session_id", "created_at"}


def test_double_submit_and_refresh_store_one_response(app, client, world):
    _, nonce, _ = get_form(client, world["token_a"])
    data = valid_answers(nonce=nonce)
    first = client.post(f"/s/{world['token_a']}", data=data)
    second = client.post(f"/s/{world['token_a']}", data=data)  # double click / refresh
    assert first.status_code == second.status_code == 302
    assert "/thanks" in second.headers["Location"]
    with app.app_context():
        assert count(Response) == 1 and count(UsedNonce) == 1
    # a fresh form gets a fresh nonce and stores a second response
    _, nonce2, _ = get_form(client, world["token_a"])
    client.post(f"/s/{world['token_a']}", data=valid_answers(nonce=nonce2))
    with app.app_context():
        assert count(Response) == 2


def test_forged_or_foreign_nonce_is_rejected(app, client, world):
    _, nonce_b, _ = get_form(client, world["token_b"])
    r = client.post(f"/s/{world['token_a']}", data=valid_answers(nonce=nonce_b))
    assert r.status_code == 400
    assert "フォームが正しくありません" in r.get_data(as_text=True)
    r = client.post(f"/s/{world['token_a']}", data=valid_answers(nonce="forged"))
    assert r.status_code == 400
    with app.app_context():
        assert count(Response) == 0


@pytest.mark.parametrize("field, value, message", [
    ("usage", None, "この項目は必須です。"),
    ("pu_useful", None, "この項目は必須です。"),
    ("usage", "sometimes", "選択肢から選んでください。"),
    ("pu_useful", "7", "選択肢から選んでください。"),
    ("pu_useful", "dk", "選択肢から選んでください。"),  # no don't-know on this item
    ("department", "board", "選択肢から選んでください。"),
    ("reasons", "あ" * 1001, "1000文字以内で入力してください（現在1001文字）。"),
    ("reasons", "bad\x00byte", "使用できない制御文字"),
])
def test_validation_errors_are_shown_next_to_the_field_and_keep_answers(
        app, client, world, field, value, message):
    _, nonce, _ = get_form(client, world["token_a"])
    r = client.post(f"/s/{world['token_a']}", data=valid_answers(nonce=nonce, **{field: value}))
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert message in html
    assert f'id="{field}-error"' in html
    assert "入力内容を確認してください" in html
    # nothing is lost: the other answers are still filled in
    assert "月1回の研修があれば使うと思います。" in html
    assert re.search(r'value="monthly"[^>]*checked|checked[^>]*value="monthly"', html) or field == "usage"
    with app.app_context():
        assert count(Response) == 0


def test_english_errors(client, world):
    _, nonce, _ = get_form(client, world["token_a"], "en")
    r = client.post(f"/s/{world['token_a']}", data=valid_answers(nonce=nonce, usage=None, lang="en"))
    assert "This question needs an answer." in r.get_data(as_text=True)


@pytest.fixture
def csrf_client(app_config, tmp_path):
    from diagnosis import create_app

    app_config["WTF_CSRF_ENABLED"] = True
    app = create_app(app_config)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        from diagnosis.workspace import create_campaign, create_organisation

        org = create_organisation("CSRF社", 50)
        token = create_campaign(org, "csrf", "csrf", opens_on=dt.date(2026, 1, 1)).public_token
        db.session.commit()
    yield app, app.test_client(), token
    with app.app_context():
        db.engine.dispose()


def test_csrf_missing_or_invalid_token_rejected_answers_kept(csrf_client):
    app, client, token = csrf_client
    _, nonce, csrf = get_form(client, token)
    assert csrf
    r = client.post(f"/s/{token}", data=valid_answers(nonce=nonce))
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "フォームの有効期限が切れました" in html
    assert "月1回の研修があれば使うと思います。" in html
    r = client.post(f"/s/{token}", data=valid_answers(nonce=nonce, csrf_token="garbage"))
    assert r.status_code == 400
    with app.app_context():
        assert count(Response) == 0
    r = client.post(f"/s/{token}", data=valid_answers(nonce=nonce, csrf_token=csrf))
    assert r.status_code == 302
    with app.app_context():
        assert count(Response) == 1
    # dashboard forms are protected too (global CSRFProtect)
    r = client.post("/login", data={"email": "x@example.com", "password": "whatever-long"})
    assert r.status_code == 400


def test_unknown_token_is_a_404_page(client, world):
    r = client.get("/s/not-a-real-token")
    assert r.status_code == 404
    assert "ページが見つかりません" in r.get_data(as_text=True)


def test_closed_and_scheduled_campaigns_show_friendly_pages(app, client, world):
    with app.app_context():
        c = db.session.get(Campaign, world["campaign_a"])
        c.closes_on = dt.date.today() - dt.timedelta(days=1)
        db.session.commit()
    r = client.get(f"/s/{world['token_a']}")
    assert r.status_code == 410
    assert "このアンケートは終了しました" in r.get_data(as_text=True)
    r = client.post(f"/s/{world['token_a']}", data=valid_answers(nonce="x"))
    assert r.status_code == 410
    with app.app_context():
        c = db.session.get(Campaign, world["campaign_a"])
        c.closes_on = None
        c.opens_on = dt.date.today() + dt.timedelta(days=3)
        db.session.commit()
    r = client.get(f"/s/{world['token_a']}?lang=en")
    assert r.status_code == 200
    assert "This survey has not opened yet" in r.get_data(as_text=True)
    with app.app_context():
        assert count(Response) == 0


def test_oversized_body_is_rejected_with_413(client, world):
    r = client.post(f"/s/{world['token_a']}", data={"reasons": "あ" * (4 * 1024 * 1024)})
    assert r.status_code == 413
    assert "送信内容が大きすぎます" in r.get_data(as_text=True)
