"""The whole path in a real browser: an employee answers on a phone, the DX lead reads the
diagnosis and corrects a comment, the consultant adds interview notes and downloads the PDF."""

from __future__ import annotations

import re
from pathlib import Path

from items import likert_items
from playwright.sync_api import Browser, Page, expect

from diagnosis.extensions import db
from diagnosis.store.models import Comment, Response

LIKERT = likert_items()
PHONE = {"width": 360, "height": 800}
DESKTOP = {"width": 1280, "height": 900}
ANSWER = "上司が誰も使っていないので、業務で使ってよいのか分からない。"


def _login(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def _shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def _fits_phone(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _check_at_phone_width(page: Page, artifacts: Path, name: str) -> None:
    """Reload the desktop page at phone width: no horizontal scroll; screenshot; back to desktop."""
    page.set_viewport_size(PHONE)
    page.reload()
    _fits_phone(page)
    _shot(page, artifacts, name)
    page.set_viewport_size(DESKTOP)


def test_employee_to_dx_lead_to_consultant(browser: Browser, live_app, artifacts):
    base = live_app.url

    # 1. An employee opens the survey link on a phone and answers in Japanese.
    phone = browser.new_context(viewport=PHONE, locale="ja-JP", device_scale_factor=1)
    page = phone.new_page()
    page.goto(f"{base}/s/{live_app.token}")
    expect(page.locator("h1")).to_be_visible()
    _fits_phone(page)
    _shot(page, artifacts, "01-survey-360")
    page.check("input[name=usage][value=tried_once]")
    for item in LIKERT:
        page.check(f"input[name={item}][value='2']")
    page.fill("textarea[name=reasons]", ANSWER)
    page.select_option("select[name=department]", "sales")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("ご回答ありがとうございました")
    _shot(page, artifacts, "02-survey-thanks-360")
    phone.close()
    with live_app.app.app_context():
        assert db.session.scalar(db.select(db.func.count(Response.id))) == 12
        stored = db.session.scalars(db.select(Comment).where(Comment.text == ANSWER)).one()
        assert stored.label is not None  # classified by the real model after the commit

    # 2. The DX lead logs in, sees the new response counted and the diagnosis.
    desk = browser.new_context(viewport=DESKTOP, locale="ja-JP")
    page = desk.new_page()
    _login(page, base, live_app.dx_lead, live_app.password)
    page.click("text=2026年 定着度調査")
    expect(page.get_by_test_id("responses")).to_have_text("12")
    expect(page.get_by_test_id("findings")).to_be_visible()
    expect(page.get_by_test_id("recommendation")).to_contain_text("ここから着手")
    expect(page.locator("svg.tk-chart-causes")).to_be_visible()
    expect(page.locator("svg.tk-chart-funnel")).to_be_visible()
    _shot(page, artifacts, "03-dashboard-dx-lead-1280")
    _check_at_phone_width(page, artifacts, "04-dashboard-dx-lead-360")

    # 3. ... and corrects the cause of the new comment in the comments browser.
    page.click("nav.tabs >> text=コメント")
    item = page.locator("li.comment", has_text=ANSWER)
    expect(item).to_have_count(1)
    current = item.locator("select[name=label]").input_value()
    target = "leadership" if current != "leadership" else "support"
    item.locator("select[name=label]").select_option(target)
    item.locator("button[type=submit]").click()
    expect(page.locator(".flash-success")).to_contain_text("分類を修正しました")
    item = page.locator("li.comment", has_text=ANSWER)
    expect(item.locator(".badge.corrected")).to_be_visible()
    _shot(page, artifacts, "05-comments-corrected-1280")
    _check_at_phone_width(page, artifacts, "06-comments-360")
    with live_app.app.app_context():
        assert db.session.get(Comment, stored.id).corrected_label == target
    desk.close()

    # 4. The consultant adds interview notes and downloads the PDF report.
    desk = browser.new_context(viewport=DESKTOP, locale="ja-JP", accept_downloads=True)
    page = desk.new_page()
    _login(page, base, live_app.consultant, live_app.password)
    page.goto(f"{base}/campaigns/{live_app.campaign_id}/interviews")
    page.fill("#title", "営業部 グループヒアリング")
    page.select_option("#department", "sales")
    page.fill("#text", "研修は導入時の一回だけだった。部長が使っていないので遠慮してしまう。")
    page.click("#add button[type=submit]")
    expect(page.locator("ol.sentences > li")).to_have_count(2)
    _shot(page, artifacts, "07-interview-1280")
    page.goto(f"{base}/campaigns/{live_app.campaign_id}")
    expect(page.locator("svg.qr")).to_be_visible()
    expect(page.get_by_test_id("access")).to_contain_text("dx@e2e.example")
    _shot(page, artifacts, "08-dashboard-consultant-1280")
    with page.expect_download() as info:
        page.get_by_test_id("pdf-ja").click()
    pdf = Path(info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    (artifacts / "report-ja.pdf").write_bytes(pdf)
    desk.close()
