"""Builders for dashboard tests: responses stored through the real storage service."""

from __future__ import annotations

import datetime as dt
import re

from items import likert_items

from diagnosis.extensions import db
from diagnosis.store.models import Campaign, Comment
from diagnosis.store.responses import add_response
from diagnosis.workspace import questionnaire

LIKERT = likert_items()


def fill(campaign_id: int, n: int, *, comment: str | None = None, label: str | None = "support",
         confidence: float = 0.9, level: str = "2", usage: str = "monthly",
         submitted_on: dt.date | None = None, **segments: str) -> list[int]:
    """Add n responses (with an optional comment already classified) and commit; returns ids."""
    campaign = db.session.get(Campaign, campaign_id)
    q = questionnaire(campaign.questionnaire_id)
    ids = []
    for _ in range(n):
        answers = {"usage": usage, **{i: level for i in LIKERT}, **segments}
        if comment:
            answers["reasons"] = comment
        r = add_response(campaign, q, answers, lang="ja", source="import",
                         submitted_on=submitted_on)
        for c in r.comments:
            c.label, c.confidence = label, confidence
        db.session.flush()
        ids.append(r.id)
    db.session.commit()
    return ids


def comment_ids(campaign_id: int, source: str | None = None) -> list[int]:
    """Ids of a campaign's comments, oldest first."""
    stmt = db.select(Comment.id).where(Comment.campaign_id == campaign_id)
    if source:
        stmt = stmt.where(Comment.source == source)
    return list(db.session.scalars(stmt.order_by(Comment.id)))


def submit(client, token: str, *, comment: str = "使い方がわからない", level: str = "3",
           **segments: str) -> None:
    """One employee answers through the real survey form (nonce and all), as a browser would."""
    # Each employee has a browser of their own (the survey limits answers per browser).
    client = client.application.test_client()
    html = client.get(f"/s/{token}").get_data(as_text=True)
    nonce = re.search(r'name="nonce" type="hidden" value="([^"]+)"', html).group(1)
    data = {"nonce": nonce, "usage": "monthly", **{i: level for i in LIKERT},
            "reasons": comment, "department": "prefer_not", "role": "prefer_not",
            "age_band": "prefer_not", "tenure": "prefer_not", **segments}
    r = client.post(f"/s/{token}", data=data)
    assert r.status_code == 302 and "/thanks" in r.headers["Location"], r.get_data(as_text=True)[:500]
