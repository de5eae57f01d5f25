"""Human corrections of the classifier: stored on the comment, fed to the diagnosis at once
(via ``Comment.effective_label``) and to retraining (``teichaku train --with-corrections``)."""

from __future__ import annotations

from sqlalchemy import select

from .extensions import db
from .models import Comment, utcnow

CORRECTABLE = ("purpose", "leadership", "support", "other")


class CorrectionError(ValueError):
    """An invalid correction."""


def record_correction(comment: Comment, label: str | None, user_id: int | None) -> Comment:
    """Set (or with ``None`` clear) the human label of a stored comment (the caller commits)."""
    if label is not None and label not in CORRECTABLE:
        raise CorrectionError(f"label must be one of {', '.join(CORRECTABLE)}")
    comment.corrected_label = label
    comment.corrected_by_id = user_id if label is not None else None
    comment.corrected_at = utcnow() if label is not None else None
    return comment


def corrected_examples() -> list[dict]:
    """Every corrected comment as a training example ``{"text", "label"}``, oldest first."""
    rows = db.session.execute(
        select(Comment.text, Comment.corrected_label)
        .where(Comment.corrected_label.is_not(None))
        .order_by(Comment.corrected_at, Comment.id)
    )
    return [{"text": text, "label": label} for text, label in rows]
