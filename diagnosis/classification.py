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


def active_model_version() -> str | None:
    """Version of the classifier that labels comments now (same backend as ``_classify_texts``),
    read from metadata.json without loading the model."""
    from .nlp import model_version

    try:
        return model_version(models_dir=current_app.config.get("MODELS_DIR"), backend=configured_backend())
    except (OSError, ValueError):
        return None


_ERROR_MODELS: dict[str, object] = {}


def active_error_model(version: str | None):
    """The active classifier's known errors on the wild evaluation set, as the diagnosis's error
    model for correcting cause shares; None when there is no record made by this version."""
    from .nlp import active_backend, default_models_dir
    from .nlp.error_model import load_error_record
    from .recommend.quantify import ErrorModel

    if version in _ERROR_MODELS:  # loaded once per classifier version, not per diagnosis
        return _ERROR_MODELS[version]
    models_dir = current_app.config.get("MODELS_DIR") or default_models_dir()
    try:
        backend = active_backend(models_dir, configured_backend())
        record = load_error_record(models_dir, backend, version)
    except (OSError, ValueError, KeyError) as exc:
        log.warning("no error model for corrected shares: %s", exc)
        return None
    if record is None:
        return None
    _ERROR_MODELS.clear()  # one per version: its bootstrap matrices are computed once
    _ERROR_MODELS[record.model_version] = ErrorModel(record.labels, record.posteriors, record.truth, record.source)
    return _ERROR_MODELS[record.model_version]


def diagnose_options() -> dict:
    """The app's settings every diagnosis takes: anonymity thresholds, the active classifier
    version (evidence labelled by another version is reported, not silently mixed) and that
    classifier's error model (cause shares are corrected for its known errors)."""
    cfg = current_app.config
    version = active_model_version()
    return {"min_group": cfg.get("MIN_GROUP"), "min_comments_group": cfg.get("MIN_COMMENTS_GROUP"),
            "classifier_version": version, "error_model": active_error_model(version)}


def classify_comments(comments: Sequence[Comment]) -> int:
    """Classify the given comments in place (not committed). Returns how many were labelled."""
    if not comments:
        return 0
    results = _classify_texts([c.text for c in comments])
    version = active_model_version()
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


def stale_comments_query(version: str | None):
    """Machine-labelled comments whose label came from another model version than ``version``."""
    return select(Comment).where(
        Comment.label.is_not(None),
        (Comment.model_version.is_(None)) | (Comment.model_version != (version or "")),
    )


def reclassify_stale(batch_size: int = 256) -> int:
    """Relabel every comment classified by another model version than the active one.

    Human corrections are kept (they still win over the new label); only the machine label,
    its scores and version change. Returns how many comments were relabelled.
    """
    version = active_model_version()
    total = 0
    last_id = 0
    while True:
        stmt = stale_comments_query(version).where(Comment.id > last_id).order_by(Comment.id).limit(batch_size)
        batch = list(db.session.scalars(stmt))
        if not batch:
            return total
        classify_comments(batch)
        db.session.commit()
        total += len(batch)
        last_id = batch[-1].id


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
