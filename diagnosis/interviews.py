"""Interview (ヒアリング) notes: stored whole, split into sentences that count as evidence."""

from __future__ import annotations

import datetime as dt

from .extensions import db
from .store.models import SEGMENT_FIELDS, Campaign, Comment, InterviewNote
from .store.responses import clean_text

MAX_NOTE_LENGTH = 50_000


class InterviewError(ValueError):
    """Invalid interview notes; the message is shown to the user."""


def add_interview(campaign: Campaign, title: str, text: str, *, interviewee: str | None = None,
                  held_on: dt.date | None = None, created_by_id: int | None = None,
                  **segments: str | None) -> InterviewNote:
    """Store a note and one pending Comment per sentence (the caller commits and classifies)."""
    from .nlp.text import split_sentences  # light module: no model is loaded

    text = clean_text(text)
    if not text:
        raise InterviewError("the notes are empty")
    if len(text) > MAX_NOTE_LENGTH:
        raise InterviewError(f"the notes are longer than {MAX_NOTE_LENGTH} characters")
    unknown = set(segments) - set(SEGMENT_FIELDS)
    if unknown:
        raise InterviewError(f"unknown segment field(s): {', '.join(sorted(unknown))}")
    note = InterviewNote(campaign=campaign, title=(title or "").strip()[:200] or "—",
                         interviewee=(interviewee or "").strip()[:200] or None, text=text,
                         held_on=held_on, created_by_id=created_by_id,
                         **{k: (v or None) for k, v in segments.items()})
    for i, sentence in enumerate(split_sentences(text)):
        note.comments.append(Comment(campaign=campaign, source="interview", position=i,
                                     text=sentence))
    note.classification_status = "pending" if note.comments else "done"
    db.session.add(note)
    return note
