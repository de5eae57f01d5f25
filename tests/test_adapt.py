"""The review queue and per-organisation adaptation, end to end on the real model and database:
reviews are stored and undone, adaptation learns one organisation's wording from its reviewed
comments only, the figures are measured, and the commands work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import login
from sqlalchemy import select

from diagnosis import adaptation
from diagnosis.classifier_service import classifier_service
from diagnosis.extensions import db
from diagnosis.store.models import Campaign, Comment, OrgExample, OrgModel
from diagnosis.store.responses import add_response
from diagnosis.workspace import questionnaire

pytestmark = pytest.mark.sqlite_only

CLIENTS = Path(__file__).resolve().parents[1] / "models" / "corpus" / "clients"
# One client's in-house wording: the help channel, the training course and the tool's nickname.
JARGON = [
    ("よろず相談に投げても既読スルー", "support"),
    ("よろず相談、誰も返してくれない", "support"),
    ("道場の2回目が中止になった", "support"),
    ("道場は平日昼で現場は出られない", "support"),
    ("ライチョウに図面は入れるなって言われてる", "other"),
    ("雷鳥は製造系NWから繋がらない", "other"),
    ("部長がライチョウを鼻で笑ってた", "leadership"),
    ("常務の年頭訓示だけで、その後何もない", "leadership"),
    ("作標を書くのにライチョウを使う場面がない", "purpose"),
    ("日報は手書きで十分", "purpose"),
]


def client_rows(name: str, n: int) -> list[dict]:
    rows = [json.loads(line) for line in (CLIENTS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
    return rows[:n]


def add_comments(app, campaign_id: int, texts: list[str]) -> list[int]:
    """Store one survey response per text and classify them with the real model."""
    from diagnosis.classification import classify_pending

    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        q = questionnaire("ai-adoption")
        for text in texts:
            add_response(campaign, q, {"usage": "never", "reasons": text})
        db.session.commit()
        classify_pending()
        return list(db.session.scalars(select(Comment.id).where(Comment.campaign_id == campaign_id)
                                       .order_by(Comment.id)))


def labels_of(app, campaign_id: int) -> dict[str, tuple]:
    with app.app_context():
        rows = db.session.execute(select(Comment.text, Comment.label, Comment.scores, Comment.model_version)
                                  .where(Comment.campaign_id == campaign_id)).all()
        return {t: (lab, json.dumps(s, sort_keys=True), v) for t, lab, s, v in rows}


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def small_groups(app):
    app.config.update(MIN_GROUP=3, MIN_COMMENTS_GROUP=3, ADAPT_ON_REVIEW="sync", ADAPT_MIN_REVIEWED=10)
    return app


# -- command line -----------------------------------------------------------------------------


def test_corrections_import_names_the_bad_line_and_stores_nothing(app, runner, world, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "研修がない", "label": "support"}\n{"text": "x", "label": "money"}\n',
                   encoding="utf-8")
    result = runner.invoke(args=["corrections", "import", str(world["org_a"]), str(bad)])
    assert result.exit_code != 0
    assert "line 2" in result.output and "label" in result.output and "Traceback" not in result.output
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "研修がない", "label": "support"}\n{"text": \n', encoding="utf-8")
    result = runner.invoke(args=["corrections", "import", str(world["org_a"]), str(broken)])
    assert result.exit_code != 0 and "line 2" in result.output and "JSON" in result.output
    result = runner.invoke(args=["corrections", "import", "no-such-org", str(bad)])
    assert result.exit_code != 0 and "no organisation" in result.output
    with app.app_context():
        assert db.session.scalar(select(OrgExample.id)) is None


def test_adapt_too_few_then_measured_figures_and_classify_org(app, runner, world, tmp_path):
    few = write_jsonl(tmp_path / "few.jsonl", [{"text": t, "label": lab} for t, lab in JARGON[:5]])
    assert runner.invoke(args=["corrections", "import", "株式会社エー", str(few)]).exit_code == 0
    result = runner.invoke(args=["adapt", str(world["org_a"])])
    assert result.exit_code != 0 and "at least 10" in result.output

    rows = client_rows("hokuriku", 40)
    data = write_jsonl(tmp_path / "hokuriku.jsonl", [{"text": r["text"], "label": r["label"]} for r in rows])
    result = runner.invoke(args=["corrections", "import", str(world["org_a"]), str(data)])
    assert result.exit_code == 0, result.output
    assert "imported 40 reviewed comment(s)" in result.output and "45 in all" in result.output
    result = runner.invoke(args=["adapt", str(world["org_a"])])
    assert result.exit_code == 0, result.output
    assert "accuracy on 45 reviewed comments (5-fold cross-validation): base" in result.output
    with app.app_context():
        record = db.session.scalar(select(OrgModel))
        assert record.organisation_id == world["org_a"] and record.n_reviewed == 45
        figures = record.figures
        assert figures["n"] == 45 and 0 <= figures["base_accuracy"] <= 1
        assert 0 <= figures["adapted_accuracy"] <= 1 and record.errors  # its own error model
        version, in_use = record.version, record.in_use
        # kept only when cross-validation does not measure it lower than the base model
        assert in_use == (figures["adapted_accuracy"] >= figures["base_accuracy"])
        service = classifier_service()
        assert service.version_for(world["org_b"]) == service.base_version()
        assert service.version_for(world["org_a"]) == (version if in_use else service.base_version())
    # classify --org: the same output format as classify, with the organisation's model
    texts = "\n".join(t for t, _ in JARGON) + "\n"
    plain = runner.invoke(args=["classify", "-"], input=texts)
    mine = runner.invoke(args=["classify", "--org", str(world["org_a"]), "-"], input=texts)
    assert plain.exit_code == 0 and mine.exit_code == 0, mine.output
    plain_rows = [json.loads(line) for line in plain.stdout.splitlines()]
    mine_rows = [json.loads(line) for line in mine.stdout.splitlines()]
    assert [sorted(r) for r in plain_rows] == [sorted(r) for r in mine_rows]
    if in_use:
        assert [r["scores"] for r in plain_rows] != [r["scores"] for r in mine_rows]
        assert version in mine.stderr
    else:
        assert mine_rows == plain_rows and "the base model stays in use" in result.output
    other = runner.invoke(args=["classify", "--org", str(world["org_b"]), "-"], input=texts)
    assert [json.loads(line) for line in other.stdout.splitlines()] == plain_rows


def test_adaptation_learns_the_wording_and_org_b_never_changes(app, world, tmp_path, runner):
    """The same comments in two organisations; only A's reviews teach A's model, and B's labels,
    scores and versions stay exactly as they were."""
    texts = [t for t, _ in JARGON] + [r["text"] for r in client_rows("minato", 20)]
    add_comments(app, world["campaign_a"], texts)
    add_comments(app, world["campaign_b"], texts)
    before_b = labels_of(app, world["campaign_b"])
    before_a = labels_of(app, world["campaign_a"])
    # A's consultant reviews every comment (gold labels), repeated wording included
    gold = dict(JARGON) | {r["text"]: r["label"] for r in client_rows("minato", 20)}
    with app.app_context():
        from diagnosis.store.corrections import record_correction

        for c in db.session.scalars(select(Comment).where(Comment.campaign_id == world["campaign_a"])):
            record_correction(c, gold[c.text], None)
        db.session.commit()
        result = adaptation.adapt_organisation(world["org_a"])
    assert result.n_reviewed == len(texts) and result.relabelled == len(texts)
    after_a = labels_of(app, world["campaign_a"])
    assert all("+org" in v for _, _, v in after_a.values())
    assert after_a != before_a
    # the adapted model fits A's reviews better than the base did
    def agree(labels):
        return sum(labels[t][0] == gold[t] for t in texts)
    assert agree(after_a) >= agree(before_a)
    assert labels_of(app, world["campaign_b"]) == before_b
    # a relabelling run for everyone leaves B alone too (its comments are current)
    with app.app_context():
        from diagnosis.classification import reclassify_stale, stale_count

        assert stale_count() == 0 and reclassify_stale() == 0
    assert labels_of(app, world["campaign_b"]) == before_b


# -- review queue on the dashboard ------------------------------------------------------------


def queue_ids(html: str) -> list[int]:
    import re

    return [int(x) for x in re.findall(r'data-comment-id="(\d+)"', html)]


def test_review_queue_confirm_correct_undo_and_progress(small_groups, client, world):
    app = small_groups
    app.config["ADAPT_ON_REVIEW"] = "off"
    texts = [t for t, _ in JARGON[:6]]
    ids = add_comments(app, world["campaign_a"], texts)
    login(client, world["lead_a"])
    url = f"/campaigns/{world['campaign_a']}/review"
    html = client.get(url).get_data(as_text=True)
    assert 'data-testid="review-item"' in html and 'data-testid="reviewed-count">0<' in html
    first = queue_ids(html)[0]
    assert first in ids
    with app.app_context():
        model_label = db.session.get(Comment, first).label
    # Enter = confirm: the model's label becomes a human one
    r = client.post(f"{url}/{first}", data={"label": "", "after": ""})
    assert r.status_code == 302
    with app.app_context():
        c = db.session.get(Comment, first)
        assert c.corrected_label == model_label and c.review_model_label == model_label
    html = client.get(url).get_data(as_text=True)
    assert 'data-testid="reviewed-count">1<' in html and 'data-testid="agreement">100%<' in html
    assert queue_ids(html)[0] != first  # a reviewed comment leaves the queue
    second = queue_ids(html)[0]
    other = next(c for c in ("purpose", "leadership", "support", "other") if c != model_label)
    client.post(f"{url}/{second}", data={"label": other, "after": ""})
    html = client.get(url).get_data(as_text=True)
    assert 'data-testid="reviewed-count">2<' in html
    # undo takes back the last decision only, and shows that comment again
    r = client.post(f"{url}/undo", data={})
    assert r.status_code == 302 and f"at={second}" in r.headers["Location"]
    with app.app_context():
        assert db.session.get(Comment, second).corrected_label is None
        assert db.session.get(Comment, first).corrected_label == model_label
    assert queue_ids(client.get(r.headers["Location"]).get_data(as_text=True))[0] == second


def test_review_queue_respects_anonymity_and_organisations(app, client, world):
    app.config.update(MIN_GROUP=3, MIN_COMMENTS_GROUP=5, ADAPT_ON_REVIEW="off")
    ids = add_comments(app, world["campaign_a"], [t for t, _ in JARGON[:3]])
    login(client, world["lead_a"])
    url = f"/campaigns/{world['campaign_a']}/review"
    html = client.get(url).get_data(as_text=True)
    # three comments: fewer than MIN_COMMENTS_GROUP, so none is offered, and none can be reviewed
    assert 'data-testid="survey-hidden"' in html and 'data-testid="review-item"' not in html
    assert client.post(f"{url}/{ids[0]}", data={"label": "support"}).status_code == 404
    client.post("/logout")
    login(client, world["lead_b"])
    assert client.get(url).status_code == 404
    assert client.post(f"{url}/{ids[0]}", data={"label": "support"}).status_code == 404
    b_url = f"/campaigns/{world['campaign_b']}/review"
    assert client.post(f"{b_url}/{ids[0]}", data={"label": "support"}).status_code == 404


def test_reviews_trigger_adaptation_and_the_dashboard_shows_the_figures(small_groups, client, world):
    app = small_groups
    app.config["ADAPT_EVERY"] = 10
    rows = client_rows("kestrel", 24)
    gold = {r["text"]: r["label"] for r in rows}
    add_comments(app, world["campaign_a"], list(gold))
    login(client, world["consultant"])
    url = f"/campaigns/{world['campaign_a']}/review"
    for n in range(1, 23):
        html = client.get(url).get_data(as_text=True)
        cid = queue_ids(html)[0]
        with app.app_context():
            text = db.session.get(Comment, cid).text
        client.post(f"{url}/{cid}", data={"label": gold[text]})
        with app.app_context():
            record = adaptation.org_model(world["org_a"])
            if n < 10:
                assert record is None
            elif n in (10, 20):  # every ADAPT_EVERY reviews, synchronously in this config
                assert record is not None and record.n_reviewed == n
    html = client.get(url).get_data(as_text=True)
    assert 'data-testid="adapted-accuracy"' in html and "20" in html
    dash = client.get(f"/campaigns/{world['campaign_a']}").get_data(as_text=True)
    assert 'data-testid="adaptation"' in dash and 'data-testid="adapted-accuracy"' in dash


def test_a_review_of_a_label_that_changed_meanwhile_is_not_stored_and_undo_keeps_later_edits(
        small_groups, client, world):
    app = small_groups
    app.config["ADAPT_ON_REVIEW"] = "off"
    add_comments(app, world["campaign_a"], [t for t, _ in JARGON[:4]])
    login(client, world["lead_a"])
    url = f"/campaigns/{world['campaign_a']}/review"
    cid = queue_ids(client.get(url).get_data(as_text=True))[0]
    with app.app_context():
        stored = db.session.get(Comment, cid).label
    seen = next(c for c in ("purpose", "leadership", "support", "other") if c != stored)
    # the page showed `seen`; the stored label is another (an adaptation relabelled it)
    r = client.post(f"{url}/{cid}", data={"label": "", "shown": seen})
    assert r.status_code == 302 and f"at={cid}" in r.headers["Location"]
    with app.app_context():
        assert db.session.get(Comment, cid).corrected_label is None
    assert client.post(f"{url}/{cid}", data={"label": "", "shown": stored}).status_code == 302
    # someone else corrects the same comment afterwards: undo leaves their decision alone
    other = next(c for c in ("purpose", "leadership", "support", "other") if c != stored)
    with app.app_context():
        from diagnosis.store.corrections import record_correction

        record_correction(db.session.get(Comment, cid), other, None)
        db.session.commit()
    client.post(f"{url}/undo", data={})
    with app.app_context():
        assert db.session.get(Comment, cid).corrected_label == other
