"""Human corrections are stored, win over the model, and become training examples."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from diagnosis.corrections import CorrectionError, corrected_examples, record_correction
from diagnosis.extensions import db
from diagnosis.models import Campaign, Comment
from diagnosis.responses import add_response
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
        assert corrected_examples() == [{"text": "何に使えばいいのか分からない", "label": "purpose"}]
        with pytest.raises(CorrectionError):
            record_correction(comment, "unclear", None)
        record_correction(comment, None, None)
        db.session.commit()
        assert comment.effective_label == "support" and corrected_examples() == []
