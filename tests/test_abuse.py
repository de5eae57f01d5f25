"""Survey abuse (issue 16): floods, limits shared across processes, personal links, sane rates."""

from __future__ import annotations

from conftest import login
from dashboard_helpers import fill

from diagnosis.extensions import db
from diagnosis.models import Campaign

# ------------------------------------------------------------------ response rate


def test_response_rate_never_reads_above_100_percent(app, client, world):
    with app.app_context():
        fill(world["campaign_b"], 10)  # organisation B has 8 employees
    login(client, world["lead_b"])
    html = client.get(f"/campaigns/{world['campaign_b']}").get_data(as_text=True)
    assert "125%" not in html and ">100%<" in html
    assert 'data-testid="rate-capped"' in html and "回答数（10件）が従業員数（8人）を上回っている" in html
    with app.app_context():
        from diagnosis.classification import diagnose_options
        from diagnosis.recommend.service import diagnose_campaign

        campaign = db.session.get(Campaign, world["campaign_b"])
        d = diagnose_campaign(campaign, "en", session=db.session, **diagnose_options()).to_dict()
        assert d["response_rate"] == 1.0 and d["responses_exceed_headcount"] is True
    with app.app_context():
        fill(world["campaign_a"], 10)  # organisation A has 120: 8 %, nothing flagged
    login(client, world["consultant"])
    html = client.get(f"/campaigns/{world['campaign_a']}").get_data(as_text=True)
    assert ">8%<" in html and 'data-testid="rate-capped"' not in html
