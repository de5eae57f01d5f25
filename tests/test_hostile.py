"""Hostile input: markup in every free-text field and in names is escaped on every page."""

from __future__ import annotations

import csv
import io
import re

import pytest
from conftest import login
from dashboard_helpers import fill
from sqlalchemy import select

from diagnosis.display import BIDI_CONTROLS
from diagnosis.extensions import db
from diagnosis.interviews import add_interview
from diagnosis.store.exports import neutralise, write_csv
from diagnosis.store.models import Campaign, Comment, Organisation, User

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def hostile(app, world):
    with app.app_context():
        org = db.session.get(Organisation, world["org_a"])
        org.name = "悪意社" + XSS
        campaign = db.session.get(Campaign, world["campaign_a"])
        campaign.name = "wave" + XSS
        campaign.consultant_note = "note" + XSS
        db.session.scalars(select(User).where(User.email == world["lead_a"])).one().name = XSS
        fill(campaign.id, 12, comment="使い方がわからない" + XSS, department="sales")
        add_interview(campaign, "ヒアリング" + XSS, "部長が使っていない。" + XSS,
                      interviewee="課長" + XSS)
        for c in db.session.scalars(select(Comment).where(Comment.label.is_(None))):
            c.label, c.confidence = "leadership", 0.8
        db.session.commit()
    return world


def assert_escaped(html: str) -> None:
    assert "<script>alert" not in html
    assert "<img src=x onerror" not in html
    assert "&lt;script&gt;" in html


def test_survey_free_text_with_markup_is_stored_as_text_and_escaped_on_the_form(client, world):
    html = client.get(f"/s/{world['token_a']}").get_data(as_text=True)
    nonce = re.search(r'name="nonce" type="hidden" value="([^"]+)"', html).group(1)
    r = client.post(f"/s/{world['token_a']}", data={"nonce": nonce, "reasons": XSS})
    assert r.status_code == 400  # required items missing: the form comes back with the text
    body = r.get_data(as_text=True)
    assert "<script>alert" not in body and "&lt;script&gt;" in body


@pytest.mark.parametrize("who", ["lead_a", "consultant"])
def test_every_page_escapes_names_comments_and_notes(client, hostile, who):
    login(client, hostile[who])
    pages = ["/dashboard", f"/orgs/{hostile['org_a']}", f"/campaigns/{hostile['campaign_a']}",
             f"/campaigns/{hostile['campaign_a']}/comments",
             f"/campaigns/{hostile['campaign_a']}/interviews"]
    for path in pages:
        r = client.get(path)
        assert r.status_code == 200, path
        assert_escaped(r.get_data(as_text=True))


def test_path_traversal_in_static_files_is_refused(client):
    for path in ("/static/../config.py", "/static/..%2fconfig.py", "/static/%2e%2e/__init__.py",
                 "/static//etc/passwd"):
        r = client.get(path, follow_redirects=True)
        assert r.status_code == 404, path
        assert b"SECRET_KEY" not in r.data and b"root:" not in r.data


# ------------------------------------------------------------------ spreadsheet formulas


@pytest.mark.parametrize("value", [
    "=1+1", "＝1+1", "＋81", "－x", "＠SUM(A1)", "﹦HYPERLINK(\"x\")", "﹢1", "﹣1", "﹫x",
    "\tcmd", "\rcmd", "\ncmd", " =1+1", "\u3000＝1+1", "\t=1", "\u202e=cmd|' /C calc'!A0",
])
def test_formula_starts_are_neutralised_in_every_width(value):
    out = neutralise(value)
    assert out.startswith("'"), value
    row = next(csv.reader(io.StringIO(write_csv([[value]]).decode("utf-8")[1:])))
    assert row[0].startswith("'")


@pytest.mark.parametrize("value", ["普通の文", "研修＝必要", "a-b", "メール＠は不要", "（＝）"])
def test_ordinary_text_is_left_alone(value):
    assert neutralise(value) == value


# ------------------------------------------------------------------ bidirectional controls

BIDI = "".join(sorted(BIDI_CONTROLS))


def test_bidi_controls_are_every_listed_one():
    expected = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)}
    assert BIDI_CONTROLS == expected


def test_bidi_controls_never_reach_html_csv_or_pdf(app, client, world):
    spoof = "研修\u202eがほしい\u2066です\u2069\u200f"
    with app.app_context():
        campaign = db.session.get(Campaign, world["campaign_a"])
        campaign.organisation.name = "株式会社\u202eエー"
        fill(campaign.id, 12, comment=spoof, department="sales")
        note = add_interview(campaign, "ヒアリング\u202e", "部長が\u202e使っていない。")
        db.session.commit()
        # stored as written (the employee's characters are kept) ...
        assert spoof in db.session.scalars(select(Comment.text)).all()
        from diagnosis.reports import render_report_html

        report = render_report_html(campaign, "ja", allow_pending=True)  # the interview waits for the classifier
    login(client, world["consultant"])
    a = world["campaign_a"]
    pages = {path: client.get(path).get_data(as_text=True) for path in (
        "/dashboard", f"/orgs/{world['org_a']}", f"/campaigns/{a}", f"/campaigns/{a}/comments",
        f"/campaigns/{a}/interviews", f"/campaigns/{a}/interviews/{note.id}",
        f"/campaigns/{a}/export/responses.csv", f"/campaigns/{a}/export/diagnosis.csv")}
    pages["report.pdf (HTML given to WeasyPrint)"] = report
    # ... and removed on the way out, everywhere
    for where, body in pages.items():
        assert not set(body) & BIDI_CONTROLS, where
    assert "研修がほしいです" in pages[f"/campaigns/{a}/comments"]
    assert "研修がほしいです" in pages[f"/campaigns/{a}/export/responses.csv"]
    assert "株式会社エー" in pages["/dashboard"] and "株式会社エー" in report
    assert "部長が使っていない。" in pages[f"/campaigns/{a}/interviews/{note.id}"]
