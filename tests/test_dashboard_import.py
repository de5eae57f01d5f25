"""Importing answer files on the dashboard: upload, preview, import; who may; bad files."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import import_files
import pytest
from conftest import PASSWORD, login
from flask import current_app
from sqlalchemy import func, select

from diagnosis.dashboard import uploads
from diagnosis.extensions import db
from diagnosis.store.models import Campaign, Response
from diagnosis.workspace import create_campaign, create_user

LIKERT = import_files.LIKERT


def text(r) -> str:
    return r.get_data(as_text=True)


def n_responses(app, campaign_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Response)
                                 .where(Response.campaign_id == campaign_id))


def pending_files(app) -> list[Path]:
    folder = Path(app.config["IMPORT_UPLOAD_DIR"])
    return sorted(folder.iterdir()) if folder.is_dir() else []


def forms_file(app, n: int = 3) -> bytes:
    """A Japanese Microsoft Forms export with n answers."""
    with app.app_context():
        q = current_app.extensions["questionnaires"]["ai-adoption"]
        answers = [{"usage": "週に数回", **{i: 4.0 for i in LIKERT},
                    "reason_choices": "困ったときに聞ける人がいない;", "reasons": f"相談先がない（{k}）"}
                   for k in range(n)]
        done = [dt.datetime(2026, 11, 2, 9, 14, k) for k in range(n)]
        return import_files.forms_workbook(q, "ja", answers, done)


def upload(client, campaign_id: int, data: bytes, filename: str, **extra):
    return client.post(f"/campaigns/{campaign_id}/import",
                       data={"answers_file": (io.BytesIO(data), filename), **extra},
                       content_type="multipart/form-data")


@pytest.fixture
def schedule(monkeypatch) -> list[list[int]]:
    """Response ids handed to classification by the import."""
    calls: list[list[int]] = []
    monkeypatch.setattr("diagnosis.dashboard.imports.schedule_classification",
                        lambda ids: calls.append(list(ids)))
    return calls


def test_forms_workbook_is_previewed_then_imported(app, client, world, schedule):
    a = world["campaign_a"]
    login(client, world["consultant"])
    page = text(client.get(f"/campaigns/{a}"))
    assert f'href="/campaigns/{a}/import"' in page
    assert client.get(f"/campaigns/{a}/import").status_code == 200

    r = upload(client, a, forms_file(app), "定着度調査.xlsx")
    assert r.status_code == 302
    preview_url = r.headers["Location"]
    assert re.fullmatch(rf"/campaigns/{a}/import/[A-Za-z0-9_-]{{32}}", preview_url)
    assert n_responses(app, a) == 0  # nothing before the consultant confirms
    stored = pending_files(app)
    assert [p.suffix for p in stored] == [".data", ".json"] and stored[0].stat().st_mode & 0o077 == 0

    page = text(client.get(preview_url + "?lang=en"))
    assert "Excel workbook (.xlsx), sheet &#39;Form1&#39;" in page
    rows = page.split('data-testid="import-rows"')[1].split("</table>")[0]
    assert rows.count("<tr>") == 4  # header and three answers
    assert "weekly" in rows and "nobody_to_ask" in rows and "2026-11-02" in rows
    assert "<td>4</td>" in rows and "4.0" not in rows
    ignored = page.split('data-testid="ignored-columns"')[1].split("</td>")[0]
    for name in ("ID", "メール", "名前", "開始時刻"):
        assert name in ignored
    assert ignored.count("may be personal") == 3
    assert "taro" not in page and "山田" not in page  # personal values are never shown
    assert "Import 3 responses" in page and 'data-testid="import-errors"' not in page
    assert "3件の回答を取り込む" in text(client.get(preview_url + "?lang=ja"))

    r = client.post(preview_url)
    assert r.status_code == 302 and r.headers["Location"] == f"/campaigns/{a}"
    assert "3件の回答を取り込みました" in text(client.get(r.headers["Location"]))
    with app.app_context():
        ids = list(db.session.scalars(select(Response.id).where(Response.campaign_id == a)
                                      .order_by(Response.id)))
        first = db.session.get(Response, ids[0])
        assert first.submitted_on == dt.date(2026, 11, 2) and first.answers["pu_useful"] == 4
        assert first.answers["reason_choices"] == ["nobody_to_ask"] and first.source == "import"
    assert len(ids) == 3 and schedule == [ids]
    assert pending_files(app) == []  # the upload is gone once imported
    # A second confirmation (double click, back button) imports nothing more.
    r = client.post(preview_url)
    assert r.status_code == 302 and r.headers["Location"] == f"/campaigns/{a}/import"
    assert n_responses(app, a) == 3 and len(schedule) == 1


def test_preview_lists_every_error_and_offers_no_import(app, client, world, schedule):
    a = world["campaign_a"]
    login(client, world["consultant"])
    rows = [["メール", "usage", *LIKERT],
            ["x@example.co.jp", "週に数回", *["4"] * 12],
            ["y@example.co.jp", "毎日", "9", *["4"] * 11],
            ["z@example.co.jp", "ほぼ毎日", *["5"] * 12]]
    r = upload(client, a, import_files.excel_csv(rows), "paper.csv")
    preview_url = r.headers["Location"]
    page = text(client.get(preview_url + "?lang=en"))
    assert "CSV (comma-separated, Shift_JIS (CP932))" in page
    errors = page.split('data-testid="import-errors"')[1].split("</table>")[0]
    assert "line 3, column 2 (usage)" in errors and "&#39;毎日&#39; is not an option of &#39;usage&#39;" in errors
    assert "line 3, column 3 (pu_useful)" in errors
    assert 'data-testid="import-button"' not in page and "Import 2 responses" not in page
    assert "x@example" not in page
    valid = page.split('data-testid="import-rows"')[1].split("</table>")[0]
    assert "<td class=\"num\">2</td>" in valid and "<td class=\"num\">4</td>" in valid
    ja = text(client.get(preview_url + "?lang=ja"))
    assert "3行目・2列目（usage）" in ja and "「毎日」は「usage」の選択肢にありません" in ja
    assert "2件の誤りがあるため、取り込めません" in ja
    # Posting the import anyway changes nothing and keeps the file for another look.
    r = client.post(preview_url)
    assert r.status_code == 302 and r.headers["Location"] == preview_url
    assert n_responses(app, a) == 0 and schedule == [] and len(pending_files(app)) == 2
    # Discarding deletes it.
    assert client.post(preview_url + "/discard").status_code == 302
    assert pending_files(app) == []
    assert client.get(preview_url).headers["Location"] == f"/campaigns/{a}/import"


def test_undecodable_file_is_explained_not_a_500(app, client, world):
    login(client, world["consultant"])
    data = b"usage,pu_useful\r\n" + b"weekly,\x81\x20\r\n"
    preview_url = upload(client, world["campaign_a"], data, "broken.csv").headers["Location"]
    r = client.get(preview_url + "?lang=en")
    assert r.status_code == 200
    assert "Could not be read" in text(r) and "line 2" in text(r)
    assert "valid in neither UTF-8 nor Shift_JIS (CP932)" in text(r)
    assert 'data-testid="import-button"' not in text(r)


@pytest.mark.parametrize(("filename", "data", "status", "message"), [
    ("", b"", 400, "Please choose a file."),
    ("report.pdf", b"%PDF-1.7", 400, "Please choose a CSV file (.csv, .tsv, .txt) or an Excel workbook"),
    ("old.xls", b"\xd0\xcf\x11\xe0", 400, "Save an old .xls file as .xlsx"),
    ("empty.csv", b"", 400, "The file is empty."),
])
def test_wrong_files_get_a_message(app, client, world, filename, data, status, message):
    login(client, world["consultant"])
    client.get(f"/campaigns/{world['campaign_a']}/import?lang=en")  # remember English
    r = upload(client, world["campaign_a"], data, filename)
    assert r.status_code == status
    assert message in text(r) and 'data-testid="upload-problem"' in text(r)
    assert pending_files(app) == []


def test_larger_file_allowed_here_only_and_too_large_is_polite(app, client, world):
    a = world["campaign_a"]
    login(client, world["consultant"])
    client.get(f"/campaigns/{a}?lang=en")  # remember English for the pages below
    big = b"usage," + b"x" * (2 * 1024 * 1024) + b"\r\n"
    assert len(big) > app.config["MAX_CONTENT_LENGTH"]
    assert client.post(f"/campaigns/{a}/note", data={"note": big.decode()}).status_code == 413
    r = upload(client, a, big, "big.csv")
    assert r.status_code == 302  # above the site-wide 1 MB, within this page's limit
    app.config["IMPORT_MAX_CONTENT_LENGTH"] = 1024 * 1024
    r = upload(client, a, big, "big.csv")
    assert r.status_code == 413
    assert "The file is too large (at most 1 MB)" in text(r) and 'name="answers_file"' in text(r)


def test_dx_lead_and_other_organisations_consultant_are_refused(app, client, world):
    with app.app_context():
        org_a = db.session.get(Campaign, world["campaign_a"]).organisation
        other = create_campaign(org_a, "a-2027", "A wave 2", opens_on=dt.date(2026, 1, 1))
        create_user("second@example.com", "Sato", "consultant", PASSWORD, [org_a])
        db.session.commit()
        other_id = other.id
    a, b = world["campaign_a"], world["campaign_b"]
    login(client, world["consultant"])
    preview_url = upload(client, a, forms_file(app, 1), "f.xlsx").headers["Location"]
    token = preview_url.rsplit("/", 1)[1]
    # The consultant is not assigned to B: no page, no upload, as if it did not exist.
    assert client.get(f"/campaigns/{b}/import").status_code == 404
    assert upload(client, b, forms_file(app, 1), "f.xlsx").status_code == 404
    assert client.post(f"/campaigns/{b}/import/{token}").status_code == 404
    # The upload is bound to its campaign ...
    r = client.post(f"/campaigns/{other_id}/import/{token}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/campaigns/{other_id}/import")
    client.post("/logout")
    # ... and to its consultant: a colleague on the same organisation cannot see or import it.
    login(client, "second@example.com")
    r = client.get(preview_url)
    assert r.status_code == 302 and "Form1" not in text(r)
    assert client.post(preview_url).status_code == 302
    client.post("/logout")
    # DX leads import nothing, even in their own organisation.
    login(client, world["lead_a"])
    assert f'href="/campaigns/{a}/import"' not in text(client.get(f"/campaigns/{a}"))
    assert client.get(f"/campaigns/{a}/import").status_code == 403
    assert upload(client, a, forms_file(app, 1), "f.xlsx").status_code == 403
    assert client.get(preview_url).status_code == 403
    assert client.post(preview_url).status_code == 403
    assert client.post(preview_url + "/discard").status_code == 403
    assert n_responses(app, a) == 0 and n_responses(app, other_id) == 0
    client.post("/logout")
    assert client.get(preview_url).status_code == 302  # anonymous: to the login page


def test_uploads_expire_and_are_swept(app, client, world, monkeypatch):
    a = world["campaign_a"]
    login(client, world["consultant"])
    preview_url = upload(client, a, forms_file(app, 1), "f.xlsx").headers["Location"]
    monkeypatch.setattr(uploads, "MAX_AGE", -1)
    r = client.get(preview_url)
    assert r.status_code == 302 and r.headers["Location"] == f"/campaigns/{a}/import"
    assert pending_files(app) == []
    monkeypatch.setattr(uploads, "MAX_AGE", 3600)
    upload(client, a, forms_file(app, 1), "f.xlsx")
    upload(client, a, forms_file(app, 1), "f.xlsx")  # a new upload replaces the earlier one
    assert len(pending_files(app)) == 2
    monkeypatch.setattr(uploads, "MAX_AGE", -1)
    monkeypatch.setattr(uploads, "_last_sweep", 0.0)
    client.get("/dashboard")  # any dashboard page sweeps expired files
    assert pending_files(app) == []


@pytest.fixture
def csrf_app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


@pytest.mark.usefixtures("csrf_app_config")
def test_upload_import_and_discard_need_the_csrf_token(app, client, world, schedule):
    a = world["campaign_a"]
    r = client.post("/login", data={"email": world["consultant"], "password": PASSWORD,
                                    "csrf_token": _token(text(client.get("/login")))})
    assert r.status_code == 302
    data = forms_file(app, 2)
    assert upload(client, a, data, "f.xlsx").status_code == 400
    assert pending_files(app) == []
    token = _token(text(client.get(f"/campaigns/{a}/import")))
    r = upload(client, a, data, "f.xlsx", csrf_token=token)
    assert r.status_code == 302
    preview_url = r.headers["Location"]
    page = text(client.get(preview_url))
    assert client.post(preview_url).status_code == 400
    assert client.post(preview_url + "/discard").status_code == 400
    assert n_responses(app, a) == 0 and len(pending_files(app)) == 2
    confirm = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(preview_url, data={"csrf_token": confirm}).status_code == 302
    assert n_responses(app, a) == 2
