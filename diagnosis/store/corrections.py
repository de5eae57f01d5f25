"""Human reviews of the classifier: a confirmation or a correction, stored on the comment and fed
to the diagnosis at once (via ``Comment.effective_label``) and to the organisation's adapted
classifier (``diagnosis.adaptation``). They reach the shared corpus only when a consultant exports
them, redacted, with ``teichaku corrections export`` and trains with that file
(``teichaku train --with-corrections FILE``).

Beside them, *self-labelled* comments: a respondent whose reason checklist names one cause has
labelled their own comment (``Comment.self_label``, a weak label). They are exported per
organisation with ``teichaku corrections export --self-labelled`` for the per-organisation
adaptation and error model, where they should count less than a reviewed comment."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..vocabulary import LABELS
from .models import Campaign, Comment, utcnow

CORRECTABLE = LABELS


class CorrectionError(ValueError):
    """An invalid correction."""


def record_correction(comment: Comment, label: str | None, user_id: int | None) -> Comment:
    """Set (or with ``None`` clear) the human label of a stored comment (the caller commits)."""
    if label is not None and label not in CORRECTABLE:
        raise CorrectionError(f"label must be one of {', '.join(CORRECTABLE)}")
    comment.corrected_label = label
    comment.corrected_by_id = user_id if label is not None else None
    comment.corrected_at = utcnow() if label is not None else None
    # A label equal to the model's is a confirmation; both are reviews (see review_model_label).
    comment.review_model_label = comment.label if label is not None else None
    return comment


def export_rows(*, self_labelled: bool = False, organisation_id: int | None = None,
                campaign_id: int | None = None) -> list[dict]:
    """Labelled comments as export records, oldest first: human corrections by default, or the
    comments whose writer's own checklist named one cause. Each record keeps the organisation
    and the campaign, so that one client's examples are never mixed into another's model, and
    its text is redacted (e-mail addresses, phone and employee numbers, personal names): an
    export is what may leave the organisation for the shared corpus."""
    from ..recommend.redact import redact

    label_col = Comment.self_label if self_labelled else Comment.corrected_label
    stmt = (select(Comment, Campaign).join(Campaign, Comment.campaign_id == Campaign.id)
            .where(label_col.is_not(None)).order_by(Comment.id))
    if organisation_id is not None:
        stmt = stmt.where(Campaign.organisation_id == organisation_id)
    if campaign_id is not None:
        stmt = stmt.where(Campaign.id == campaign_id)
    out = []
    for comment, campaign in db.session.execute(stmt):
        out.append({
            "text": redact(comment.text),
            "label": comment.self_label if self_labelled else comment.corrected_label,
            "kind": "self_labelled" if self_labelled else "corrected",
            "organisation_id": campaign.organisation_id, "campaign": campaign.slug,
            "item_id": comment.item_id, "source": comment.source,
            "model_label": comment.label, "corrected_label": comment.corrected_label,
        })
    return out
