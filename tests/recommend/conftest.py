"""Scenario builder for recommender tests: real responses stored through add_response."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from diagnosis.extensions import db
from diagnosis.questionnaire import questionnaire_for
from diagnosis.store.models import Comment
from diagnosis.store.responses import add_response
from diagnosis.workspace import create_campaign, create_organisation

REPORT = dt.date(2026, 11, 1)
_slugs = itertools.count(1)

# Items per cause: (id, reverse)
ITEMS = {
    "purpose": [("pu_useful", False), ("pu_usecase", False), ("pu_goal", False),
                ("pu_nofit", True)],
    "leadership": [("le_exec", False), ("le_manager", False), ("le_policy", False),
                   ("le_fringe", True)],
    "support": [("su_skill", False), ("su_training", False), ("su_ask", False),
                ("su_hard", True)],
}


def answers(levels: dict[str, int], usage: str = "monthly", overrides: dict | None = None,
            **segments: str | None) -> dict:
    """Answers where each cause's items sit at a favourable level 1-5 (reverse items mirrored)."""
    out: dict = {"usage": usage}
    for cause, items in ITEMS.items():
        lvl = levels.get(cause, 4)
        for item_id, reverse in items:
            out[item_id] = str(6 - lvl if reverse else lvl)
    out.update(overrides or {})
    out.update({k: v for k, v in segments.items() if v is not None})
    return out


class Scenario:
    """An organisation with one campaign, filled through the real storage service."""

    def __init__(self, employees: int = 120, rollout: dt.date | None = dt.date(2026, 3, 1),
                 org=None, version: int | None = None) -> None:
        from flask import current_app

        self.org = org or create_organisation(f"テスト株式会社{next(_slugs)}", employees, rollout)
        self.campaign = create_campaign(self.org, f"scenario-{next(_slugs)}", "wave",
                                        opens_on=dt.date(2026, 10, 1), questionnaire_version=version)
        self.q = questionnaire_for(current_app.extensions["questionnaires"], self.campaign)

    def add(self, n: int, levels: dict[str, int], *, usage: str = "monthly",
            comment: str | None = None, label: str | None = None, confidence: float = 0.9,
            overrides: dict | None = None, reasons: list[str] | None = None,
            **segments: str | None) -> None:
        """Add n identical responses, each optionally with a labelled comment and checklist ticks."""
        for _ in range(n):
            a = answers(levels, usage, overrides, **segments)
            if comment:
                a["reasons"] = comment
            if reasons:
                a["reason_choices"] = list(reasons)
            r = add_response(self.campaign, self.q, a, lang="ja", source="import")
            for c in r.comments:
                c.label, c.confidence = label, confidence

    def commit(self) -> int:
        db.session.commit()
        return self.campaign.id


@pytest.fixture
def scenario(app):
    """A factory of scenarios inside an application context."""
    with app.app_context():
        yield Scenario


def _relabel(campaign_id: int, text_contains: str, label: str) -> None:
    """Simulate a human correction on every comment containing the text."""
    for c in db.session.scalars(db.select(Comment).where(Comment.campaign_id == campaign_id)):
        if text_contains in c.text:
            c.corrected_label = label
    db.session.commit()


@pytest.fixture
def relabel():
    """Correct comment labels the way a DX lead would."""
    return _relabel
