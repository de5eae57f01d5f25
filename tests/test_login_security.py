"""Logins: revocable sessions, back-off without lockout or account enumeration, TOTP."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest
from conftest import PASSWORD, login
from dashboard_helpers import fill
from flask_login.utils import encode_cookie
from sqlalchemy import select, update

from diagnosis import auth
from diagnosis.extensions import db, login_manager
from diagnosis.store.models import LoginThrottle, User
from diagnosis.throttle import Backoff

ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}
VICTIM = {"REMOTE_ADDR": "198.51.100.7"}


def _user(email: str) -> User:
    return db.session.scalars(select(User).where(User.email == email)).one()


def _session_cookie(client) -> str:
    return client.get_cookie("session").value


# ------------------------------------------------------------------ revocable sessions


@pytest.fixture
def exportable(app, world):
    with app.app_context():
        fill(world["campaign_a"], 10, comment="研修がほしい")
    # The finding used responses.csv; that is consultant-only now, so a DX lead's copied session
    # is tried on the diagnosis export, which DX leads may download.
    world["export"] = f"/campaigns/{world['campaign_a']}/export/diagnosis.csv"
    return world


def test_logout_ends_a_copied_session(app, client, exportable):
    login(client, exportable["lead_a"])
    stolen = _session_cookie(client)
    assert client.get(exportable["export"]).status_code == 200
    assert client.post("/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    r = thief.get(exportable["export"])
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert not r.data.startswith(b"\xef\xbb\xbf")  # no CSV (it starts with a BOM)
    # logging in again works and gives a new, working session
    login(client, exportable["lead_a"])
    assert client.get(exportable["export"]).status_code == 200


@pytest.mark.parametrize("command", [
    ["set-password", "{email}", "--password", "plum-orbit-canvas-42"],
    ["deactivate-user", "{email}"],
])
def test_password_change_and_deactivation_end_sessions(app, client, runner, exportable, command):
    login(client, exportable["lead_a"])
    assert client.get(exportable["export"]).status_code == 200
    r = runner.invoke(args=[a.format(email=exportable["lead_a"]) for a in command])
    assert r.exit_code == 0, r.output
    assert client.get(exportable["export"]).status_code == 302


def test_remember_me_cookie_is_revoked_too(app, client, world):
    with app.app_context():
        user = _user(world["lead_a"])
        old_id = user.get_id()
        with app.test_request_context():
            cookie = encode_cookie(old_id)
        assert login_manager._user_callback(old_id) is not None
        user.revoke_sessions()
        db.session.commit()
        assert login_manager._user_callback(old_id) is None
        assert login_manager._user_callback(str(user.id)) is None  # pre-upgrade format
        with app.test_request_context():
            fresh = encode_cookie(user.get_id())
    client.set_cookie("remember_token", cookie)
    assert client.get("/dashboard").status_code == 302
    other = app.test_client()
    other.set_cookie("remember_token", fresh)
    assert other.get("/dashboard").status_code == 200  # the remember path itself works


# ------------------------------------------------------------------ uniform failures


def _attempt(client, email: str, password: str, environ=None) -> list[tuple[int, str, bytes]]:
    """Every answer a browser sees for one login attempt with a wrong code: step 1, the code
    page, the code step and the login page it returns to."""
    environ = environ or {}
    seen = []
    r = client.post("/login", data={"email": email, "password": password}, environ_base=environ)
    seen.append((r.status_code, r.headers.get("Location", ""), r.data))
    r = client.get("/login/code", environ_base=environ)
    seen.append((r.status_code, "", r.data))
    r = client.post("/login/code", data={"code": "000000"}, environ_base=environ)
    seen.append((r.status_code, r.headers.get("Location", ""), r.data))
    r = client.get("/login", environ_base=environ)
    seen.append((r.status_code, "", r.data))
    return seen


def test_unknown_real_and_throttled_accounts_answer_the_same(app, world):
    app.config["LOGIN_ATTEMPTS_PER_MINUTE"] = 1000
    unknown = _attempt(app.test_client(), "nobody@example.com", "wrong-password-1")
    wrong = _attempt(app.test_client(), world["lead_a"], "wrong-password-1")
    attacker = app.test_client()
    for _ in range(app.config["LOGIN_FREE_FAILURES"] + 1):
        _attempt(attacker, world["lead_a"], "wrong-password-1", ATTACKER)
    # the right password, from an address that is now throttled
    throttled = _attempt(attacker, world["lead_a"], PASSWORD, ATTACKER)
    with app.app_context():
        db.session.execute(update(User).where(User.email == world["lead_b"]).values(active=False))
        db.session.commit()
    inactive = _attempt(app.test_client(), world["lead_b"], PASSWORD)
    assert unknown == wrong == throttled == inactive
    assert unknown[0][:2] == (302, "/login/code")
    assert unknown[2][:2] == (302, "/login")
    assert "ログインできませんでした" in unknown[3][2].decode()
    assert attacker.get("/dashboard").status_code == 302


def test_every_failure_pays_for_one_password_hash(app, client, world, monkeypatch):
    calls = []
    real = auth.check_hash

    def counting(stored, password):
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(auth, "check_hash", counting)
    app.config["LOGIN_ATTEMPTS_PER_MINUTE"] = 1000
    with app.app_context():
        real_hash = _user(world["lead_a"]).password_hash
    cases = [("nobody@example.com", PASSWORD, {}), (world["lead_a"], "wrong-password-1", {})]
    cases += [(world["lead_a"], "wrong-password-1", ATTACKER)] * (app.config["LOGIN_FREE_FAILURES"] + 2)
    cases += [(world["lead_a"], PASSWORD, ATTACKER)]  # throttled
    for email, password, environ in cases:
        before = len(calls)
        client.post("/login", data={"email": email, "password": password}, environ_base=environ)
        assert len(calls) == before + 1, (email, password, environ)
    # an unknown account is checked against a hash of the same method and cost as a real one
    assert calls[0].split("$")[0] == real_hash.split("$")[0]


def test_an_attackers_failures_never_keep_the_victim_out(app, world):
    app.config["LOGIN_ATTEMPTS_PER_MINUTE"] = 1000
    attacker = app.test_client()
    for _ in range(15):
        attacker.post("/login", data={"email": world["lead_a"], "password": "guess-guess-guess"},
                      environ_base=ATTACKER)
        with app.app_context():  # the attacker waits out each delay, so every guess counts
            db.session.execute(update(LoginThrottle).values(blocked_until=None))
            db.session.commit()
    attacker.post("/login", data={"email": world["lead_a"], "password": "guess-guess-guess"},
                  environ_base=ATTACKER)
    victim = app.test_client()
    r = victim.post("/login", data={"email": world["lead_a"], "password": PASSWORD},
                    environ_base=VICTIM)
    assert r.status_code == 302 and r.headers["Location"] == "/dashboard"
    # the attacker's address is held back, even with the right password ...
    r = attacker.post("/login", data={"email": world["lead_a"], "password": PASSWORD},
                      environ_base=ATTACKER)
    assert r.headers["Location"] == "/login/code"
    with app.app_context():
        row = db.session.scalars(select(LoginThrottle)).one()
        wait = row.blocked_until - row.updated_at
        assert dt.timedelta(seconds=app.config["LOGIN_BACKOFF_MAX_SECONDS"] - 5) < wait
        assert wait <= dt.timedelta(seconds=app.config["LOGIN_BACKOFF_MAX_SECONDS"])
        # ... but only for the capped delay: once it has passed, the right password works
        row.blocked_until = dt.datetime(2000, 1, 1)
        db.session.commit()
    r = attacker.post("/login", data={"email": world["lead_a"], "password": PASSWORD},
                      environ_base=ATTACKER)
    assert r.headers["Location"] == "/dashboard"
    with app.app_context():
        assert db.session.scalars(select(LoginThrottle)).all() == []  # success forgets the pair


def test_throttle_rows_hold_neither_address_nor_email(app, client, world):
    client.post("/login", data={"email": world["lead_a"], "password": "wrong-password-1"},
                environ_base=ATTACKER)
    with app.app_context():
        (row,) = db.session.scalars(select(LoginThrottle)).all()
        stored = " ".join(str(v) for v in (row.key, row.failures, row.blocked_until, row.updated_at))
    assert re.fullmatch(r"[0-9a-f]{64}", row.key)
    assert "203.0.113" not in stored and "lead-a" not in stored


def test_backoff_doubles_and_is_capped():
    b = Backoff(free=3, base=2, cap=900)
    assert [b.delay(n) for n in range(1, 8)] == [0, 0, 0, 2, 4, 8, 16]
    assert b.delay(50) == 900 and b.delay(10_000) == 900


# ------------------------------------------------------------------ TOTP


@pytest.fixture
def enrolled(app, runner, world):
    r = runner.invoke(args=["totp-enrol", world["consultant"]])
    assert r.exit_code == 0, r.output
    secret = re.search(r"secret:\s+([A-Z2-7]+)", r.output).group(1)
    assert f"otpauth://totp/Teichaku:{world['consultant'].replace('@', '%40')}?secret={secret}" in r.output
    world["totp"] = pyotp.TOTP(secret)
    return world


def test_totp_login_needs_password_and_current_code(app, client, enrolled):
    r = login(client, enrolled["consultant"])
    assert r.headers["Location"] == "/login/code"
    assert client.get("/dashboard").status_code == 302  # the password alone is not enough
    page = client.get("/login/code").get_data(as_text=True)
    assert "6桁のコード" in page and 'autocomplete="one-time-code"' in page
    r = client.post("/login/code", data={"code": enrolled["totp"].now()})
    assert r.status_code == 302 and r.headers["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200


def test_totp_refuses_wrong_code_wrong_password_and_replay(app, enrolled):
    def attempt(password, code):
        c = app.test_client()
        login(c, enrolled["consultant"], password)
        c.post("/login/code", data={"code": code})
        return c.get("/dashboard").status_code

    code = enrolled["totp"].now()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert attempt(PASSWORD, wrong) == 302
    assert attempt("wrong-password-1", code) == 302  # a right code does not rescue a wrong password
    # full-width digits typed with a Japanese IME are accepted
    assert attempt(PASSWORD, code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))) == 200
    assert attempt(PASSWORD, code) == 302  # the same code a second time: replay refused


def test_code_step_is_single_use(app, client, enrolled):
    login(client, enrolled["consultant"])
    client.post("/login/code", data={"code": "000000"})
    r = client.post("/login/code", data={"code": enrolled["totp"].now()})
    assert r.headers["Location"] == "/login"  # the failed step used up the password step
    assert client.get("/dashboard").status_code == 302


def test_pending_step_does_not_reveal_whether_the_password_was_right(app, enrolled):
    serializer = app.session_interface.get_signing_serializer(app)

    def pending(password):
        c = app.test_client()
        login(c, enrolled["consultant"], password)
        return serializer.loads(_session_cookie(c))["pending_login"]

    right, wrong = pending(PASSWORD), pending("wrong-password-1")
    assert right.keys() == wrong.keys()
    assert {k: len(str(v)) for k, v in right.items()} == {k: len(str(v)) for k, v in wrong.items()}
    assert "True" not in str(right) and "ok" not in right


def test_totp_is_for_consultants_and_can_be_turned_off(app, client, runner, enrolled):
    r = runner.invoke(args=["totp-enrol", enrolled["lead_a"]])
    assert r.exit_code != 0 and "consultants only" in r.output
    r = runner.invoke(args=["totp-disable", enrolled["consultant"]])
    assert r.exit_code == 0, r.output
    assert login(client, enrolled["consultant"]).headers["Location"] == "/dashboard"


def test_login_starts_a_fresh_session(app, client, enrolled):
    for who, finish in ((enrolled["lead_a"], False), (enrolled["consultant"], True)):
        c = app.test_client()
        with c.session_transaction() as s:
            s["planted"] = "by-an-attacker"
        login(c, who)
        if finish:
            c.post("/login/code", data={"code": enrolled["totp"].now()})
        with c.session_transaction() as s:
            assert "planted" not in s and "pending_login" not in s
            assert re.fullmatch(r"\d+:\d+", s["_user_id"])  # id:session_version
        assert c.get("/dashboard").status_code == 200


# ------------------------------------------------------------------ migration


def test_security_migration_downgrades_and_upgrades(app):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    with app.app_context():
        downgrade(revision="0001")
        columns = {c["name"] for c in inspect(db.engine).get_columns("user")}
        assert "locked_until" in columns and "session_version" not in columns
        upgrade()
        columns = {c["name"] for c in inspect(db.engine).get_columns("user")}
        assert {"session_version", "totp_secret", "totp_last_step"} <= columns
        assert "locked_until" not in columns
        assert "login_throttle" in inspect(db.engine).get_table_names()
