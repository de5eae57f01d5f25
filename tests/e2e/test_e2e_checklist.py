"""The reason checklist on a phone, in a real browser: large tap targets, the live "up to 3"
counter, the server's error when more are chosen (nothing lost), and the stored codes."""

from __future__ import annotations

from items import likert_items
from playwright.sync_api import Browser, expect

from diagnosis.extensions import db
from diagnosis.store.models import Response

PHONE = {"width": 360, "height": 800}
LIKERT = likert_items()
TEXT = "部署に詳しい人がいなくて、結局聞けずに終わる。"


def test_checklist_on_a_phone(browser: Browser, live_app, artifacts):
    ctx = browser.new_context(viewport=PHONE, locale="ja-JP", device_scale_factor=1)
    page = ctx.new_page()
    page.goto(f"{live_app.url}/s/{live_app.token}")
    box = page.locator("fieldset.checklist")
    expect(box.locator("legend")).to_contain_text("3つまで選んでください")
    counter = page.locator("#reason_choices-count")
    expect(counter).to_have_text("0 / 3 選択中")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # Every option is a large target: the whole label row is tappable, at least 44 px high.
    labels = box.locator("label.option")
    assert labels.count() == 14
    for i in range(labels.count()):
        bb = labels.nth(i).bounding_box()
        assert bb["height"] >= 44 and bb["width"] >= 300, bb

    page.check("input[name=usage][value=never]")
    for item in LIKERT:
        page.check(f"input[name={item}][value='3']")
    # Tap the label text, as a thumb would.
    page.locator("label.option", has_text="困ったときに聞ける人がいない").click()
    expect(counter).to_have_text("1 / 3 選択中")
    for text in ("研修やマニュアルがない", "初歩的なことを聞くのは気が引ける", "何に使えばいいかわからない"):
        page.locator("label.option", has_text=text).click()
    expect(counter).to_have_text("選べるのは3つまでです。どれかを外してください。")
    page.screenshot(path=str(artifacts / "07-checklist-too-many-360.png"), full_page=True)
    page.fill("textarea[name=reasons]", TEXT)
    page.click("button[type=submit]")
    # The server refuses politely; the ticks and the text are still there.
    expect(page.locator("#reason_choices-error")).to_contain_text("選べるのは3つまでです（現在4つ選んでいます）")
    expect(page.locator("textarea[name=reasons]")).to_have_value(TEXT)
    assert page.locator("fieldset.checklist input:checked").count() == 4
    expect(page.locator("#reason_choices-count")).to_have_text("選べるのは3つまでです。どれかを外してください。")
    # "Nothing in particular" clears the others, and the others clear it.
    page.locator("label.option", has_text="特にない・よく使っている").click()
    assert page.locator("fieldset.checklist input:checked").count() == 1
    page.locator("label.option", has_text="困ったときに聞ける人がいない").click()
    page.locator("label.option", has_text="初歩的なことを聞くのは気が引ける").click()
    assert page.locator("input[value=none]").is_checked() is False
    expect(counter).to_have_text("2 / 3 選択中")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("ご回答ありがとうございました")
    ctx.close()
    with live_app.app.app_context():
        stored = db.session.scalars(db.select(Response).order_by(Response.id.desc())).first()
        assert stored.answers["reason_choices"] == ["nobody_to_ask", "hesitant_to_ask"]
        assert {c.self_label for c in stored.comments} == {"support"}
