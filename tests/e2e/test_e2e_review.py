"""The review queue in a real browser, by keyboard only: 20 decisions (1–4 and Enter), one undo
(U), a skip (→); each decision well under 2 s; then the diagnosis has changed."""

from __future__ import annotations

import json
import time
from pathlib import Path

from playwright.sync_api import Browser, expect
from sqlalchemy import select

from diagnosis.classification import classify_pending, diagnose_options
from diagnosis.extensions import db
from diagnosis.recommend.service import diagnose_campaign
from diagnosis.store.models import Campaign, Comment
from diagnosis.store.responses import add_response
from diagnosis.workspace import questionnaire

from .test_e2e_flow import _login

CLIENTS = Path(__file__).resolve().parents[2] / "models" / "corpus" / "clients"
CAUSES = ("purpose", "leadership", "support", "other")  # the order of the 1–4 keys


def _shares(app, campaign_id: int) -> dict:
    with app.app_context():
        c = db.session.get(Campaign, campaign_id)
        d = diagnose_campaign(c, "ja", session=db.session, **diagnose_options(c.organisation_id)).to_dict()
        return {k: v.get("share_raw") for k, v in d["causes"].items()}


def test_review_twenty_comments_by_keyboard(browser: Browser, live_app, artifacts):
    app = live_app.app
    rows = [json.loads(line) for line in (CLIENTS / "kestrel.jsonl").read_text(encoding="utf-8").splitlines()]
    # 30 of one client's comments: every one the model gets wrong among the first 120, then right ones
    pool = {r["text"]: r["label"] for r in rows[:120] if len(r["text"]) < 200}
    from diagnosis.classifier_service import classifier_service

    with app.app_context():
        calls = classifier_service().for_organisation(None).classify(list(pool))
    wrong = [c.text for c in calls if c.label != pool[c.text]]
    right = [c.text for c in calls if c.label == pool[c.text]]
    gold = {t: pool[t] for t in (wrong + right)[:30]}
    assert wrong
    with app.app_context():
        campaign = db.session.get(Campaign, live_app.campaign_id)
        q = questionnaire(campaign.questionnaire_id)
        for text in gold:
            add_response(campaign, q, {"usage": "never", "reasons": text}, lang="ja", source="import")
        db.session.commit()
        classify_pending()
        fixed = {t: lab for t, lab in db.session.execute(select(Comment.text, Comment.label))}
    gold.update({t: lab for t, lab in fixed.items() if t not in gold})  # the fixture's comments: as labelled
    before = _shares(app, live_app.campaign_id)

    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page = ctx.new_page()
    _login(page, live_app.url, live_app.consultant, live_app.password)
    page.goto(f"{live_app.url}/campaigns/{live_app.campaign_id}/review")
    expect(page.get_by_test_id("reviewed-count")).to_have_text("0")
    item = page.get_by_test_id("review-item")

    # → skips to the next comment without deciding; ← comes back
    first = item.get_attribute("data-comment-id")
    page.keyboard.press("ArrowRight")
    expect(item).not_to_have_attribute("data-comment-id", first)
    page.wait_for_load_state("load")  # the key handler is attached once the page has loaded
    page.keyboard.press("ArrowLeft")
    expect(item).to_have_attribute("data-comment-id", first)
    page.wait_for_load_state("load")

    timings, corrected = [], 0
    for n in range(1, 21):
        text = page.get_by_test_id("review-text").inner_text().strip()
        with app.app_context():
            cid = int(item.get_attribute("data-comment-id"))
            comment = db.session.get(Comment, cid)
            truth, model = gold.get(comment.text, comment.label), comment.label
        started = time.perf_counter()
        if truth == model:
            page.keyboard.press("Enter")
        else:
            page.keyboard.press(str(CAUSES.index(truth) + 1))
            corrected += 1
        expect(page.get_by_test_id("reviewed-count")).to_have_text(str(n))
        page.wait_for_load_state("load")  # the next comment is shown and its keys work
        timings.append(time.perf_counter() - started)
        assert text  # the comment was shown, redacted, before the decision
    page.screenshot(path=str(artifacts / "20-review-queue.png"), full_page=True)
    assert max(timings) < 2.0, timings

    # U takes back the last decision
    page.keyboard.press("u")
    expect(page.get_by_test_id("reviewed-count")).to_have_text("19")
    expect(page.locator(".flash, [role=status], .notice").first).to_be_visible()
    with app.app_context():
        reviewed = db.session.scalars(select(Comment).where(Comment.corrected_label.is_not(None))).all()
        assert len(reviewed) == 19
        assert all(c.review_model_label is not None for c in reviewed)
    ctx.close()

    assert corrected and _shares(app, live_app.campaign_id) != before  # the diagnosis follows at once
    page = browser.new_page()
    _login(page, live_app.url, live_app.dx_lead, live_app.password)
    page.goto(f"{live_app.url}/campaigns/{live_app.campaign_id}")
    expect(page.get_by_test_id("adaptation")).to_contain_text("19")
    shown = {c: page.get_by_test_id(f"share-raw-{c}").inner_text() for c in CAUSES}
    assert shown != {c: f"{before[c] * 100:.0f}%" for c in CAUSES}  # the DX lead sees it changed
    page.close()
    print(f"\nreview decisions: mean {sum(timings) / len(timings) * 1000:.0f} ms, "
          f"max {max(timings) * 1000:.0f} ms, {corrected} corrected")
