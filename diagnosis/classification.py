"""Classifying stored evidence. A response is always committed first; classification may fail or
run later (``teichaku classify-pending``) without losing anything."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from flask import Flask, current_app
from sqlalchemy import select

from .extensions import db
from .models import Comment, InterviewNote, Response

log = logging.getLogger(__name__)
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def configured_backend() -> str | None:
    """The app's EMBEDDING_MODEL setting, or None for the models' default."""
    backend = current_app.config.get("EMBEDDING_MODEL")
    return None if backend in (None, "", "default") else backend


def _classify_texts(texts: list[str]) -> list:
    """Call the NLP package (imported lazily: the model is heavy and loaded once per process)."""
    from .nlp import classify

    return classify(texts, models_dir=current_app.config.get("MODELS_DIR"), backend=configured_backend())


def _model_version() -> str | None:
    """Version of the classifier that labels comments: the same backend as ``_classify_texts``."""
    from .nlp import get_classifier

    clf = get_classifier(models_dir=current_app.config.get("MODELS_DIR"), backend=configured_backend())
    return getattr(clf, "version_", None)


def classify_comments(comments: Sequence[Comment]) -> int:
    """Classify the given comments in place (not committed). Returns how many were labelled."""
    if not comments:
        return 0
    results = _classify_texts([c.text for c in comments])
    version = _model_version()
    for comment, result in zip(comments, results, strict=True):
        comment.label = result.label
        comment.confidence = float(result.confidence)
        comment.scores = {k: round(float(v), 4) for k, v in result.scores.items()}
        comment.model_version = version
    return len(comments)


def _finish_owners(comments: Iterable[Comment]) -> None:
    for c in comments:
        owner = c.response or c.interview
        if owner is not None and all(x.label is not None for x in owner.comments):
            owner.classification_status = "done"


def classify_pending(limit: int | None = None, batch_size: int = 256) -> int:
    """Classify every pending comment (oldest first) and mark their owners done."""
    total = 0
    while True:
        stmt = select(Comment).where(Comment.label.is_(None)).order_by(Comment.id).limit(batch_size)
        batch = list(db.session.scalars(stmt))
        if limit is not None:
            batch = batch[: max(0, limit - total)]
        if not batch:
            return total
        classify_comments(batch)
        _finish_owners(batch)
        db.session.commit()
        total += len(batch)


def classify_owned(response_ids: Sequence[int] = (), interview_ids: Sequence[int] = ()) -> int:
    """Classify the comments of the given responses and interview notes, then commit."""
    comments: list[Comment] = []
    if response_ids:
        comments += db.session.scalars(
            select(Comment).join(Response).where(Response.id.in_(response_ids),
                                                 Comment.label.is_(None)))
    if interview_ids:
        comments += db.session.scalars(
            select(Comment).join(InterviewNote).where(InterviewNote.id.in_(interview_ids),
                                                      Comment.label.is_(None)))
    n = classify_comments(comments)
    _finish_owners(comments)
    db.session.commit()
    return n


def _run(app: Flask, response_ids: list[int], interview_ids: list[int]) -> None:
    with app.app_context():
        try:
            classify_owned(response_ids, interview_ids)
        except Exception:
            # The answers are safe in the database; they stay pending for the next run.
            db.session.rollback()
            log.exception("classification failed; %d response(s) left pending",
                          len(response_ids) + len(interview_ids))
        finally:
            db.session.remove()


def schedule_classification(response_ids: Sequence[int] = (),
                            interview_ids: Sequence[int] = ()) -> None:
    """Classify after the commit, as configured: in a background thread, inline, or not at all."""
    mode = current_app.config.get("CLASSIFY_ON_SUBMIT", "background")
    if mode == "off" or not (response_ids or interview_ids):
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if mode == "sync":
        _run(app, list(response_ids), list(interview_ids))
        return
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classify")
    _executor.submit(_run, app, list(response_ids), list(interview_ids))
