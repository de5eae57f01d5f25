"""A response never depends on the model: stored first, classified later when the model fails."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from diagnosis import classification
from diagnosis.extensions import db
from diagnosis.store.models import Comment, Response

ANSWERS = {"usage": "tried_once", "pu_useful": "3", "pu_usecase": "2", "pu_nofit": "3",
           "le_exec": "2", "le_manager": "2", "le_fringe": "4", "su_skill": "2",
           "su_training": "1", "su_ask": "2", "su_hard": "4",
           "reasons": "プロンプトの書き方がわからず、研修もないので使わなくなった。",
           "help_wanted": "上司がまず使ってみせてほしい。"}


def submit(client, token):
    client = client.application.test_client()  # one browser per employee (answers per browser are limited)
    html = client.get(f"/s/{token}").get_data(as_text=True)
    nonce = re.search(r'name="nonce" type="hidden" value="([^"]+)"', html).group(1)
    return client.post(f"/s/{token}", data=dict(ANSWERS, nonce=nonce))


def pending(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Comment)
                                 .where(Comment.label.is_(None)))


def test_failing_model_keeps_the_response_pending_then_classify_pending_recovers(
        app, client, runner, world, monkeypatch):
    app.config["CLASSIFY_ON_SUBMIT"] = "sync"

    def broken(texts, organisation_id=None):
        raise RuntimeError("model files are corrupt")

    monkeypatch.setattr(classification, "_classify_texts", broken)
    r = submit(client, world["token_a"])
    assert r.status_code == 302  # the employee sees the thank-you page
    with app.app_context():
        resp = db.session.scalars(select(Response)).one()
        assert resp.classification_status == "pending"
        assert resp.answers["reasons"].startswith("プロンプト")
    assert pending(app) == 2

    monkeypatch.undo()  # the model is back
    result = runner.invoke(args=["classify-pending"])
    assert result.exit_code == 0, result.output
    assert "classified 2 comment(s)" in result.output
    assert pending(app) == 0
    with app.app_context():
        resp = db.session.scalars(select(Response)).one()
        assert resp.classification_status == "done"
        labels = {c.item_id: c.label for c in resp.comments}
        assert labels == {"reasons": "support", "help_wanted": "leadership"}
        assert all(c.model_version for c in resp.comments)


def test_queue_mode_enqueues_and_the_worker_job_labels(app, client, world, monkeypatch):
    """The web process stores and enqueues without touching the model; the job labels."""
    from diagnosis.jobs import job_queue

    def no_model_here(texts, organisation_id=None):
        raise AssertionError("the web process must not run the model")

    app.config.update(CLASSIFY_ON_SUBMIT="queue", JOB_QUEUE_URL="memory")
    monkeypatch.setattr(classification, "_classify_texts", no_model_here)
    assert submit(client, world["token_a"]).status_code == 302
    assert pending(app) == 2
    monkeypatch.undo()
    huey = job_queue(app).huey
    assert job_queue(app).pending_jobs() == 1
    huey.execute(huey.dequeue())  # what `teichaku worker` does with the message
    assert pending(app) == 0
    with app.app_context():
        assert db.session.scalars(select(Response.classification_status)).one() == "done"


@pytest.mark.parametrize("mode", ["off"])
def test_off_leaves_comments_for_the_cli(app, client, world, mode):
    app.config["CLASSIFY_ON_SUBMIT"] = mode
    assert submit(client, world["token_a"]).status_code == 302
    assert pending(app) == 2


def test_configured_backend_is_used_for_labels_versions_and_report_figures(app):
    """EMBEDDING_MODEL set in the app's config (not the environment) drives all three."""
    import json
    from pathlib import Path

    from diagnosis.nlp import active_backend
    from diagnosis.reports.render import classifier_metrics

    app.config["EMBEDDING_MODEL"] = "use"
    with app.app_context():
        assert classification.configured_backend() == "use"
        assert classification.active_model_version().startswith("use:")
        models_dir = app.config["MODELS_DIR"]
        meta = json.loads((Path(models_dir) / "metadata.json").read_text(encoding="utf-8"))

        def primary_f1(backend):
            head = meta["heads"][backend]
            return head["eval_sets"][head["primary"]]["macro_f1"]

        assert primary_f1("use") != primary_f1(active_backend(models_dir))
        use_f1 = f"{primary_f1('use'):.2f}"
        assert classifier_metrics(models_dir, "use")["f1"] == use_f1
        default = classifier_metrics(models_dir, None)
        assert default["f1"] == f"{primary_f1(active_backend(models_dir)):.2f}"
    app.config["EMBEDDING_MODEL"] = "default"
    with app.app_context():
        assert classification.configured_backend() is None


def test_comments_from_another_model_version_are_reported_then_relabelled(app, client, runner, world):
    """A stored label from another classifier version is detected, never silently mixed."""
    from diagnosis.recommend.service import diagnose_campaign

    app.config["CLASSIFY_ON_SUBMIT"] = "sync"
    for _ in range(6):
        assert submit(client, world["token_a"]).status_code == 302
    with app.app_context():
        active = classification.active_model_version()
        comments = list(db.session.scalars(select(Comment).order_by(Comment.id)))
        assert {c.model_version for c in comments} == {active}
        for c in comments[:4]:  # as if an earlier model had labelled them
            c.model_version = "e5-int8:0123456789ab"
        comments[4].corrected_label = "purpose"  # a person's label is never stale
        comments[4].model_version = "e5-int8:0123456789ab"
        db.session.commit()
        d = diagnose_campaign(world["campaign_a"], "en", **classification.diagnose_options()).to_dict()
        assert d["classifier"]["stale"] == 4
        assert d["classifier"]["versions"] == {"e5-int8:0123456789ab": 4, active: len(comments) - 5}
        assert any("another version of the classifier" in f for f in d["findings"])
    result = runner.invoke(args=["classify-pending", "--stale"])
    assert result.exit_code == 0, result.output
    assert "relabelled 5 comment(s)" in result.output
    with app.app_context():
        assert {c.model_version for c in db.session.scalars(select(Comment))} == {active}
        assert db.session.scalars(select(Comment).order_by(Comment.id)).all()[4].corrected_label == "purpose"
        d = diagnose_campaign(world["campaign_a"], "en", **classification.diagnose_options()).to_dict()
        assert d["classifier"]["stale"] == 0
        assert not any("another version" in f for f in d["findings"])
