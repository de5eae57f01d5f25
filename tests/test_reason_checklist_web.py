"""The reason checklist through the real app: the survey form (shuffled, up to 3, exclusive
option), storage and self-labels, the CSV import of Forms cells, the exports, the dashboard and
the self-labelled export command. Real SQLite, real questionnaires."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
from conftest import PASSWORD
from sqlalchemy import select
from test_survey import get_form, valid_answers

from diagnosis.extensions import db
from diagnosis.questionnaire import QuestionnaireError, parse_questionnaire
from diagnosis.store.csv_io import CSVImportError, import_csv
from diagnosis.store.models import Campaign, Comment, Response
from diagnosis.workspace import create_campaign, find_campaign

CHECKBOX = re.compile(r'name="reason_choices" value="([a-z_]+)"')


def option_order(html: str) -> list[str]:
    return CHECKBOX.findall(html)


def post(client, token, nonce, **over):
    return client.post(f"/s/{token}", data={**valid_answers(**over), "nonce": nonce})


# ----------------------------------------------------------------- questionnaire

BASE = """
id: t
version: 2
title: {ja: t, en: t}
sections:
  - id: s
    title: {ja: s, en: s}
    items:
      - id: reason_choices
        type: multi_choice
        max_choices: %(max)s
        label: {ja: 理由, en: Reasons}
        options:
          - {code: a, cause: %(cause)s, %(extra)s label: {ja: あ, en: "%(label)s"}}
          - {code: b, cause: support, remedy: help_desk, label: {ja: い, en: b}}
"""


def parse(max=2, cause="purpose", extra="", label="a"):
    return parse_questionnaire(BASE % {"max": max, "cause": cause, "extra": extra, "label": label},
                               "checklist.yaml")


def test_checklist_validation_names_file_item_and_reason():
    item = parse().reason_item
    assert item.max_choices == 2 and item.option("b").remedy == "help_desk"
    cases = [
        ({"cause": "budget"}, "unknown cause 'budget'"),
        ({"extra": "remedy: training,"}, "a remedy"),
        ({"cause": "support", "extra": "remedy: coaching,"}, "not 'coaching'"),
        ({"max": 3}, "max_choices between 1 and 2"),
        ({"max": "true"}, "max_choices"),
        ({"label": "x;y"}, "may not contain ';'"),
        ({"extra": "exclusive: maybe,"}, "'exclusive' must be true or false"),
        ({"extra": "colour: red,"}, "unknown key(s): colour"),
    ]
    for kw, reason in cases:
        with pytest.raises(QuestionnaireError) as info:
            parse(**kw)
        msg = str(info.value)
        assert msg.startswith("checklist.yaml: item 'reason_choices': ") and reason in msg, msg


def test_both_versions_installed_and_each_campaign_keeps_its_own(app):
    with app.app_context():
        from flask import current_app

        registry = current_app.extensions["questionnaires"]
        assert registry["ai-adoption"].version == 2
        assert registry["ai-adoption"].reason_item.id == "reason_choices"
        assert 10 <= len(registry["ai-adoption"].reason_item.options) <= 14
        v1 = registry.versions[("ai-adoption", 1)]
        assert v1.reason_item is None
        every = {o.cause for o in registry["ai-adoption"].reason_item.options}
        assert {"purpose", "leadership", "support", "other", None} == every


# ----------------------------------------------------------------- survey


def test_checklist_shuffled_per_respondent_stable_within_a_form(client, world):
    orders = []
    for _ in range(6):
        html, nonce, _ = get_form(client, world["token_a"])
        order = option_order(html)
        assert sorted(order) == sorted(set(order)) and len(order) == 14
        assert order[-2:] == ["none", "other_reason"]  # anchored at the end
        orders.append((nonce, order))
    assert len({tuple(o) for _, o in orders}) > 1  # shuffled per respondent
    # Re-rendered with errors, the same form keeps the same order.
    nonce, order = orders[0]
    r = post(client, world["token_a"], nonce, usage=None,
             reason_choices=["nobody_to_ask", "no_training"])
    assert r.status_code == 400
    assert option_order(r.get_data(as_text=True)) == order
    html = r.get_data(as_text=True)
    assert re.search(r'value="nobody_to_ask"[^>]*checked', html, re.S)  # nothing lost


def test_phone_friendly_markup_counter_and_limit_text(client, world):
    html, _, _ = get_form(client, world["token_a"])
    assert '<fieldset class="checklist" data-max="3"' in html
    assert "3つまで選べます" in html and "0 / 3 選択中" in html
    assert 'aria-live="polite"' in html and "/static/survey.js" in html
    html_en, _, _ = get_form(client, world["token_a"], "en")
    assert "Choose up to 3" in html_en and "0 of 3 chosen" in html_en
    assert "Nothing in particular / I use it a lot" in html_en


def test_more_than_three_is_refused_with_a_field_error_and_nothing_lost(app, client, world):
    _, nonce, _ = get_form(client, world["token_a"])
    four = ["nobody_to_ask", "no_training", "dont_know_how", "no_use_case"]
    r = post(client, world["token_a"], nonce, reason_choices=four)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "選べるのは3つまでです（現在4つ選んでいます）。" in html
    assert "使い方がよくわからないし、聞ける人もいない。" in html  # the comment is kept
    for code in four:
        assert re.search(rf'value="{code}"[^>]*checked', html, re.S)
    with app.app_context():
        assert db.session.scalar(select(Response.id)) is None


def test_exclusive_option_cannot_be_combined(client, world):
    _, nonce, _ = get_form(client, world["token_a"], "en")
    r = client.post(f"/s/{world['token_a']}?lang=en",
                    data={**valid_answers(reason_choices=["none", "no_training"]), "nonce": nonce,
                          "lang": "en"})
    assert r.status_code == 400
    assert "cannot be combined with other options" in r.get_data(as_text=True)


def test_tampered_code_is_refused(client, world):
    _, nonce, _ = get_form(client, world["token_a"])
    r = post(client, world["token_a"], nonce, reason_choices=["nobody_to_ask", "<script>"])
    assert r.status_code == 400 and "<script>" not in r.get_data(as_text=True).split("</form>")[0]


def test_stored_in_questionnaire_order_with_a_self_label(app, client, world):
    _, nonce, _ = get_form(client, world["token_a"])
    r = post(client, world["token_a"], nonce,
             reason_choices=["no_training", "hesitant_to_ask", "no_use_case"])
    assert r.status_code == 302
    with app.app_context():
        resp = db.session.scalar(select(Response))
        assert resp.answers["reason_choices"] == ["no_use_case", "no_training", "hesitant_to_ask"]
        labels = {c.item_id: c.self_label for c in resp.comments}
        assert labels == {"reasons": "support", "help_wanted": "support"}


def test_version_one_campaign_shows_no_checklist(app, client, world):
    with app.app_context():
        org = db.session.get(Campaign, world["campaign_a"]).organisation
        c = create_campaign(org, "a-v1", "old wave", opens_on=dt.date(2026, 1, 1),
                            questionnaire_version=1)
        db.session.commit()
        token = c.public_token
    html, nonce, _ = get_form(client, token)
    assert "reason_choices" not in html
    r = post(client, token, nonce, reason_choices=["nobody_to_ask"])  # ignored: not in v1
    assert r.status_code == 302
    with app.app_context():
        resp = db.session.scalar(select(Response).where(Response.campaign_id == c.id))
        assert "reason_choices" not in resp.answers
        assert all(cm.self_label is None for cm in resp.comments)


# ----------------------------------------------------------------- CSV import


def import_rows(app, rows: list[dict[str, str]]):
    with app.app_context():
        from flask import current_app

        q = current_app.extensions["questionnaires"]["ai-adoption"]
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(list(rows[0]))
        for r in rows:
            w.writerow(list(r.values()))
        return import_csv(find_campaign("a-2026"), q, out.getvalue().encode("utf-8"))


def row(**over):
    base = {k: v for k, v in valid_answers().items() if k != "help_wanted"}
    base.update({"reasons": "", "reason_choices": ""})
    base.update(over)
    return base


def test_import_reads_forms_cells_with_semicolons_commas_codes_and_labels(app, world):
    result = import_rows(app, [
        row(reason_choices="困ったときに聞ける人がいない;研修やマニュアルがない"),  # Microsoft Forms
        row(reason_choices="I don't know what to use it for,There has been no training or manual"),
        row(reason_choices="boss_not_using; few_users"),
        row(reason_choices="業務で使ってよいのか、使って評価されるのかわからない"),  # 、 inside a label
        row(reason_choices="", reasons="特になし"),
    ])
    assert result.imported == 5
    with app.app_context():
        got = [db.session.get(Response, i).answers.get("reason_choices") for i in result.response_ids]
        assert got == [["no_training", "nobody_to_ask"], ["no_use_case", "no_training"],
                       ["boss_not_using", "few_users"], ["unsure_welcome"], None]
        en = db.session.get(Response, result.response_ids[1])
        assert en.lang == "en"


@pytest.mark.parametrize("cell, message", [
    ("nobody_to_ask;no_training;no_use_case;few_users", "4 choices; 'reason_choices' allows at most 3"),
    ("none;no_training", "'none' cannot be combined with other choices"),
    ("聞ける人がいない", "'聞ける人がいない' is not an option of 'reason_choices'"),
])
def test_import_rejects_bad_checklist_cells_with_line_and_column(app, world, cell, message):
    with pytest.raises(CSVImportError) as info:
        import_rows(app, [row(), row(reason_choices=cell)])
    (line, column, text), = info.value.errors
    assert line == 3 and column.endswith("(reason_choices)") and message in text
    with app.app_context():
        assert db.session.scalar(select(Response.id)) is None  # all or nothing


# ----------------------------------------------------------------- exports, dashboard, CLI


def login(client, email):
    r = client.post("/login", data={"email": email, "password": PASSWORD})
    assert r.status_code == 302


def fill(app, campaign_id, n, reasons, comment="聞ける人がいなくて結局使わなくなった", **seg):
    from flask import current_app

    from diagnosis.questionnaire import questionnaire_for
    from diagnosis.store.responses import add_response

    with app.app_context():
        c = db.session.get(Campaign, campaign_id)
        q = questionnaire_for(current_app.extensions["questionnaires"], c)
        for i in range(n):
            a = {**{k: v for k, v in valid_answers().items() if k != "help_wanted"},
                 "reason_choices": reasons, "reasons": f"{comment} ({i})", **seg}
            r = add_response(c, q, a)
            for cm in r.comments:
                cm.label, cm.confidence, cm.scores = "purpose", 0.9, None
        db.session.commit()


def test_exports_carry_the_checklist(app, client, world):
    fill(app, world["campaign_a"], 12, ["nobody_to_ask", "hesitant_to_ask"])
    login(client, world["consultant"])
    r = client.get(f"/campaigns/{world['campaign_a']}/export/responses.csv")
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    header = rows[0]
    i = header.index("reason_choices")
    assert {rw[i] for rw in rows[1:]} == {"nobody_to_ask;hesitant_to_ask"}
    assert {rw[header.index("reasons_self_label")] for rw in rows[1:]} == {"support"}
    r = client.get(f"/campaigns/{world['campaign_a']}/export/diagnosis.csv")
    text = r.get_data(as_text=True)
    assert "理由のチェックリスト" in text and "困ったときに聞ける人がいない" in text
    assert "本人が選んだ理由の割合" in text


def test_dashboard_shows_reasons_evidence_chart_and_disagreement(app, client, world):
    fill(app, world["campaign_a"], 12, ["nobody_to_ask"])
    login(client, world["lead_a"])
    html = client.get(f"/campaigns/{world['campaign_a']}").get_data(as_text=True)
    assert 'data-testid="reasons"' in html and "tk-chart-reasons" in html
    assert "tk-chart-evidence" in html
    # Comments all say purpose, every tick says support: the page shows the disagreement.
    assert 'data-testid="disagreements"' in html
    assert "チェックリストと自由記述の分類が食い違っています" in html
    assert 'data-testid="self-support"' in html
    # By segment, for groups above the threshold only: 12 in sales are shown.
    assert 'data-testid="reasons-department"' in html and "営業・販売" in html


def test_self_labelled_export_command(app, runner, world):
    fill(app, world["campaign_a"], 3, ["nobody_to_ask"])
    fill(app, world["campaign_a"], 2, ["nobody_to_ask", "no_use_case"])  # a tie: no label
    result = runner.invoke(args=["corrections", "export", "--self-labelled", "--campaign", "a-2026"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 3
    assert {x["label"] for x in lines} == {"support"} and {x["kind"] for x in lines} == {"self_labelled"}
    assert {x["organisation_id"] for x in lines} == {world["org_a"]}
    assert lines[0]["model_label"] == "purpose" and lines[0]["campaign"] == "a-2026"
    assert "exported 3 self-labelled comment(s)" in result.stderr
    empty = runner.invoke(args=["corrections", "export", "--self-labelled", "--campaign", "b-2026"])
    assert empty.exit_code == 0 and "exported 0" in empty.stderr
    bad = runner.invoke(args=["corrections", "export", "--org", "nobody"])
    assert bad.exit_code != 0 and "no organisation 'nobody'" in bad.output
    with app.app_context():
        assert db.session.scalar(select(Comment.id).where(Comment.self_label.is_(None))) is not None
