"""Survey abuse (issue 16): floods, limits shared across processes, personal links, sane rates."""

from __future__ import annotations

import csv
import hashlib
import re
from urllib.parse import urlparse

import pytest
from conftest import PASSWORD, login
from dashboard_helpers import fill
from sqlalchemy import func, inspect, select
from test_survey import valid_answers

from diagnosis import create_app
from diagnosis.extensions import db
from diagnosis.ratelimit import DatabaseStorage, client_address
from diagnosis.store.models import Campaign, Invitation, RateLimitCounter, Response

NONCE = re.compile(r'name="nonce" type="hidden" value="([^"]+)"')
KEPT_ANSWER = "月1回の研修があれば使うと思います。"


def answers(**over):
    """The survey's valid answers with the department as the only segment."""
    return valid_answers(role=None, age_band=None, tenure=None,
                         **{"help_wanted": KEPT_ANSWER, **over})


def open_form(client, path, addr):
    """GET the survey; (status, nonce or None, response)."""
    r = client.get(path, environ_base={"REMOTE_ADDR": addr})
    m = NONCE.search(r.get_data(as_text=True))
    return r.status_code, (m.group(1) if m else None), r


def answer(client, path, addr, **over):
    """GET the form and POST it, as a script would; returns the POST response."""
    _, nonce, _ = open_form(client, path, addr)
    return client.post(path, data=answers(nonce=nonce or "none", **over),
                       environ_base={"REMOTE_ADDR": addr})


def stored(app, campaign_id=None) -> int:
    with app.app_context():
        stmt = select(func.count()).select_from(Response)
        if campaign_id is not None:
            stmt = stmt.where(Response.campaign_id == campaign_id)
        return db.session.scalar(stmt)


def assert_polite_429(r, *texts):
    assert r.status_code == 429
    assert 0 < int(r.headers["Retry-After"]) <= 3600
    html = r.get_data(as_text=True)
    assert "Traceback" not in html
    for t in texts:
        assert t in html
    return html


# ------------------------------------------------------------------ the finding, replayed


@pytest.mark.redis
def test_flood_from_one_client_stores_a_handful_and_others_still_get_through(app, client, world):
    """The finding: 70 GET+POST pairs from one client in under two seconds stored 60 responses."""
    path, flooder = f"/s/{world['token_a']}", "203.0.113.50"
    statuses = [answer(client, path, flooder).status_code for _ in range(70)]
    assert stored(app) <= 5
    assert statuses[:3] == [302, 302, 302] and set(statuses[3:]) == {429}
    # the refusal is polite, bilingual, says how long to wait, and keeps the answers
    r = answer(client, path, flooder)
    html = assert_polite_429(r, "短時間に送信が続いたため", "回答はこのページに残っています", KEPT_ANSWER)
    assert re.search(r"約\d+分後", html)
    r = answer(client, path + "?lang=en", flooder, lang="en")
    assert_polite_429(r, "Several answers were sent in a short time", "Your answers are still on this page",
                      KEPT_ANSWER)
    # a different client (another address, no cookie) is not refused
    other = app.test_client()
    assert answer(other, path, "192.0.2.77").status_code == 302
    # nor are 30 colleagues behind the flooder's own office NAT address, each in their own browser
    colleagues = [answer(app.test_client(), path, flooder).status_code for _ in range(30)]
    assert colleagues == [302] * 30
    assert stored(app) == 3 + 1 + 30


@pytest.mark.redis
def test_flood_without_cookies_stores_nothing_and_soon_hits_the_address_limit(app, world):
    app.config["SURVEY_FORMS_PER_ADDRESS"] = 10
    path, bot_addr = f"/s/{world['token_a']}", "203.0.113.60"
    bot = app.test_client(use_cookies=False)
    posts, gets = [], []
    for _ in range(15):
        status, nonce, _ = open_form(bot, path, bot_addr)
        gets.append(status)
        r = bot.post(path, data=answers(nonce=nonce or "none"), environ_base={"REMOTE_ADDR": bot_addr})
        posts.append(r.status_code)
    assert stored(app) == 0
    # without the cookie its nonce was issued to, a submission is refused with the answers kept
    assert posts[0] == 400
    first = gets.index(429)
    assert first <= 10 and set(gets[first:]) == {429}
    _, _, r = open_form(bot, path, bot_addr)
    assert_polite_429(r, "短時間に何度も開かれました")
    # someone else in another office opens and answers normally
    assert answer(app.test_client(), path, "192.0.2.80").status_code == 302


@pytest.mark.redis
def test_flood_that_throws_away_cookies_stops_at_the_address_limit(app, world):
    app.config["SURVEY_SUBMISSIONS_PER_ADDRESS"] = 5
    path, addr = f"/s/{world['token_a']}", "203.0.113.70"
    statuses = [answer(app.test_client(), path, addr).status_code for _ in range(20)]
    assert statuses[:5] == [302] * 5 and set(statuses[5:]) == {429}
    assert stored(app) == 5
    assert answer(app.test_client(), path, "192.0.2.81").status_code == 302


@pytest.mark.redis
def test_default_address_limit_follows_headcount(app, world):
    """Org B has 8 employees: the per-address floor (30) still lets a whole office through."""
    path, addr = f"/s/{world['token_b']}", "203.0.113.80"
    statuses = [answer(app.test_client(), path, addr).status_code for _ in range(31)]
    assert statuses[:30] == [302] * 30 and statuses[30] == 429


@pytest.mark.redis
def test_double_click_does_not_use_up_the_browser_limit(app, client, world):
    path, addr = f"/s/{world['token_a']}", "203.0.113.90"
    _, nonce, _ = open_form(client, path, addr)
    for _ in range(5):  # a double click, then refreshes of the POST
        r = client.post(path, data=answers(nonce=nonce), environ_base={"REMOTE_ADDR": addr})
        assert r.status_code == 302 and "/thanks" in r.headers["Location"]
    assert stored(app) == 1
    assert [answer(client, path, addr).status_code for _ in range(2)] == [302, 302]


def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(app_config, app, world):
    path = f"/s/{world['token_a']}"
    app.config["SURVEY_SUBMISSIONS_PER_ADDRESS"] = 1
    statuses = []
    for i in range(3):
        c = app.test_client()
        _, nonce, _ = open_form(c, path, "10.0.0.1")
        statuses.append(c.post(path, data=answers(nonce=nonce), environ_base={"REMOTE_ADDR": "10.0.0.1"},
                               headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code)
    assert statuses == [302, 429, 429]  # a client cannot pick its own address
    proxied = create_app(dict(app_config, PROXY_FIX_X_FOR=1, SURVEY_SUBMISSIONS_PER_ADDRESS=1))
    for i in range(3):  # behind one trusted proxy, each employee's own address counts
        c = proxied.test_client()
        r = c.get(path, environ_base={"REMOTE_ADDR": "10.0.0.1"}, headers={"X-Forwarded-For": f"198.51.100.{i}"})
        nonce = NONCE.search(r.get_data(as_text=True)).group(1)
        r = c.post(path, data=answers(nonce=nonce), environ_base={"REMOTE_ADDR": "10.0.0.1"},
                   headers={"X-Forwarded-For": f"198.51.100.{i}"})
        assert r.status_code == 302
    with proxied.app_context():
        db.engine.dispose()


def test_ipv6_clients_are_limited_by_their_64(app):
    def key(addr):
        with app.test_request_context(environ_base={"REMOTE_ADDR": addr}):
            return client_address()

    assert key("2001:db8:1:2::5") == key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert key("2001:db8:1:3::5") != key("2001:db8:1:2::5")
    assert key("::ffff:192.0.2.1") == "192.0.2.1" == key("192.0.2.1")


# ------------------------------------------------------------------ shared across processes


@pytest.mark.redis
def test_limits_are_shared_by_two_processes_on_one_database(app_config, app, world):
    """Two app instances (two gunicorn workers) on one SQLite file count together."""
    other = create_app(app_config)
    path, addr = f"/s/{world['token_a']}", "203.0.113.100"
    for a in (app, other):
        a.config["SURVEY_SUBMISSIONS_PER_ADDRESS"] = 2
        a.config["LOGIN_ATTEMPTS_PER_MINUTE"] = 3
    try:
        assert answer(app.test_client(), path, addr).status_code == 302
        assert answer(other.test_client(), path, addr).status_code == 302
        assert answer(app.test_client(), path, addr).status_code == 429
        assert answer(other.test_client(), path, addr).status_code == 429
        # login attempts: two on one worker, one on the other, and the fourth is refused anywhere
        env = {"REMOTE_ADDR": "203.0.113.101"}
        for a in (app, app, other):
            r = a.test_client().post("/login", data={"email": world["lead_a"], "password": "wrong-password"},
                                     environ_base=env)
            assert r.status_code == 302 and r.headers["Location"].endswith("/login/code")
        r = other.test_client().post("/login", data={"email": world["lead_a"], "password": PASSWORD},
                                     environ_base=env)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) <= 60
        assert "アクセスが集中しています" in r.get_data(as_text=True)
    finally:
        with other.app_context():
            db.engine.dispose()


def test_memory_store_is_per_process_which_is_why_it_is_not_the_default(app_config, app, world):
    assert app.config["RATELIMIT_STORAGE_URL"] == "database"
    one = create_app(dict(app_config, RATELIMIT_STORAGE_URL="memory://", SURVEY_SUBMISSIONS_PER_ADDRESS=1))
    two = create_app(dict(app_config, RATELIMIT_STORAGE_URL="memory://", SURVEY_SUBMISSIONS_PER_ADDRESS=1))
    path, addr = f"/s/{world['token_a']}", "203.0.113.110"
    try:
        assert answer(one.test_client(), path, addr).status_code == 302
        assert answer(one.test_client(), path, addr).status_code == 429
        assert answer(two.test_client(), path, addr).status_code == 302  # the other process never knew
    finally:
        for a in (one, two):
            with a.app_context():
                db.engine.dispose()


def test_database_store_windows_expire_and_are_swept(app):
    now = [1000.0]
    with app.app_context():
        store = DatabaseStorage(lambda: db.engine, clock=lambda: now[0])
        assert [store.incr("k", 60) for _ in range(3)] == [1, 2, 3]
        assert store.get("k") == 3 and store.get_expiry("k") == 1060.0
        store.incr("short", 10)
        now[0] = 1061.0  # the window closed: counting starts again in a new one
        assert store.get("k") == 0
        assert store.incr("k", 60) == 1 and store.get_expiry("k") == 1121.0
        now[0] = 1200.0
        store.incr("fresh", 60)  # the first hit of a process sweeps expired rows
        assert set(db.session.scalars(select(RateLimitCounter.key))) == {"fresh"}
        assert store.check()
        store.clear("fresh")
        assert store.get("fresh") == 0


def test_a_broken_store_lets_employees_through_and_says_so(app, client, world, caplog):
    from sqlalchemy import text

    with app.app_context():
        db.session.execute(text("DROP TABLE rate_limit"))
        db.session.commit()
    with caplog.at_level("INFO", logger="teichaku.events"):
        assert answer(client, f"/s/{world['token_a']}", "203.0.113.8").status_code == 302
    assert stored(app) == 1
    assert any(r.getMessage() == "ratelimit_store_error" for r in caplog.records)


@pytest.mark.redis
def test_store_holds_neither_the_address_nor_the_browser_token(app, client, world, backend, request):
    path, addr = f"/s/{world['token_a']}", "203.0.113.9"
    assert answer(client, path, addr).status_code == 302
    with client.session_transaction() as sess:
        token = sess["survey_browser"]
    with app.app_context():
        if backend == "redis":
            with request.getfixturevalue("redis_server").client() as r:
                keys = [k.decode() for k in r.keys("*")]
        else:
            keys = db.session.scalars(select(RateLimitCounter.key)).all()
        assert len(keys) == 4  # form and submission, per browser and per address
        for key in keys:
            assert addr not in key and token not in key
        response = db.session.scalars(select(Response)).one()
        row = repr((response.answers, response.segments(), response.lang, response.source))
        assert addr not in row and token not in row and "survey_browser" not in row


# ------------------------------------------------------------------ personal links


def make_links(app, tmp_path, slug, n, *extra):
    out = tmp_path / f"links-{slug}-{n}.csv"
    result = app.test_cli_runner().invoke(args=["invite", slug, "-n", str(n), "-o", str(out), *extra])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["number"] for r in rows] == [str(i) for i in range(1, n + 1)]
    assert out.stat().st_mode & 0o077 == 0  # each link lets someone answer: owner-only file
    return [urlparse(r["link"]).path for r in rows], result.output


def test_invitation_link_works_once_and_is_refused_politely_after(app, client, world, tmp_path):
    paths, output = make_links(app, tmp_path, "a-2026", 3, "--invitation-only")
    assert "3 link(s) created, 3 issued, 0 used; accepts personal links only" in output
    first = paths[0]
    status, nonce_tab1, r = open_form(client, first, "203.0.113.120")
    html = r.get_data(as_text=True)
    assert status == 200 and "あなた専用の回答リンク" in html
    assert f'action="{first}"' in html and f"{first}?lang=en" in html
    _, nonce_tab2, _ = open_form(client, first, "203.0.113.120")  # a second tab
    r = client.post(first, data=answers(nonce=nonce_tab1))
    assert r.status_code == 302 and "/thanks" in r.headers["Location"]
    assert client.post(first, data=answers(nonce=nonce_tab1)).status_code == 302  # double click
    assert stored(app) == 1
    r = client.post(first, data=answers(nonce=nonce_tab2))  # the other tab: the link is spent
    assert r.status_code == 410 and "この回答用リンクはすでに使われています" in r.get_data(as_text=True)
    r = client.get(first)
    assert r.status_code == 410 and "回答内容がだれのものかは、担当者にもわかりません" in r.get_data(as_text=True)
    r = client.get(first + "?lang=en")
    assert r.status_code == 410 and "This link has already been used" in r.get_data(as_text=True)
    assert stored(app) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Invitation)
                                 .where(Invitation.used.is_(True))) == 1
    assert client.get("/i/not-a-real-invitation").status_code == 404


def test_invitation_only_campaign_refuses_the_public_link(app, client, world, tmp_path):
    paths, _ = make_links(app, tmp_path, "a-2026", 1, "--invitation-only")
    public = f"/s/{world['token_a']}"
    r = client.get(public)
    assert r.status_code == 403 and "個人用のリンクからご回答ください" in r.get_data(as_text=True)
    r = client.get(public + "?lang=en")
    assert "Please answer this survey through your personal link" in r.get_data(as_text=True)
    assert client.post(public, data=answers(nonce="x")).status_code == 403
    assert stored(app) == 0
    assert answer(client, paths[0], "203.0.113.121").status_code == 302
    # organisation B's public survey is unaffected; --public reopens A's public link
    assert answer(client, f"/s/{world['token_b']}", "203.0.113.121").status_code == 302
    login(client, world["consultant"])
    html = client.get(f"/campaigns/{world['campaign_a']}").get_data(as_text=True)
    assert 'data-testid="invitation-only"' in html and "個人用リンク（teichaku invite）からのみ" in html
    result = app.test_cli_runner().invoke(args=["invite", "a-2026", "-n", "0", "--public"])
    assert result.exit_code == 0 and "accepts public link and personal links" in result.output
    assert client.get(public).status_code == 200


@pytest.mark.redis
def test_shared_pc_with_personal_links_is_never_limited_per_browser(app, client, world, tmp_path):
    app.config["SURVEY_SUBMISSIONS_PER_BROWSER"] = 1
    paths, _ = make_links(app, tmp_path, "a-2026", 4)
    assert [answer(client, p, "203.0.113.122").status_code for p in paths] == [302] * 4
    assert stored(app) == 4
    assert answer(client, f"/s/{world['token_a']}", "203.0.113.122").status_code == 302
    assert answer(client, f"/s/{world['token_a']}", "203.0.113.122").status_code == 429


@pytest.fixture
def csrf_on(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def test_personal_link_form_keeps_csrf(csrf_on, app, client, world, tmp_path):
    paths, _ = make_links(app, tmp_path, "a-2026", 1)
    html = client.get(paths[0]).get_data(as_text=True)
    nonce = NONCE.search(html).group(1)
    csrf_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    r = client.post(paths[0], data=answers(nonce=nonce))
    assert r.status_code == 400 and "フォームの有効期限が切れました" in r.get_data(as_text=True)
    assert KEPT_ANSWER in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Invitation.used)) is False
    assert client.post(paths[0], data=answers(nonce=nonce, csrf_token=csrf_token)).status_code == 302
    assert stored(app) == 1


def test_responses_and_invitations_cannot_be_joined(app, client, world, tmp_path):
    paths, _ = make_links(app, tmp_path, "a-2026", 2)
    codes = [p.rsplit("/", 1)[1] for p in paths]
    assert answer(client, paths[1], "203.0.113.123").status_code == 302
    with app.app_context():
        schema = inspect(db.engine)  # the migrated database, not only the models
        assert {c["name"] for c in schema.get_columns("invitation")} == {
            "id", "campaign_id", "token_hash", "used", "created_on"}
        assert [fk["referred_table"] for fk in schema.get_foreign_keys("invitation")] == ["campaign"]
        response_columns = {c["name"] for c in schema.get_columns("response")}
        assert not {c for c in response_columns if "invit" in c or "token" in c}
        assert [fk["referred_table"] for fk in schema.get_foreign_keys("response")] == ["campaign"]
        invitations = db.session.scalars(select(Invitation).order_by(Invitation.id)).all()
        assert [i.token_hash for i in invitations] == [hashlib.sha256(c.encode()).hexdigest() for c in codes]
        assert [i.used for i in invitations] == [False, True]
        response = db.session.scalars(select(Response)).one()
        assert not any(c in repr(response.answers) for c in codes)


def test_invite_refuses_to_overwrite_links_and_unknown_campaigns(app, world, tmp_path):
    out = tmp_path / "links.csv"
    out.write_text("earlier links\n")
    result = app.test_cli_runner().invoke(args=["invite", "a-2026", "-n", "2", "-o", str(out)])
    assert result.exit_code != 0 and "exists" in result.output
    assert out.read_text() == "earlier links\n"
    result = app.test_cli_runner().invoke(args=["invite", "nope", "-n", "2"])
    assert result.exit_code != 0 and "no campaign" in result.output


# ------------------------------------------------------------------ response rate


def test_response_rate_never_reads_above_100_percent(app, client, world):
    with app.app_context():
        fill(world["campaign_b"], 10)  # organisation B has 8 employees
    login(client, world["lead_b"])
    html = client.get(f"/campaigns/{world['campaign_b']}").get_data(as_text=True)
    assert "125%" not in html and ">100%<" in html
    assert 'data-testid="rate-capped"' in html
    assert 'data-testid="warning-responses_exceed_headcount"' in html
    assert "受け付けた回答（10件）が従業員数（8人）より多くなっています" in html
    with app.app_context():
        from diagnosis.classification import diagnose_options
        from diagnosis.recommend.service import diagnose_campaign

        campaign = db.session.get(Campaign, world["campaign_b"])
        d = diagnose_campaign(campaign, "en", session=db.session, **diagnose_options()).to_dict()
        assert d["response_rate"] == 1.0 and d["responses_exceed_headcount"] is True
    with app.app_context():
        fill(world["campaign_a"], 10)  # organisation A has 120: 8 %, nothing flagged
    login(client, world["consultant"])
    html = client.get(f"/campaigns/{world['campaign_a']}").get_data(as_text=True)
    assert ">8%<" in html and 'data-testid="rate-capped"' not in html
    assert "warning-responses_exceed_headcount" not in html


# ------------------------------------------------------------------ migration


def test_migration_0004_abuse_adds_and_removes_its_tables(app):
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        assert {"rate_limit", "invitation"} <= tables
        assert "invitation_only" in {c["name"] for c in inspect(db.engine).get_columns("campaign")}
        downgrade(revision="0001")
        db.engine.dispose()
        assert not {"rate_limit", "invitation"} & set(inspect(db.engine).get_table_names())
        assert "invitation_only" not in {c["name"] for c in inspect(db.engine).get_columns("campaign")}
        upgrade()
        assert {"rate_limit", "invitation"} <= set(inspect(db.engine).get_table_names())


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_new_messages_exist_in_both_languages(lang):
    from diagnosis.messages import translate

    for key in ("survey.limited", "survey.limited_form", "survey.invitation_used", "survey.invitation_only"):
        for part in ("title", "body"):
            ja, en = translate(f"{key}.{part}", "ja"), translate(f"{key}.{part}", "en")
            assert ja and en and ja != en
