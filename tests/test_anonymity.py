"""Issue 16, item 1: the two findings replayed through the real app and a real SQLite file.

Finding 1: two comment filters (IT staff, then people in their 60s) intersected into the three IT
staff in their 60s, and responses.csv then gave their Likert answers beside their comments.
Finding 2: diagnosis.csv downloaded before and after one employee answered showed that person's
department, age and answers in the difference; newest-first lists pointed at them too.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from conftest import login
from dashboard_helpers import fill, submit
from sqlalchemy import func, select, text

from diagnosis.dashboard.services import order_secret
from diagnosis.extensions import db
from diagnosis.i18n import translate
from diagnosis.recommend.anonymity import shuffle_key
from diagnosis.store.exports import BOM
from diagnosis.store.models import Campaign, Comment, Response


def page(client, url: str, **args) -> str:
    r = client.get(url, query_string=args)
    assert r.status_code == 200
    return r.get_data(as_text=True)


def shown_ids(html: str) -> list[int]:
    """Comment ids in the order the comments page lists them."""
    return [int(x) for x in re.findall(r'<li class="comment" id="c(\d+)"', html)]


def csv_rows(data: bytes) -> list[list[str]]:
    body = data.decode("utf-8")
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body[1:])))


@pytest.fixture
def overlap(app, world):
    """IT (10) and people in their 60s (10) share exactly three respondents."""
    with app.app_context():
        fill(world["campaign_a"], 7, department="it", age_band="30s", comment="IT三十代：研修がない")
        fill(world["campaign_a"], 3, department="it", age_band="60s", comment="秘密：部長が使っていない")
        fill(world["campaign_a"], 7, department="sales", age_band="60s", comment="営業六十代：目的が不明")
        fill(world["campaign_a"], 3, department="sales", age_band="30s", comment="営業三十代：目的がない")
    return world


def test_finding_1_two_filters_no_longer_intersect_into_three_people(app, client, overlap):
    url = f"/campaigns/{overlap['campaign_a']}/comments"
    login(client, overlap["lead_a"])
    everything = page(client, url)
    assert 'value="department:it"' in everything
    assert "age_band:" not in everything  # one segment field only: no list of the 60s exists
    it = shown_ids(page(client, url, segment="department:it"))
    assert len(it) == 10
    # The second list of the attack is refused as a forged filter: the whole list comes back,
    # and its intersection with the IT list is all ten IT staff, not the three.
    forged = shown_ids(page(client, url, segment="age_band:60s"))
    assert len(forged) == 20 and len(set(it) & set(forged)) == 10
    # The three can still not be picked out by what they wrote: a keyword that matches three
    # people (of twenty, or of IT's ten) shows a notice instead of their comments.
    for args in ({"q": "秘密"}, {"q": "秘密", "segment": "department:it"}):
        html = page(client, url, **args)
        assert 'data-testid="refinement-hidden"' in html and "秘密：" not in html
        assert shown_ids(html) == []
    assert "秘密：" not in page(client, url, q="秘密", lang="en")
    # A keyword that matches enough people, with enough left out, shows its rows.
    assert len(shown_ids(page(client, url, q="目的"))) == 10
    # Per-person rows are not for DX leads: no link, and the route refuses.
    assert client.get(f"/campaigns/{overlap['campaign_a']}/export/responses.csv").status_code == 403
    assert "export/responses.csv" not in page(client, f"/campaigns/{overlap['campaign_a']}")
    # The consultant's rows carry the department only where its group is released and large:
    # no age column, so the three rows look like the other seven IT rows.
    client.post("/logout")
    login(client, overlap["consultant"])
    rows = csv_rows(client.get(f"/campaigns/{overlap['campaign_a']}/export/responses.csv").data)
    assert rows[0][:2] == ["response", "department"] and "age_band" not in rows[0]
    assert not any(cell in ("30s", "60s") for row in rows for cell in row)
    i = rows[0].index("reasons_text")
    secret = [row for row in rows[1:] if row[i].startswith("秘密")]
    assert len(secret) == 3 and {row[1] for row in secret} == {"it"}
    assert sum(1 for row in rows[1:] if row[1] == "it") == 10


@pytest.fixture
def twelve(app, world):
    """Twelve responses, each with its own comment, in two departments of six."""
    with app.app_context():
        for n in range(6):
            fill(world["campaign_a"], 1, department="sales", comment=f"営業の意見{n}：研修がない")
            fill(world["campaign_a"], 1, department="admin", comment=f"管理の意見{n}：目的がない")
    return world


def _without_received(rows: list[list[str]]) -> list[list[str]]:
    """The rows without the count received and the response rate (the same count over the
    headcount): both may rise one by one; nothing computed from answers may."""
    received = translate("anon.received", "en")
    return [row for row in rows if row[:1] not in ([received], ["Response rate"])]


def test_finding_2_one_new_response_changes_no_result(app, client, twelve):
    camp = twelve["campaign_a"]
    login(client, twelve["lead_a"])
    before = csv_rows(client.get(f"/campaigns/{camp}/export/diagnosis.csv?lang=en").data)
    comments_before = shown_ids(page(client, f"/campaigns/{camp}/comments"))
    assert len(comments_before) == 12
    # One employee in a department of their own answers, through the survey form.
    employee = app.test_client()
    submit(employee, twelve["token_a"], comment="新入りの意見：上司が使わない", level="1",
           department="it", age_band="60s")
    after = csv_rows(client.get(f"/campaigns/{camp}/export/diagnosis.csv?lang=en").data)
    # The count received may rise one by one; nothing else in the tables moves.
    assert _without_received(after) == _without_received(before)
    assert after != before
    dashboard = page(client, f"/campaigns/{camp}")
    assert 'data-testid="responses">13<' in dashboard
    assert re.search(r'data-testid="included">[^<]*: 12<', dashboard)
    comments = page(client, f"/campaigns/{camp}/comments")
    assert shown_ids(comments) == comments_before and "新入り" not in comments
    # Four more answer: a snapshot of five moves the results, never one person alone.
    for n in range(4):
        submit(employee, twelve["token_a"], comment=f"追加の意見{n}：研修がない", department="sales")
    later = csv_rows(client.get(f"/campaigns/{camp}/export/diagnosis.csv?lang=en").data)
    assert ["Responses", "17"] in later and ["Responses", "12"] in before
    # The newcomer's department has one person: no cell, no comment; the four sales comments
    # wait for a fifth from sales. Both are counted as held back, not shown.
    dept = {row[1]: row[2] for row in later if row[:1] == ["department"]}
    assert dept["IT / DX"] == "TRUE"
    comments = page(client, f"/campaigns/{camp}/comments", lang="ja")
    assert "新入り" not in comments and "追加の意見" not in comments
    assert 'data-testid="held-back"' in comments and "5件のコメント" in comments


def test_lists_are_in_a_fixed_random_order_never_by_time(app, client, twelve):
    camp = twelve["campaign_a"]
    login(client, twelve["consultant"])
    ids = shown_ids(page(client, f"/campaigns/{camp}/comments"))
    rows = csv_rows(client.get(f"/campaigns/{camp}/export/responses.csv").data)
    assert "submitted_on" not in rows[0]
    i = rows[0].index("reasons_text")
    with app.test_request_context():
        key = order_secret(db.session.get(Campaign, camp))
        assert ids == sorted(ids, key=lambda c: shuffle_key(key, c))
        by_text = {c.text: c.response_id for c in db.session.scalars(
            select(Comment).where(Comment.campaign_id == camp))}
        order = [by_text[row[i]] for row in rows[1:]]
        assert order == sorted(order, key=lambda r: shuffle_key(key, r))
    assert ids != sorted(ids) and ids != sorted(ids, reverse=True)
    assert order != sorted(order)
    assert ids == shown_ids(page(client, f"/campaigns/{camp}/comments"))  # stable


def test_migration_keeps_every_row_and_puts_existing_responses_in_the_first_snapshot(app, world):
    """What was visible before the upgrade stays visible; down and up again loses nothing."""
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        fill(world["campaign_a"], 7, department="sales", comment="研修がない")
        db.session.remove()
        downgrade(revision="0001")
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM response")).scalar() == 7
            assert conn.execute(text("SELECT COUNT(*) FROM comment")).scalar() == 7
        upgrade()
        assert set(db.session.scalars(select(Response.snapshot_seq))) == {1}
        assert db.session.scalar(select(func.count(Comment.id))) == 7
