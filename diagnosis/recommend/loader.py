"""The one module that reads the database: turns a campaign into :class:`CampaignData`.

Uses the SQLAlchemy session passed in, else ``diagnosis.extensions.db.session`` (which needs an
application context). Models are imported lazily so the pure modules never pull them in.
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

    from ..models import Campaign

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


def load_campaign(campaign: Any, *, session: Any = None, questionnaire: Any = None,
                  report_date: dt.date | None = None,
                  questionnaire_dir: str | None = None) -> CampaignData:
    """Read a campaign's responses, evidence and organisation context into plain data."""
    from sqlalchemy import select

    from ..models import Comment, InterviewNote, Response

    s = _session(session)
    c = find_campaign(campaign, s)
    if questionnaire is None:
        if questionnaire_dir is None:
            from .. import config

            questionnaire_dir = config.QUESTIONNAIRE_DIR
        questionnaire = _questionnaires(str(questionnaire_dir)).for_campaign(c)
    specs, labels = questionnaire_parts(questionnaire) if questionnaire is not None else ((), {})

    rows = list(s.scalars(select(Response).where(Response.campaign_id == c.id)
                          .order_by(Response.id)))
    responses = tuple(ResponseData(r.id, dict(r.answers or {}), r.segments()) for r in rows)
    by_response = {r.id: r.segments for r in responses}
    notes = {n.id: n.segments() for n in s.scalars(
        select(InterviewNote).where(InterviewNote.campaign_id == c.id))}
    evidence = []
    for cm in s.scalars(select(Comment).where(Comment.campaign_id == c.id).order_by(Comment.id)):
        if cm.response_id is not None:
            segs = by_response.get(cm.response_id, {})
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
                        labels, reason_spec(questionnaire))
