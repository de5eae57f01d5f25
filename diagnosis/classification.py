"""Classifying stored evidence. A response is always committed first; its comments are classified
later, by the worker (``teichaku worker``, fed by the job queue), inline, or by ``teichaku
classify-pending``, without losing anything when the model fails or a worker dies."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Sequence
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select, update

from .classifier_service import classifier_service
from .extensions import db
from .ops import log_event
from .progress import ProgressCallback
from .store.models import Campaign, Comment, InterviewNote, Organisation, Response, utcnow

log = logging.getLogger(__name__)


def configured_backend() -> str | None:
    """The app's EMBEDDING_MODEL setting, or None for the models' default."""
    return classifier_service().backend_setting()


def _classify_texts(texts: list[str], organisation_id: int | None = None) -> tuple[list, str | None]:
    """Classify with the organisation's classifier (:class:`ClassifierService`): the results and
    the version of the classifier that made them."""
    return classifier_service().classify(texts, organisation_id)


def active_model_version(organisation_id: int | None = None) -> str | None:
    """Version of the classifier that labels this organisation's comments now (the base model's
    without an organisation), read without loading any model."""
    return classifier_service().version_for(organisation_id)


def active_error_model(version: str | None):
    """The active classifier's known errors on the wild evaluation set (see ClassifierService)."""
    return classifier_service().error_model(version)


def diagnose_options(organisation_id: int | None = None) -> dict:
    """The app's settings every diagnosis takes: anonymity thresholds, the classifier version
    that labels this organisation's comments (evidence labelled by another version is reported,
    not silently mixed) and that classifier's error model (cause shares are corrected for its
    known errors: an adapted classifier's own, measured on the same wild set)."""
    from .adaptation import error_model_of

    cfg = current_app.config
    version = active_model_version(organisation_id)
    if organisation_id is not None and version is not None and "+org" in version:
        error_model = error_model_of(organisation_id, version)
    else:
        error_model = active_error_model(version)
    return {"min_group": cfg.get("MIN_GROUP"), "min_comments_group": cfg.get("MIN_COMMENTS_GROUP"),
            "classifier_version": version, "error_model": error_model}


def _organisations_of(comment_ids: Sequence[int]) -> dict[int, int]:
    """Comment id -> the organisation whose campaign it belongs to."""
    rows = db.session.execute(select(Comment.id, Campaign.organisation_id)
                              .join(Campaign, Comment.campaign_id == Campaign.id)
                              .where(Comment.id.in_(list(comment_ids))))
    return {cid: org for cid, org in rows}


def _by_organisation(comments: Sequence[Comment]) -> dict[int | None, list[Comment]]:
    """Comments grouped by organisation: each is classified by its own organisation's model."""
    orgs = _organisations_of([c.id for c in comments])
    groups: dict[int | None, list[Comment]] = {}
    for c in comments:
        groups.setdefault(orgs.get(c.id), []).append(c)
    return groups


def classify_comments(comments: Sequence[Comment]) -> int:
    """Classify the given comments in place (not committed). Returns how many were labelled."""
    for org, group in _by_organisation(comments).items():
        results, version = _classify_texts([c.text for c in group], org)
        for comment, result in zip(group, results, strict=True):
            for key, value in _label_values(result, version).items():
                setattr(comment, key, value)
    return len(comments)


def _label_values(result: Any, version: str | None) -> dict[str, Any]:
    """The columns a classification writes on a comment (each sentence's label too, when the
    answer has several: the review queue looks for sentences that disagree)."""
    sentences = [s.label for s in result.sentences] if len(result.sentences) > 1 else None
    return {"label": result.label, "confidence": float(result.confidence),
            "scores": {k: round(float(v), 4) for k, v in result.scores.items()},
            "model_version": version, "sentence_labels": sentences}


def _claimable(now: dt.datetime):
    """Pending comments nobody holds a live lease on."""
    return Comment.label.is_(None) & (Comment.claimed_until.is_(None) | (Comment.claimed_until < now))


def _owner_scope(response_ids: Sequence[int], interview_ids: Sequence[int]) -> list:
    """Where-clauses limiting a claim to the comments of these responses and interview notes."""
    if not (response_ids or interview_ids):
        return []
    return [or_(Comment.response_id.in_(list(response_ids)), Comment.interview_id.in_(list(interview_ids)))]


def claim_batch(size: int, scope: Sequence = ()) -> str | None:
    """Lease up to ``size`` pending comments (oldest first) and commit the lease; return its token,
    or None when nothing is left to claim.

    The UPDATE re-checks that each row is still claimable, so two workers racing for the same
    rows split them: a row goes to whichever UPDATE commits first. A lease that runs out (its
    worker died) makes the rows claimable again.
    """
    now = utcnow()
    ids = list(db.session.scalars(select(Comment.id).where(_claimable(now), *scope)
                                  .order_by(Comment.id).limit(size)))
    if not ids:
        db.session.rollback()
        return None
    token = secrets.token_hex(16)
    lease = dt.timedelta(seconds=float(current_app.config.get("CLASSIFY_LEASE_SECONDS", 300)))
    claimed = db.session.execute(
        update(Comment).where(Comment.id.in_(ids), _claimable(now))
        .values(claim_token=token, claimed_until=now + lease)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return token if claimed else claim_batch(size, scope)


def classify_claimed(token: str) -> list[int]:
    """Classify the comments leased under ``token`` and commit the labels of those whose lease
    still holds; returns their ids. Nothing is written for a comment another worker has taken
    over since (its lease ran out), so no comment is ever labelled twice."""
    comments = list(db.session.scalars(select(Comment).where(Comment.claim_token == token,
                                                             Comment.label.is_(None))
                                       .order_by(Comment.id)))
    if not comments:
        db.session.rollback()
        return []
    groups = _by_organisation(comments)
    db.session.rollback()  # no transaction held open while the model works
    labelled: list[tuple[Comment, Any, str | None]] = []
    try:
        for org, group in groups.items():
            results, version = _classify_texts([c.text for c in group], org)
            labelled.extend((c, r, version) for c, r in zip(group, results, strict=True))
    except Exception:
        release_claim(token)  # the model failed here: leave the batch to the next run at once
        raise
    written: list[int] = []
    for comment, result, version in labelled:
        done = db.session.execute(
            update(Comment).where(Comment.id == comment.id, Comment.claim_token == token,
                                  Comment.label.is_(None))
            .values(**_label_values(result, version), claim_token=None, claimed_until=None)
            .execution_options(synchronize_session=False)).rowcount
        if done:
            written.append(comment.id)
    _finish_owners(written)
    db.session.commit()
    db.session.expire_all()
    return written


def release_claim(token: str) -> None:
    """Give back a lease without labelling (the model failed): the comments are pending again."""
    db.session.rollback()
    db.session.execute(update(Comment).where(Comment.claim_token == token, Comment.label.is_(None))
                       .values(claim_token=None, claimed_until=None)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def _finish_owners(comment_ids: Sequence[int]) -> None:
    """Mark done every response and interview note of these comments that has nothing pending."""
    if not comment_ids:
        return
    for model, column in ((Response, Comment.response_id), (InterviewNote, Comment.interview_id)):
        owners = select(column).where(Comment.id.in_(list(comment_ids)), column.is_not(None))
        still_pending = select(column).where(column.is_not(None), Comment.label.is_(None))
        db.session.execute(
            update(model).where(model.id.in_(owners), model.id.not_in(still_pending))
            .values(classification_status="done").execution_options(synchronize_session=False))


def pending_count(response_ids: Sequence[int] = (), interview_ids: Sequence[int] = ()) -> int:
    """How many comments (of these owners, or of all) are not classified yet."""
    return db.session.scalar(select(func.count()).select_from(Comment).where(
        Comment.label.is_(None), *_owner_scope(response_ids, interview_ids))) or 0


def classify_pending(limit: int | None = None, response_ids: Sequence[int] = (),
                     interview_ids: Sequence[int] = (), on_progress: ProgressCallback | None = None) -> int:
    """Classify pending comments (of these owners, or all) batch by batch, oldest first; each batch
    is leased, classified and committed on its own, so an interruption loses at most the batch
    in hand, which another run takes up once its lease ends. Returns how many were labelled."""
    size = int(current_app.config.get("CLASSIFY_BATCH_SIZE", 64))
    scope = _owner_scope(response_ids, interview_ids)
    total = 0
    while limit is None or total < limit:
        token = claim_batch(size if limit is None else min(size, limit - total), scope)
        if token is None:
            break
        written = classify_claimed(token)
        total += len(written)
        if written:
            log_event("comments_classified", count=len(written), comment_ids=written)
        if on_progress is not None:
            on_progress(len(written))
    return total


def stale_comments_query(version: str | None, organisation_id: int | None = None):
    """Machine-labelled comments (of one organisation, or all) whose label came from another
    model version than ``version``."""
    stmt = select(Comment).where(
        Comment.label.is_not(None),
        (Comment.model_version.is_(None)) | (Comment.model_version != (version or "")),
    )
    if organisation_id is not None:
        stmt = stmt.join(Campaign, Comment.campaign_id == Campaign.id).where(
            Campaign.organisation_id == organisation_id)
    return stmt


def _organisation_ids(organisation_id: int | None) -> list[int]:
    if organisation_id is not None:
        return [organisation_id]
    return list(db.session.scalars(select(Organisation.id).order_by(Organisation.id)))


def stale_count(organisation_id: int | None = None) -> int:
    """How many comments (of one organisation, or all) the classifier now in use for their
    organisation did not label."""
    total = 0
    for org in _organisation_ids(organisation_id):
        stmt = stale_comments_query(active_model_version(org), org).with_only_columns(func.count())
        total += db.session.scalar(stmt) or 0
    return total


def reclassify_stale(batch_size: int = 256, on_progress: ProgressCallback | None = None,
                     organisation_id: int | None = None) -> int:
    """Relabel every comment (of one organisation, or all) classified by another model version
    than the one now in use for its organisation (the base model, or the organisation's adapted
    one).

    Human corrections are kept (they still win over the new label); only the machine label,
    its scores and version change. Returns how many comments were relabelled.
    """
    total = 0
    for org in _organisation_ids(organisation_id):
        version = active_model_version(org)
        last_id = 0
        while True:
            stmt = (stale_comments_query(version, org).where(Comment.id > last_id)
                    .order_by(Comment.id).limit(batch_size))
            batch = list(db.session.scalars(stmt))
            if not batch:
                break
            results, used = _classify_texts([c.text for c in batch], org)
            for comment, result in zip(batch, results, strict=True):
                for key, value in _label_values(result, used).items():
                    setattr(comment, key, value)
            db.session.commit()
            total += len(batch)
            last_id = batch[-1].id
            if on_progress is not None:
                on_progress(len(batch))
    return total


def classify_owned(response_ids: Sequence[int] = (), interview_ids: Sequence[int] = ()) -> int:
    """Classify the pending comments of the given responses and interview notes, committing."""
    if not (response_ids or interview_ids):
        return 0
    return classify_pending(response_ids=response_ids, interview_ids=interview_ids)


def schedule_classification(response_ids: Sequence[int] = (),
                            interview_ids: Sequence[int] = ()) -> None:
    """After the commit, as configured: hand the work to the job queue (the default), classify
    inline ("sync"), or leave it for ``teichaku classify-pending`` ("off").

    Never raises: the answers are already stored, and whatever is not classified now stays
    pending for the worker's next sweep or the CLI.
    """
    mode = current_app.config.get("CLASSIFY_ON_SUBMIT", "queue")
    if mode == "off" or not (response_ids or interview_ids):
        return
    try:
        if mode == "sync":
            classify_owned(list(response_ids), list(interview_ids))
        else:
            from .jobs import job_queue

            job_queue().classify(list(response_ids), list(interview_ids))
    except Exception:  # noqa: BLE001 - the response is stored; the work stays pending
        db.session.rollback()
        log.exception("classification not %s; %d response(s), %d note(s) left pending",
                      "done" if mode == "sync" else "queued", len(response_ids), len(interview_ids))
