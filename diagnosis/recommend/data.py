"""Plain data a diagnosis works on, detached from the database (see :mod:`.loader`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..vocabulary import CAUSES, LABELS, SEGMENT_FIELDS, UNCLEAR, USAGE_CODES

__all__ = ["CAUSES", "LABELS", "SEGMENT_FIELDS", "UNCLEAR", "USAGE_CODES"]


@dataclass(frozen=True)
class LikertSpec:
    """A Likert item: which cause it measures and whether it is worded negatively."""

    id: str
    cause: str
    reverse: bool = False


@dataclass(frozen=True)
class ReasonOption:
    """One option of the reason checklist: the cause it names (None for "something else"),
    the support remedy it calls for, and its label in both languages."""

    code: str
    cause: str | None
    remedy: str | None = None
    label: dict[str, str] = field(default_factory=dict)

    def name(self, lang: str) -> str:
        """Display label, the code when there is none."""
        return self.label.get(lang) or self.label.get("ja") or self.code


@dataclass(frozen=True)
class ReasonSpec:
    """The reason checklist of a questionnaire: which answer holds it and what each option means."""

    item_id: str
    options: tuple[ReasonOption, ...]
    max_choices: int = 3

    def option(self, code: str) -> ReasonOption | None:
        """The option with this code, None when unknown."""
        return next((o for o in self.options if o.code == code), None)


@dataclass(frozen=True)
class ResponseData:
    """One anonymous response: answers by item id and its segment values."""

    id: int
    answers: dict[str, Any]
    segments: dict[str, str | None] = field(default_factory=dict)
    # The released snapshot that first included this response (see :mod:`.anonymity`); plain
    # data built without one counts as a single snapshot.
    snapshot: int = 1

    @property
    def usage(self) -> str | None:
        """The usage funnel code, when answered and known."""
        value = self.answers.get("usage")
        return value if value in USAGE_CODES else None


@dataclass(frozen=True)
class Evidence:
    """One classified unit of free text (a survey comment or an interview sentence)."""

    id: int
    text: str
    label: str | None
    confidence: float
    source: str = "survey"
    item_id: str | None = None
    segments: dict[str, str | None] = field(default_factory=dict)
    response_id: int | None = None
    model_version: str | None = None
    corrected: bool = False
    scores: dict[str, float] | None = None  # the classifier's calibrated probability per label


@dataclass(frozen=True)
class OrgContext:
    """What the recommender needs to know about the organisation."""

    employee_count: int
    rollout_date: dt.date | None
    report_date: dt.date
    name: str = ""


@dataclass(frozen=True)
class CampaignData:
    """A campaign turned into plain data: the only input of the pure diagnosis functions."""

    campaign_id: int
    slug: str
    name: str
    organisation_id: int
    questionnaire_id: str
    questionnaire_version: int
    context: OrgContext
    likert_items: tuple[LikertSpec, ...]
    responses: tuple[ResponseData, ...]
    evidence: tuple[Evidence, ...] = ()
    # field -> code -> {"ja": ..., "en": ...}; used only for display.
    segment_labels: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    # The reason checklist, None when the questionnaire version has none.
    reasons: ReasonSpec | None = None
    # Responses stored, released or not (None: the responses above are all there is).
    received: int | None = None
    # Comments (survey and interview) stored but with no cause yet, machine or human: they wait
    # for the classifier and are in no part of the diagnosis (see :mod:`.sanity`).
    pending_comments: int = 0
    # The campaign no longer accepts answers.
    closed: bool = False

    def segment_label(self, field_name: str, code: str, lang: str) -> str:
        """Display label of a segment value, the code itself when unknown."""
        labels = self.segment_labels.get(field_name, {}).get(code)
        return (labels or {}).get(lang) or code
