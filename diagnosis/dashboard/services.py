"""Queries behind the dashboard: the diagnosis, wave comparison, comments browser, interviews, QR.

Every number shown comes from :func:`diagnosis.recommend.service.diagnose_campaign`, where the
anonymity rules live; this module only selects, filters and redacts what may be shown.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..adaptation import summary as adaptation_summary
from ..classification import diagnose_options
from ..extensions import db
from ..i18n import translate
from ..interviews import add_interview
from ..presenter import View, present
from ..questionnaire import Questionnaire, questionnaire_for
from ..recommend.anonymity import (
    COMMENT_FIELD,
    refinement_shown,
    restricted_filter,
    shuffle_key,
)
from ..recommend.playbook import Playbook, load_playbook
from ..recommend.redact import redact
from ..recommend.service import Diagnosis, diagnose_campaign
from ..store.models import SEGMENT_FIELDS, Campaign, Comment, InterviewNote, Response
from ..vocabulary import LABELS, UNCLEAR
from ..workspace import released_snapshot

PAGE_SIZE = 50
MAX_UPLOAD_BYTES = 200_000
CONFIDENCE_BANDS: dict[str, tuple[float, float]] = {
    "high": (0.8, 1.01), "medium": (0.5, 0.8), "low": (0.0, 0.5),
}
CAUSE_FILTERS = (*LABELS, UNCLEAR, "pending", "corrected")
SOURCES = ("survey", "interview")


def questionnaire_of(campaign: Campaign) -> Questionnaire | None:
    """The loaded questionnaire of a campaign (None when it is no longer installed)."""
    return questionnaire_for(current_app.extensions["questionnaires"], campaign)


def playbook() -> Playbook:
    """The remedy playbook (cached by the loader)."""
    return load_playbook()


def order_secret(campaign: Campaign) -> str:
    """The campaign's secret for the order of its lists (``anonymity.shuffle_key``): derived from
    the app's secret key, so it is neither stored nor shown, and differs per campaign."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"teichaku-list-order:{campaign.id}".encode(), hashlib.sha256).hexdigest()


def response_counts(campaign_ids: list[int]) -> dict[int, int]:
    """Number of responses per campaign, for the given campaigns only."""
    if not campaign_ids:
        return {}
    rows = db.session.execute(
        select(Response.campaign_id, func.count(Response.id))
        .where(Response.campaign_id.in_(campaign_ids)).group_by(Response.campaign_id))
    return dict(rows.all())


def campaign_diagnosis(campaign: Campaign, lang: str) -> Diagnosis:
    """The campaign's diagnosis with the configured anonymity thresholds."""
    return diagnose_campaign(campaign, lang, session=db.session,
                             questionnaire=questionnaire_of(campaign),
                             **diagnose_options(campaign.organisation_id))


def classifier_figures() -> dict[str, Any] | None:
    """The deployed classifier's measured accuracy (wild set first), as the PDF quotes it."""
    from ..classification import configured_backend
    from ..reports.render import classifier_metrics

    return classifier_metrics(current_app.config.get("MODELS_DIR"), configured_backend())


def campaign_view(campaign: Campaign, lang: str) -> View:
    """The campaign's diagnosis as the dashboard and the CSV export show it (the PDF too, with its
    report date): one presenter, :func:`diagnosis.presenter.present`."""
    return present(campaign, lang, lambda c: campaign_diagnosis(c, lang), playbook())


def interview_counts(campaign: Campaign) -> tuple[int, int]:
    """Number of interview notes and of their sentences (evidence) in the campaign."""
    notes = db.session.scalar(select(func.count(InterviewNote.id)).where(
        InterviewNote.campaign_id == campaign.id)) or 0
    sentences = db.session.scalar(select(func.count(Comment.id)).where(
        Comment.campaign_id == campaign.id, Comment.source == "interview")) or 0
    return notes, sentences


# ---------------------------------------------------------------- comments browser


@dataclass(frozen=True)
class SegmentOption:
    """A department whose comments may be listed on their own (see ``anonymity.COMMENT_FIELD``)."""

    field: str
    value: str
    label: str

    @property
    def key(self) -> str:
        return f"{self.field}:{self.value}"


def segment_options(diag: Diagnosis) -> list[SegmentOption]:
    """Groups of the comment field released with at least MIN_COMMENTS_GROUP people; no other
    field is offered, so two comment lists can never intersect into a small group."""
    release = diag.release
    if release is None or not survey_comments_visible(diag):
        return []
    values = release.comment_groups(diag.thresholds.min_comments_group)
    return [SegmentOption(COMMENT_FIELD, v, diag.data.segment_label(COMMENT_FIELD, v, diag.lang))
            for v in sorted(values, key=lambda v: diag.data.segment_label(COMMENT_FIELD, v, diag.lang))]


def survey_comments_visible(diag: Diagnosis) -> bool:
    """Survey comments are listed once MIN_COMMENTS_GROUP respondents' comments are released."""
    released = len(diag.release.comment_members) if diag.release else diag.responses
    return released >= diag.thresholds.min_comments_group


@dataclass
class CommentFilters:
    """Validated filters of the comments browser; unknown values are dropped, not trusted."""

    cause: str | None = None
    confidence: str | None = None
    segment: SegmentOption | None = None
    source: str | None = None
    q: str = ""
    page: int = 1

    @classmethod
    def parse(cls, args: Any, options: list[SegmentOption]) -> CommentFilters:
        """Read filters from request arguments, keeping only offered values."""
        by_key = {o.key: o for o in options}
        try:
            page = max(1, int(args.get("page", 1)))
        except (TypeError, ValueError):
            page = 1
        cause = args.get("cause")
        conf = args.get("confidence")
        source = args.get("source")
        return cls(cause=cause if cause in CAUSE_FILTERS else None,
                   confidence=conf if conf in CONFIDENCE_BANDS else None,
                   segment=by_key.get(args.get("segment") or ""),
                   source=source if source in SOURCES else None,
                   q=" ".join((args.get("q") or "").split())[:100], page=page)

    def query_args(self, **override: Any) -> dict[str, Any]:
        """The filters as URL arguments (for pagination and the redirect after a correction)."""
        out = {"cause": self.cause, "confidence": self.confidence,
               "segment": self.segment.key if self.segment else None, "source": self.source,
               "q": self.q or None, "page": self.page if self.page > 1 else None}
        out.update(override)
        return {k: v for k, v in out.items() if v is not None}

    def matches(self, row: CommentRow) -> bool:
        """True when a row of the segment's list passes the other filters."""
        if self.source and row.source != self.source:
            return False
        if self.cause == "pending":
            if row.label is not None or row.corrected_label is not None:
                return False
        elif self.cause == "corrected":
            if row.corrected_label is None:
                return False
        elif self.cause and row.effective_label != self.cause:
            return False
        if self.confidence:
            lo, hi = CONFIDENCE_BANDS[self.confidence]
            if row.corrected_label is not None or row.confidence is None \
                    or not lo <= row.confidence < hi:
                return False
        # Search the redacted text: searching the raw one would reveal a redacted name.
        return not self.q or self.q.casefold() in row.text.casefold()


@dataclass
class CommentRow:
    """One comment as shown: redacted text, predicted and effective cause."""

    id: int
    source: str
    item_id: str | None
    text: str
    label: str | None
    confidence: float | None
    corrected_label: str | None
    interview_title: str | None = None
    response_id: int | None = None

    @property
    def effective_label(self) -> str | None:
        return self.corrected_label or self.label


@dataclass
class CommentPage:
    """A page of filtered comments."""

    rows: list[CommentRow] = field(default_factory=list)
    total: int = 0
    page: int = 1
    pages: int = 1
    survey_hidden: bool = False
    refinement_hidden: bool = False  # a cause or keyword filter matched too few or too many
    held_back: int = 0  # released responses' comments waiting for their department's next step


def _row(c: Comment) -> CommentRow:
    return CommentRow(c.id, c.source, c.item_id, redact(c.text), c.label, c.confidence,
                      c.corrected_label, c.interview.title if c.interview is not None else None,
                      c.response_id)


def list_comments(campaign: Campaign, filters: CommentFilters, diag: Diagnosis) -> CommentPage:
    """Filtered, redacted comments of a campaign's released snapshot, one page at a time."""
    release = diag.release
    visible = survey_comments_visible(diag)
    m = diag.thresholds.min_group
    comments = list(db.session.scalars(
        select(Comment).where(Comment.campaign_id == campaign.id)
        .options(selectinload(Comment.interview))))
    rows = [_row(c) for c in shown_comments(comments, diag, filters.segment)]
    matched = [r for r in rows if filters.matches(r)]
    refinement_hidden = False
    if restricted_filter(filters.cause, filters.q):
        people = {r.response_id for r in rows if r.source == "survey"}
        hits = {r.response_id for r in matched if r.source == "survey"}
        if not refinement_shown(len(hits), len(people), m):
            matched = [r for r in matched if r.source != "survey"]
            refinement_hidden = True
    # A fixed random order per campaign: never newest first, which would point at the latest.
    secret = order_secret(campaign)
    matched.sort(key=lambda r: shuffle_key(secret, r.id))
    total = len(matched)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(filters.page, pages)
    start = (page - 1) * PAGE_SIZE
    survey = [c for c in comments if c.source == "survey"]
    hidden = not visible and bool(survey)
    held = 0
    if visible and release is not None and filters.segment is None:
        held = sum(1 for c in survey if c.response_id in release.included
                   and c.response_id not in release.comment_members)
    return CommentPage(matched[start:start + PAGE_SIZE], total, page, pages, bool(hidden),
                       refinement_hidden, held)


def shown_comments(comments: list[Comment], diag: Diagnosis,
                   segment: SegmentOption | None = None) -> list[Comment]:
    """The comments the browser may show (of one comment-field group, or all): survey comments
    of the released snapshot once enough are released, and interview sentences."""
    release = diag.release
    if not survey_comments_visible(diag) or release is None:
        allowed: frozenset[int] = frozenset()
    elif segment is not None:
        allowed = release.group(COMMENT_FIELD, segment.value)
    else:
        allowed = release.comment_members
    return [c for c in comments
            if (c.source == "survey" and c.response_id in allowed)
            or (c.source == "interview" and (segment is None or getattr(
                c.interview, COMMENT_FIELD, None) == segment.value))]


def comment_or_none(campaign: Campaign, comment_id: int, diag: Diagnosis) -> Comment | None:
    """A comment of this campaign that the browser may show (None otherwise)."""
    c = db.session.get(Comment, comment_id)
    if c is None or c.campaign_id != campaign.id:
        return None
    if c.source == "survey" and not (survey_comments_visible(diag) and diag.release is not None
                                     and c.response_id in diag.release.comment_members):
        return None
    return c


# ---------------------------------------------------------------- interviews


class UploadError(ValueError):
    """An uploaded notes file that cannot be used; the message is shown to the user."""


def read_upload(data: bytes, filename: str, lang: str) -> str:
    """Text of an uploaded notes file: UTF-8 (with or without BOM), at most MAX_UPLOAD_BYTES."""
    if not filename.lower().endswith(".txt"):
        raise UploadError(translate("Please upload a .txt file.", lang))
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(translate("The file is larger than {kb} KB.", lang, kb=MAX_UPLOAD_BYTES // 1000))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadError(translate("The file is not UTF-8 text. Save it as “UTF-8” (e.g. in Notepad: Save as → "
                                    "Encoding) and upload it again.", lang)) from None


def segment_choices(campaign: Campaign, lang: str) -> dict[str, list[tuple[str, str]]]:
    """Segment field → [(code, label)] from the campaign's questionnaire."""
    q = questionnaire_of(campaign)
    out: dict[str, list[tuple[str, str]]] = {f: [] for f in SEGMENT_FIELDS}
    if q is None:
        return out
    for item in q.items_of_type("segment"):
        if item.id in out:
            out[item.id] = [(o.code, o.label.get(lang))
                            for o in item.options]
    return out


def create_interview(campaign: Campaign, user_id: int, title: str, text: str,
                     **kwargs: Any) -> InterviewNote:
    """Store interview notes split into sentences and commit (classification is scheduled by the caller)."""
    note = add_interview(campaign, title, text, created_by_id=user_id, **kwargs)
    db.session.commit()
    return note


def interviews_of(campaign: Campaign) -> list[InterviewNote]:
    """The campaign's interview notes, newest first."""
    return list(db.session.scalars(select(InterviewNote).where(
        InterviewNote.campaign_id == campaign.id).order_by(InterviewNote.created_at.desc(),
                                                           InterviewNote.id.desc())))


def interview_or_404(campaign: Campaign, interview_id: int) -> InterviewNote | None:
    """An interview note of this campaign, or None."""
    note = db.session.get(InterviewNote, interview_id)
    return note if note is not None and note.campaign_id == campaign.id else None


# ---------------------------------------------------------------- workspace


def survey_qr_svg(url: str, label: str) -> Markup:
    """The survey link as a QR code in inline SVG (made locally: no external request)."""
    import qrcode
    from qrcode.image.svg import SvgPathFillImage

    img = qrcode.make(url, image_factory=SvgPathFillImage, box_size=10, border=4,
                      error_correction=qrcode.constants.ERROR_CORRECT_M)
    svg = img.to_string(encoding="unicode")
    svg = svg[svg.index("<svg"):]
    # Size by CSS: drop the fixed millimetre width and height.
    head_end = svg.index(">")
    head = svg[:head_end]
    for attr in ("width", "height"):
        start = head.find(f' {attr}="')
        if start >= 0:
            end = head.index('"', start + len(attr) + 3)
            head = head[:start] + head[end + 1:]
    head += f' class="qr" role="img" aria-label="{escape(label)}"'
    # The SVG holds only path data generated here, and the escaped label.
    return Markup(head + svg[head_end:])  # noqa: S704


def dx_leads(campaign: Campaign) -> list:
    """Users who can see the campaign's organisation, DX leads first."""
    return sorted(campaign.organisation.users, key=lambda u: (u.is_consultant, u.name))



# ---------------------------------------------------------------- review queue and adaptation


@dataclass(frozen=True)
class Visibility:
    """What the comment pages may show, worked out without a whole diagnosis (the review queue
    loads on every decision): the released snapshot and the thresholds."""

    release: Any
    thresholds: Any
    responses: int


def comment_visibility(campaign: Campaign) -> Visibility:
    """The campaign's released snapshot, as its diagnosis would release it."""
    release, th = released_snapshot(campaign)
    return Visibility(release, th, len(release.included))


def unclear_threshold() -> float:
    """The active classifier's unclear threshold, from metadata.json (0.5 when unknown)."""
    from ..classification import configured_backend
    from ..nlp import active_backend
    from ..nlp.metadata import read_metadata

    try:
        models_dir = current_app.config.get("MODELS_DIR")
        meta = read_metadata(models_dir) if models_dir else {}
        return float(meta["heads"][active_backend(models_dir, configured_backend())]["unclear_threshold"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.5


@dataclass
class ReviewState:
    """The review queue of a campaign and the progress around it."""

    queue: list[Any]  # review.Pick, in order: the next ``limit`` of the waiting comments
    waiting: int  # every unreviewed comment that may be shown
    comments: dict[int, Comment]
    reviewed: int  # in this campaign
    agreement: float | None
    adaptation: dict[str, Any]


def review_state(campaign: Campaign, vis: Visibility, limit: int = 50) -> ReviewState:
    """Unreviewed classified comments the browser may show, in review order, and progress."""
    from ..review import Candidate, agreement, order

    comments = list(db.session.scalars(select(Comment).where(Comment.campaign_id == campaign.id)
                                       .options(selectinload(Comment.interview))))
    shown = shown_comments(comments, vis)  # type: ignore[arg-type]
    todo = [c for c in shown if c.corrected_label is None and c.label is not None]
    # The next `limit` in order (the queue is worked out again after each decision); the diversity
    # pass looks at the 3 × limit most useful, which keeps a page well under 100 ms.
    picks = order((Candidate(c.id, c.text, c.label, c.scores, c.sentence_labels) for c in todo),
                  unclear_threshold(), limit=limit, pool=3 * limit)
    n, agree = agreement((c.review_model_label, c.corrected_label) for c in shown)
    return ReviewState(picks, len(todo), {c.id: c for c in shown}, n, agree,
                       adaptation_summary(campaign.organisation_id))
