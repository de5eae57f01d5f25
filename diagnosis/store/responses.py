"""Storing answers: one place that turns validated answers into Response and Comment rows.

Used by the web survey, the CSV import and the demo, so every path stores the same shape.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from ..extensions import db
from ..questionnaire import DONT_KNOW, PREFER_NOT, Item, Questionnaire
from .models import SEGMENT_FIELDS, Campaign, Comment, Response, today

# C0/C1 control characters other than tab and line breaks.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control_chars(text: str) -> bool:
    """True when text holds control characters we refuse to store."""
    return bool(_CONTROL.search(text))


def clean_text(text: str | None) -> str:
    """Normalise line breaks and surrounding space of a free-text answer (NFC, not NFKC:
    the employee's own characters are kept; the classifier normalises for itself)."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return text.strip()


def self_label(item: Item | None, chosen: list[str] | None) -> str | None:
    """The cause a respondent's own checklist gives their comments, or None.

    A weak label: the cause named by more than half of the chosen options that name one
    (one option, two of the same cause, or two of three). "Nothing in particular" names
    ``other``; "something else" names nothing, so it neither counts nor breaks a majority.
    """
    if item is None or not chosen:
        return None
    causes = [o.cause for c in chosen if (o := item.option(c)) is not None and o.cause]
    if not causes:
        return None
    top = max(set(causes), key=causes.count)
    return top if causes.count(top) * 2 > len(causes) else None


def build_response(
    campaign: Campaign,
    questionnaire: Questionnaire,
    answers: dict[str, Any],
    *,
    lang: str = "ja",
    source: str = "web",
    submitted_on: dt.date | None = None,
) -> Response:
    """Build (not commit) a Response and its pending Comments from already-validated answers.

    ``answers`` maps item id to an option code (choice, segment, likert '1'..'5' or 'dk'),
    a list of codes (a checklist) or free text; missing or empty answers are left out. When the
    respondent's checklist names one cause, their comments carry it as a weak ``self_label``.
    """
    stored: dict[str, Any] = {}
    segments: dict[str, str | None] = {}
    comments: list[Comment] = []
    for item in questionnaire.items:
        value = answers.get(item.id)
        if value is None or value == "":
            continue
        if item.type == "segment":
            if item.id in SEGMENT_FIELDS:
                segments[item.id] = None if value == PREFER_NOT else str(value)
            else:
                stored[item.id] = str(value)
        elif item.type == "likert":
            stored[item.id] = DONT_KNOW if value == DONT_KNOW else int(value)
        elif item.type == "multi_choice":
            codes = [str(v) for v in (value if isinstance(value, list | tuple) else [value])]
            if codes:
                stored[item.id] = codes
        elif item.type == "text":
            text = clean_text(str(value))
            if text:
                stored[item.id] = text
                comments.append(
                    Comment(campaign=campaign, source="survey", item_id=item.id, text=text)
                )
        else:
            stored[item.id] = str(value)
    weak = self_label(questionnaire.reason_item,
                      stored.get(questionnaire.reason_item.id) if questionnaire.reason_item else None)
    for comment in comments:
        comment.self_label = weak
    response = Response(
        campaign=campaign,
        answers=stored,
        lang=lang,
        source=source,
        submitted_on=submitted_on or today(),
        classification_status="pending" if comments else "done",
        **segments,
    )
    response.comments.extend(comments)
    return response


def add_response(*args: Any, **kwargs: Any) -> Response:
    """Build a response and add it to the session (the caller commits)."""
    response = build_response(*args, **kwargs)
    db.session.add(response)
    return response
