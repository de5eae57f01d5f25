"""Human corrections are stored, win over the model, and become training examples."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from diagnosis.extensions import db
from diagnosis.store.corrections import CorrectionError, export_rows, record_correction
from diagnosis.store.models import Campaign, Comment
from diagnosis.store.responses import add_response
from diagnosis.workspace import questionnaire


def test_correction_round_trip(app, world):
    with app.app_context():
        campaign = db.session.get(Campaign, world["campaign_a"])
        add_response(campaign, questionnaire("ai-adoption"),
                     {"usage": "never", "reasons": "何に使えばいいのか分からない"})
        db.session.commit()
        comment = db.session.scalars(select(Comment)).one()
        comment.label = "support"
        record_correction(comment, "purpose", user_id=None)
        db.session.commit()
        assert comment.effective_label == "purpose" and comment.corrected_at is not None
        assert comment.review_model_label == "support"  # what the model said when reviewed
        assert [(r["text"], r["label"]) for r in export_rows()] == [("何に使えばいいのか分からない", "purpose")]
        with pytest.raises(CorrectionError):
            record_correction(comment, "unclear", None)
        record_correction(comment, None, None)
        db.session.commit()
        assert comment.effective_label == "support" and export_rows() == []
        assert comment.review_model_label is None
