"""The one module that reads the database: turns a campaign into :class:`CampaignData`.

Uses the SQLAlchemy session passed in, else ``diagnosis.extensions.db.session`` (which needs an
application context). Models are imported lazily so the pure modules never pull them in.

Its one write is :func:`release_snapshot`: reading a campaign first releases a new snapshot when
one is due, so every reader (dashboard, exports, PDF, CLI) sees the same released responses.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from .data import (
    SEGMENT_FIELDS,
    CampaignData,
    Evidence,
    LikertSpec,
    OrgContext,
    ReasonOption,
    ReasonSpec,
    ResponseData,
)


class CampaignNotFound(LookupError):
    """No campaign with that id or slug."""


@lru_cache(maxsize=4)
def _questionnaires(directory: str) -> dict:
    from ..questionnaire import load_directory

    return load_directory(directory)


def _session(session: Any) -> Any:
    if session is not None:
        return session
    from ..extensions import db

    return db.session


def find_campaign(ref: Any, session: Any = None) -> Any:
    """A Campaign model from a model, an id or a slug."""
    from sqlalchemy import select

    from ..store.models import Campaign

    s = _session(session)
    if isinstance(ref, Campaign):
        return ref
    campaign = None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        campaign = s.get(Campaign, int(ref))
    if campaign is None and isinstance(ref, str):
        campaign = s.scalar(select(Campaign).where(Campaign.slug == ref))
    if campaign is None:
        raise CampaignNotFound(f"no campaign {ref!r}")
    return campaign


def questionnaire_parts(q: Any) -> tuple[tuple[LikertSpec, ...], dict]:
    """Likert specs and segment option labels of a questionnaire."""
    specs = tuple(LikertSpec(i.id, i.cause, bool(i.reverse))
                  for i in q.items_of_type("likert") if i.cause)
    labels = {i.id: {o.code: {"ja": o.label.ja, "en": o.label.en} for o in i.options}
              for i in q.items_of_type("segment") if i.id in SEGMENT_FIELDS}
    return specs, labels


def reason_spec(q: Any) -> ReasonSpec | None:
    """The reason checklist of a questionnaire as plain data (None when it has none)."""
    item = getattr(q, "reason_item", None) if q is not None else None
    if item is None:
        return None
    return ReasonSpec(item.id, tuple(
        ReasonOption(o.code, o.cause, o.remedy, {"ja": o.label.ja, "en": o.label.en})
        for o in item.options), item.max_choices or len(item.options))


def release_snapshot(campaign: Any, min_group: int, session: Any = None) -> int | None:
    """Give the responses waiting beyond the last snapshot a new snapshot number when at least
    ``min_group`` wait (:func:`.anonymity.release_due`), and commit; the new number or None.

    Safe under concurrent readers: two of them may share a number or split the waiting
    responses, and :func:`.anonymity.release_plan` still moves results only in steps of
    ``min_group``; a snapshot number, once given, never changes.
    """
    from sqlalchemy import func, select, update
    from sqlalchemy.exc import OperationalError

    from ..store.models import Response
    from .anonymity import release_due

    s = _session(session)
    c = find_campaign(campaign, s)
    waiting = Response.campaign_id == c.id, Response.snapshot_seq.is_(None)
    n, last_id = s.execute(select(func.count(Response.id), func.max(Response.id))
                           .where(*waiting)).one()
    if not release_due(n or 0, min_group):
        return None
    seq = (s.scalar(select(func.max(Response.snapshot_seq))
                    .where(Response.campaign_id == c.id)) or 0) + 1
    try:
        s.execute(update(Response).where(*waiting, Response.id <= last_id)
                  .values(snapshot_seq=seq).execution_options(synchronize_session=False))
        s.commit()
    except OperationalError:  # the database is busy: the next reader releases
        s.rollback()
        return None
    return seq


def pending_comments(campaign: Any, session: Any = None) -> int:
    """Comments of a campaign (survey and interview) that have no cause yet: neither the
    classifier nor a person has labelled them, so no diagnosis counts or quotes them."""
    from sqlalchemy import func, select

    from ..store.models import Comment

    s = _session(session)
    c = find_campaign(campaign, s)
    return s.scalar(select(func.count(Comment.id)).where(
        Comment.campaign_id == c.id, Comment.label.is_(None),
        Comment.corrected_label.is_(None))) or 0


def load_campaign(campaign: Any, *, session: Any = None, questionnaire: Any = None,
                  report_date: dt.date | None = None, questionnaire_dir: str | None = None,
                  release_min_group: int | None = None, everything: bool = False) -> CampaignData:
    """Read a campaign's released responses, their evidence and the organisation context.

    ``release_min_group`` releases a due snapshot first. ``everything`` reads every stored
    response as one snapshot, released or not (the consultant's ``teichaku diagnose --all``).
    """
    from sqlalchemy import func, select

    from ..store.models import Comment, InterviewNote, Response

    s = _session(session)
    c = find_campaign(campaign, s)
    if release_min_group is not None and not everything:
        release_snapshot(c, release_min_group, s)
    if questionnaire is None:
        if questionnaire_dir is None:
            from .. import config

            questionnaire_dir = config.QUESTIONNAIRE_DIR
        questionnaire = _questionnaires(str(questionnaire_dir)).for_campaign(c)
    specs, labels = questionnaire_parts(questionnaire) if questionnaire is not None else ((), {})

    stmt = select(Response).where(Response.campaign_id == c.id)
    if not everything:
        stmt = stmt.where(Response.snapshot_seq.is_not(None))
    rows = list(s.scalars(stmt.order_by(Response.id)))
    responses = tuple(ResponseData(r.id, dict(r.answers or {}), r.segments(),
                                   1 if everything else r.snapshot_seq) for r in rows)
    received = s.scalar(select(func.count(Response.id)).where(Response.campaign_id == c.id))
    by_response = {r.id: r.segments for r in responses}
    notes = {n.id: n.segments() for n in s.scalars(
        select(InterviewNote).where(InterviewNote.campaign_id == c.id))}
    evidence = []
    for cm in s.scalars(select(Comment).where(Comment.campaign_id == c.id).order_by(Comment.id)):
        if cm.response_id is not None:
            if cm.response_id not in by_response:
                continue  # its response is not released yet
            segs = by_response[cm.response_id]
        elif cm.interview_id is not None:
            segs = notes.get(cm.interview_id, {})
        else:
            segs = {}
        confidence = 1.0 if cm.corrected_label else float(cm.confidence or 0.0)
        evidence.append(Evidence(cm.id, cm.text, cm.effective_label, confidence, cm.source,
                                 cm.item_id, dict(segs), cm.response_id, cm.model_version,
                                 bool(cm.corrected_label), cm.scores or None))
    org = c.organisation
    context = OrgContext(org.employee_count, org.rollout_date,
                         report_date or dt.date.today(), org.name)
    return CampaignData(c.id, c.slug, c.name, c.organisation_id, c.questionnaire_id,
                        c.questionnaire_version, context, specs, responses, tuple(evidence),
                        labels, received=received, reasons=reason_spec(questionnaire),
                        pending_comments=pending_comments(c, s), closed=c.state() == "closed")
