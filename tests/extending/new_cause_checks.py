"""Run by tests/test_extending.py in a fresh interpreter whose TEICHAKU_QUESTIONNAIRE_DIR holds the
playbook and questionnaire with a fifth cause (``workload``) and a fourth remedy
(``time_allowance``), written only as YAML. Not collected on its own (the file name does not
start with ``test_``)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import subprocess
from types import SimpleNamespace

import pytest
from conftest import login
from dashboard_helpers import submit

from diagnosis import vocabulary

pytestmark = pytest.mark.skipif(
    "workload" not in vocabulary.CAUSES,
    reason="needs TEICHAKU_QUESTIONNAIRE_DIR with the new cause (run through tests/test_extending.py)")

BUSY = "毎日の業務が忙しくて、試す時間がまったく取れない"
OTHER = "特になし"


def _stub_classify(texts, organisation_id=None):
    """The classifier stub: busy-sounding answers are 'workload', the rest 'other'."""
    out = []
    for t in texts:
        label = "workload" if ("忙し" in t or "busy" in t) else "other"
        scores = {c: (0.9 if c == label else 0.1 / (len(vocabulary.LABELS) - 1)) for c in vocabulary.LABELS}
        out.append(SimpleNamespace(label=label, confidence=0.9, scores=scores, sentences=()))
    return out, "stub:0123456789ab"


@pytest.fixture
def campaign(app, client, world, monkeypatch):
    """Twelve employees in two departments answer through the real survey form: no time (the new items rated low,
    the new checklist option ticked, a busy comment) and little else wrong."""
    monkeypatch.setattr("diagnosis.classification._classify_texts", _stub_classify)
    for i in range(12):
        submit(client, world["token_a"], comment=BUSY if i < 10 else OTHER, level="4",
               wl_time="1", wl_busy="5", reason_choices="no_time",
               department="sales" if i % 2 else "engineering")
    with app.app_context():
        from diagnosis.classification import classify_pending

        assert classify_pending() == 12
    return world


def test_the_survey_asks_the_new_cause_in_both_languages(client, world):
    ja = client.get(f"/s/{world['token_a']}").get_data(as_text=True)
    assert "業務の中で生成AIを試す時間がある。" in ja and "忙しくて試す時間がない" in ja
    en = client.get(f"/s/{world['token_a']}?lang=en").get_data(as_text=True)
    assert "I have time in my working day to try generative AI." in en and "I am too busy to try it" in en


def test_the_diagnosis_names_the_new_cause_and_starts_with_the_new_remedy(app, campaign):
    result = app.test_cli_runner().invoke(args=["diagnose", "a-2026", "--json", "--all", "--lang", "en"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    assert d["dominant_cause"] == "workload"
    assert d["start_with"] == "time_allowance"
    start = d["recommendations"][0]
    assert start["name"] == "Protected time to try it"
    assert start["reasons"][0].startswith("The main cause is having no time to try it")
    assert [r["remedy"] for r in d["recommendations"]][1:] and len(d["recommendations"]) == 4
    assert set(d["causes"]) >= {"purpose", "leadership", "support", "workload"}


def test_the_dashboard_shows_the_new_cause_and_remedy(client, campaign):
    login(client, campaign["lead_a"])
    page = client.get(f"/campaigns/{campaign['campaign_a']}").get_data(as_text=True)
    assert "業務が忙しく試す時間がない" in page  # the cause's name (cause table, charts)
    assert "試行時間の確保" in page  # the remedy to start with
    assert "#6a3d8f" in page  # the cause's colour in the charts
    assert "時間不足" in page  # the heat map's short header
    css = client.get("/causes.css").get_data(as_text=True)
    assert "--workload: #6a3d8f;" in css and ".cause-workload" in css
    en = client.get(f"/campaigns/{campaign['campaign_a']}?lang=en").get_data(as_text=True)
    assert "No time to try it in a busy workload" in en and "Protected time to try it" in en
    assert ">No time<" in en  # the heat map's short English header


def test_the_csv_export_has_the_new_cause_and_remedy(client, campaign):
    login(client, campaign["lead_a"])
    r = client.get(f"/campaigns/{campaign['campaign_a']}/export/diagnosis.csv?lang=en")
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.get_data().decode("utf-8-sig"))))
    cause = next(row for row in rows if row[1:2] == ["workload"])
    assert cause[0] == "No time to try it in a busy workload" and float(cause[2]) > 50  # the one name, as shown
    assert ["Dominant cause", "workload"] in rows
    assert any("Protected time to try it" in cell for row in rows for cell in row)


def test_the_pdf_shows_the_new_cause_and_remedy(app, campaign, tmp_path):
    from diagnosis.reports import render_report_pdf

    with app.app_context():
        pdf = render_report_pdf("a-2026", "ja", report_date=dt.date(2026, 12, 1))
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    text = re.sub(r"\s+", "", subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"],
                                             capture_output=True, text=True, check=True).stdout)
    # the summary, the cause table and the voices section each name it
    assert text.count("業務が忙しく試す時間がない") >= 3, text
    assert "試行時間の確保" in text
    assert "試す時間を業務として確保するのが近道です" in text  # the remedy's "why start here"


def test_the_environment_names_the_fixture():
    assert os.environ["TEICHAKU_QUESTIONNAIRE_DIR"].endswith("questionnaires")
    assert vocabulary.REMEDIES[-1] == "time_allowance"
