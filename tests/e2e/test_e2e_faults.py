"""In a real browser: an employee submits while another process holds the database locked. The
answers come back on the page with a message; pressing submit again after the lock is gone
stores them, once."""

from __future__ import annotations

import sqlite3

import pytest
from playwright.sync_api import Browser, expect

from diagnosis.extensions import db
from diagnosis.store.models import Comment, Response

LIKERT = ("pu_useful", "pu_usecase", "pu_goal", "pu_nofit", "le_exec", "le_manager", "le_policy",
          "le_fringe", "su_skill", "su_training", "su_ask", "su_hard")
PHONE = {"width": 360, "height": 800}
ANSWER = "研修が一度もなく、困ったときに聞ける人もいない。"


@pytest.fixture
def live_app_config() -> dict:
    return {"DB_BUSY_TIMEOUT_SECONDS": 0.3, "SURVEY_SAVE_DEADLINE_SECONDS": 2}


def _responses(live_app) -> int:
    with live_app.app.app_context():
        n = db.session.scalar(db.select(db.func.count(Response.id)))
        db.session.remove()
        return n


def test_submit_during_a_lock_keeps_the_answers_and_submitting_again_stores_once(browser: Browser, live_app):
    before = _responses(live_app)
    context = browser.new_context(viewport=PHONE, locale="ja-JP")
    page = context.new_page()
    page.goto(f"{live_app.url}/s/{live_app.token}")
    page.check("input[name=usage][value=tried_once]")
    for item in LIKERT:
        page.check(f"input[name={item}][value='2']")
    page.fill("textarea[name=reasons]", ANSWER)
    page.select_option("select[name=department]", "sales")

    path = live_app.app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # a backup tool or a stuck migration
    try:
        page.click("button[type=submit]")
        expect(page.locator("#save-failed")).to_contain_text("回答を保存できませんでした。内容はそのままです。")
        expect(page.locator("#save-failed")).to_be_focused()  # read first by a screen reader
        # Everything the employee entered is still there.
        expect(page.locator("textarea[name=reasons]")).to_have_value(ANSWER)
        expect(page.locator("input[name=usage][value=tried_once]")).to_be_checked()
        for item in LIKERT:
            expect(page.locator(f"input[name={item}][value='2']")).to_be_checked()
        expect(page.locator("select[name=department]")).to_have_value("sales")
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert _responses(live_app) == before

    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("ご回答ありがとうございました")
    context.close()
    assert _responses(live_app) == before + 1
    with live_app.app.app_context():
        assert db.session.scalar(db.select(db.func.count(Comment.id)).where(Comment.text == ANSWER)) == 1
