"""CSV template and import: a real SQLite database through the app fixtures."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from flask import current_app
from sqlalchemy import func, select

from diagnosis import csv_io
from diagnosis.csv_io import CSVImportError, import_csv, template_csv
from diagnosis.extensions import db
from diagnosis.models import Comment, Response, today
from diagnosis.workspace import create_campaign, create_organisation, find_campaign

SLUG = "a-2026"
LIKERT = ["pu_useful", "pu_usecase", "pu_goal", "pu_nofit", "le_exec", "le_manager", "le_policy",
          "le_fringe", "su_skill", "su_training", "su_ask", "su_hard"]


def questionnaire():
    return current_app.extensions["questionnaires"]["ai-adoption"]


def valid_row(**over: str) -> dict[str, str]:
    """A complete valid row keyed by item id, with overrides."""
    row = {"usage": "weekly", **dict.fromkeys(LIKERT, "4"), "reason_choices": "", "reasons": "",
           "help_wanted": "",
           "department": "", "role": "", "age_band": "", "tenure": ""}
    row.update(over)
    return row


def to_csv(rows: list[dict[str, str]], header: list[str] | None = None, *, bom: bool = False,
           crlf: bool = False) -> bytes:
    header = header or list(rows[0] if rows else valid_row())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow(list(r.values()))
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def run_import(data: bytes, **kw):
    return import_csv(find_campaign(SLUG), questionnaire(), data, **kw)


def n_responses() -> int:
    return db.session.scalar(select(func.count()).select_from(Response))


def import_errors(data: bytes) -> CSVImportError:
    """Import expecting rejection; checks that nothing at all was stored."""
    with pytest.raises(CSVImportError) as info:
        run_import(data)
    db.session.rollback()
    assert n_responses() == 0
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 0
    return info.value


@pytest.fixture
def campaign(app):
    """One organisation and campaign; lighter than `world` (no password hashing)."""
    with app.app_context():
        org = create_organisation("株式会社エー", 120, dt.date(2026, 8, 1), "A Corp")
        create_campaign(org, SLUG, "A wave 1", opens_on=dt.date(2026, 1, 1))
        db.session.commit()


@pytest.fixture
def ctx(app, campaign):
    with app.app_context():
        yield


# --- template and round trip ------------------------------------------------------------------


def test_template_header_is_every_item_id_in_order(ctx):
    q = questionnaire()
    text = template_csv(q)
    assert text == ",".join(i.id for i in q.items) + "\r\n"  # header only by default
    rows = list(csv.reader(io.StringIO(template_csv(q, "en", with_example=True))))
    assert len(rows) == 2 and rows[0] == [i.id for i in q.items]
    assert rows[1][0] == "Tried it once"


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_template_example_row_imports(ctx, lang):
    data = template_csv(questionnaire(), lang, with_example=True).encode("utf-8-sig")
    result = run_import(data)
    assert result.imported == 1 and result.comments == 2
    resp = db.session.get(Response, result.response_ids[0])
    assert resp.answers["usage"] == "tried_once" and resp.answers["pu_useful"] == 4
    assert resp.department == "manufacturing" and resp.lang == lang


def test_round_trip_stores_answers_segments_and_comments(ctx):
    header = next(csv.reader(io.StringIO(template_csv(questionnaire()))))
    rows = [
        valid_row(usage="daily", pu_useful="5", pu_goal="dk", reasons="研修がない。\n相談先もない。",
                  department="sales", role="manager", age_band="40s", tenure="10plus"),
        valid_row(usage="never", help_wanted="A monthly workshop", department="prefer_not"),
    ]
    result = run_import(to_csv(rows, header))
    assert (result.imported, result.comments, result.ignored_columns) == (2, 2, [])
    db.session.expire_all()
    first, second = (db.session.get(Response, i) for i in result.response_ids)
    assert first.answers["usage"] == "daily" and first.answers["pu_useful"] == 5
    assert first.answers["pu_goal"] == "dk" and first.answers["le_exec"] == 4
    assert first.answers["reasons"] == "研修がない。\n相談先もない。"
    assert first.segments() == {"department": "sales", "role": "manager", "age_band": "40s",
                                "tenure": "10plus"}
    assert first.source == "import" and first.submitted_on == today()
    assert [(c.item_id, c.text, c.source) for c in first.comments] == [
        ("reasons", "研修がない。\n相談先もない。", "survey")]
    assert first.classification_status == "pending"
    assert second.department is None and "help_wanted" in second.answers
    assert "reasons" not in second.answers and second.comments[0].text == "A monthly workshop"


def test_labels_in_japanese_and_english_and_normalised(ctx):
    rows = [
        valid_row(usage="ほぼ毎日", pu_useful="とてもそう思う", pu_goal="わからない",
                  le_exec="ｄｋ", pu_nofit="５", department="回答しない", role="課長・マネージャー"),
        valid_row(usage="  A few times a week ", pu_useful="STRONGLY AGREE", pu_goal="Don't know",
                  pu_nofit="neither agree nor disagree", department="Prefer not to answer",
                  age_band="30–39", tenure="PREFER_NOT"),
    ]
    result = run_import(to_csv(rows))
    ja, en = (db.session.get(Response, i) for i in result.response_ids)
    assert ja.answers["usage"] == "daily" and ja.answers["pu_useful"] == 5
    assert ja.answers["pu_goal"] == "dk" and ja.answers["le_exec"] == "dk"
    assert ja.answers["pu_nofit"] == 5 and ja.role == "manager" and ja.department is None
    assert ja.lang == "ja"
    assert en.answers["usage"] == "weekly" and en.answers["pu_useful"] == 5
    assert en.answers["pu_goal"] == "dk" and en.answers["pu_nofit"] == 3
    assert en.age_band == "30s" and en.tenure is None and en.lang == "en"


def test_forms_export_with_question_headers_and_extra_columns(ctx):
    q = questionnaire()
    header = ["Timestamp", "ID", "メール", "名前", "submitted_on"]
    header += [q.item(i).label.ja for i in ["usage", *LIKERT]]
    header += [q.item("reasons").label.en, "Department"]
    values = ["2026/11/02 9:14:03", "17", "taro@example.com", "山田太郎", "2026/11/02 9:14:03",
              "週に数回", *["ややそう思う"] * len(LIKERT), "No time to learn", "営業・販売"]
    result = run_import(to_csv([dict(enumerate(values))], header))
    assert result.imported == 1
    assert result.ignored_columns == ["Timestamp", "ID", "メール", "名前"]
    assert result.personal_columns == ["ID", "メール", "名前"]
    assert result.columns["usage"] == q.item("usage").label.ja
    resp = db.session.get(Response, result.response_ids[0])
    assert resp.submitted_on == dt.date(2026, 11, 2)
    assert resp.answers["le_manager"] == 4 and resp.department == "sales"
    assert resp.answers["reasons"] == "No time to learn"
    stored = repr(resp.answers) + repr(resp.segments())
    assert "taro" not in stored and "山田" not in stored and "17" not in stored


def test_english_headers_make_an_english_response(ctx):
    q = questionnaire()
    header = [q.item(i).label.en for i in ["usage", *LIKERT]]
    result = run_import(to_csv([dict(enumerate(["weekly", *["4"] * len(LIKERT)]))], header))
    assert db.session.get(Response, result.response_ids[0]).lang == "en"


def test_bom_crlf_multiline_cell_and_blank_rows(ctx):
    rows = [valid_row(reasons="一行目\r\n二行目"), dict.fromkeys(valid_row(), ""),
            valid_row(submitted_on="2026-10-01")]
    rows[0]["submitted_on"] = ""
    data = to_csv(rows, bom=True, crlf=True)
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    result = run_import(data)
    assert (result.imported, result.skipped_blank_rows) == (2, 1)
    first, second = (db.session.get(Response, i) for i in result.response_ids)
    assert first.answers["reasons"] == "一行目\n二行目"
    assert second.submitted_on == dt.date(2026, 10, 1)


def test_dry_run_counts_without_storing(ctx):
    result = run_import(to_csv([valid_row(reasons="x"), valid_row()]), dry_run=True)
    assert (result.imported, result.comments) == (2, 1)
    assert n_responses() == 0


# --- every error path: line, column, reason; nothing stored ----------------------------------


def test_invalid_option_reports_line_and_column(ctx):
    err = import_errors(to_csv([valid_row(), valid_row(), valid_row(usage="sometimes")]))
    assert err.errors == [(4, "column 1 (usage)", err.errors[0].message)]
    assert "'sometimes' is not an option of 'usage'" in err.errors[0].message
    assert str(err).startswith("line 4, column 1 (usage): 'sometimes'")


def test_dont_know_on_item_without_it(ctx):
    err = import_errors(to_csv([valid_row(pu_useful="わからない")]))
    (line, column, message), = err.errors
    assert (line, column) == (2, "column 2 (pu_useful)")
    assert "not offered" in message


def test_likert_out_of_range(ctx):
    err = import_errors(to_csv([valid_row(su_hard="6")]))
    assert [(e.line, e.column) for e in err.errors] == [(2, "column 13 (su_hard)")]


def test_required_value_missing(ctx):
    err = import_errors(to_csv([valid_row(), valid_row(le_manager=" ")]))
    assert err.errors == [(3, "column 7 (le_manager)", "'le_manager' is required but empty")]


def test_required_column_missing(ctx):
    row = valid_row()
    del row["su_skill"]
    err = import_errors(to_csv([row]))
    assert err.errors == [(1, None, "required item 'su_skill' has no column")]


def test_text_too_long(ctx):
    err = import_errors(to_csv([valid_row(help_wanted="あ" * 1001)]))
    assert err.errors == [(2, "column 16 (help_wanted)",
                           "text is 1001 characters; 'help_wanted' allows at most 1000")]


def test_text_at_the_limit_is_accepted(ctx):
    assert run_import(to_csv([valid_row(help_wanted="あ" * 1000)])).imported == 1


def test_invalid_utf8_names_line_and_byte(ctx):
    good = to_csv([valid_row()])
    data = good + "weekly,4".encode("shift_jis") + "営業".encode("shift_jis") + b"\n"
    err = import_errors(data)
    (line, column, message), = err.errors
    assert line == 3 and column is None
    assert "not valid UTF-8" in message and "at byte 9 of the line" in message
    assert f"byte {len(good) + 9} of the file" in message


def test_shift_jis_header_is_rejected_on_line_1(ctx):
    err = import_errors("部門\n".encode("shift_jis"))
    assert err.errors[0].line == 1 and "byte 1 of the line" in err.errors[0].message


def test_utf16_is_rejected(ctx):
    err = import_errors(to_csv([valid_row()]).decode().encode("utf-16"))
    assert err.errors[0][0] == 1 and "UTF-16" in err.errors[0][2]


def test_control_characters(ctx):
    err = import_errors(to_csv([valid_row(), valid_row(reasons="ok\x07bell\tand tab")]))
    assert err.errors == [(3, "column 15 (reasons)", "contains control characters")]


def test_tab_and_newline_are_not_control_characters(ctx):
    result = run_import(to_csv([valid_row(reasons="a\tb\nc")]))
    assert db.session.get(Response, result.response_ids[0]).answers["reasons"] == "a\tb\nc"


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\r\n\r\n  \n"])
def test_empty_file(ctx, data):
    err = import_errors(data)
    assert err.errors == [(1, None, "the file is empty")]


def test_header_without_known_items(ctx):
    err = import_errors(b"Timestamp,Name,Score\n2026/11/02,x,3\n")
    assert err.errors[0][:2] == (1, None) and "names no item" in err.errors[0][2]


def test_header_only(ctx):
    err = import_errors(template_csv(questionnaire()).encode())
    assert err.errors == [(1, None, "the file has a header but no rows")]


def test_duplicate_header(ctx):
    row = valid_row()
    header = [*row, "usage"]
    err = import_errors(to_csv([dict(enumerate([*row.values(), "daily"]))], header))
    assert err.errors == [(1, "column 21 (usage)", "duplicate column: same header as column 1")]


def test_duplicate_item_by_id_and_label(ctx):
    row = valid_row()
    header = [*row, "所属部門"]
    err = import_errors(to_csv([dict(enumerate([*row.values(), "sales"]))], header))
    (line, column, message), = err.errors
    assert (line, column) == (1, "column 21 (所属部門)")
    assert "column 17 (department) is already item 'department'" in message


def test_duplicate_ignored_header(ctx):
    row = valid_row()
    header = [*row, "メモ", " メモ "]
    err = import_errors(to_csv([dict(enumerate([*row.values(), "a", "b"]))], header))
    assert err.errors == [(1, "column 22 (メモ)", "duplicate column: same header as column 21")]


def test_too_many_rows(ctx):
    assert csv_io.MAX_ROWS == 20_000
    line = ",".join(valid_row().values()) + "\n"
    data = to_csv([valid_row()]) + line.encode() * csv_io.MAX_ROWS
    err = import_errors(data)
    assert err.errors == [(20_002, None, "more than 20,000 rows; split the file")]


@pytest.mark.parametrize(("value", "reason"), [
    ("11/2/2026", "not a date"), ("2026-02-30", "not a valid date"), ("2999-01-01", "future"),
])
def test_bad_submitted_on(ctx, value, reason):
    err = import_errors(to_csv([valid_row(submitted_on=value)]))
    (line, column, message), = err.errors
    assert (line, column) == (2, "column 21 (submitted_on)") and reason in message


@pytest.mark.parametrize(("opens", "closes", "closed_at", "value", "reason"), [
    (dt.date(2026, 1, 1), None, None, "2025-12-31", "before the campaign opened (2026-01-01)"),
    (dt.date(2026, 1, 1), None, None, "2025/12/31 23:59:59", "before the campaign opened"),
    (dt.date(2026, 1, 1), dt.date(2026, 3, 31), None, "2026-04-01", "after the campaign closed (2026-03-31)"),
    (dt.date(2026, 1, 1), dt.date(2026, 3, 31), dt.datetime(2026, 2, 10, 9), "2026-02-11",
     "after the campaign closed (2026-02-10)"),
    (dt.date(2026, 1, 1), None, None, (today() + dt.timedelta(days=30)).isoformat(), "future"),
])
def test_submitted_on_outside_the_campaign_is_refused(ctx, opens, closes, closed_at, value, reason):
    campaign = find_campaign(SLUG)
    campaign.opens_on, campaign.closes_on, campaign.closed_at = opens, closes, closed_at
    db.session.commit()
    rows = [valid_row(submitted_on=opens.isoformat()), valid_row(submitted_on=value)]
    err = import_errors(to_csv(rows))
    (line, column, message), = err.errors
    assert (line, column) == (3, "column 21 (submitted_on)") and reason in message
    assert value.split(" ")[0] in message  # the offending value is quoted back


def test_submitted_on_on_the_first_and_last_day_is_accepted(ctx):
    find_campaign(SLUG).closes_on = dt.date(2026, 3, 31)
    db.session.commit()
    rows = [valid_row(submitted_on="2026-01-01"), valid_row(submitted_on="2026/03/31 18:00")]
    assert run_import(to_csv(rows)).imported == 2
    assert sorted(r.submitted_on for r in db.session.scalars(select(Response))) == [
        dt.date(2026, 1, 1), dt.date(2026, 3, 31)]


def test_more_values_than_header(ctx):
    row = valid_row()
    err = import_errors(to_csv([dict(enumerate([*row.values(), "stray"]))], list(row)))
    assert err.errors[0][:2] == (2, "column 21")
    assert "21 values but the header only 20 columns" in err.errors[0][2]


def test_malformed_csv_is_reported_with_earlier_errors(ctx):
    data = to_csv([valid_row(usage="x")]) + b'weekly,"unterminated\n'
    err = import_errors(data)
    assert [(e.line, e.column) for e in err.errors] == [(2, "column 1 (usage)"), (3, None)]
    assert "malformed CSV" in err.errors[1].message


def test_line_numbers_count_physical_lines_after_multiline_cells(ctx):
    rows = [valid_row(reasons="a\nb\nc"), valid_row(tenure="forever")]
    err = import_errors(to_csv(rows))
    assert err.errors[0][:2] == (5, "column 20 (tenure)")


def test_every_error_is_collected_and_printing_is_capped(ctx):
    err = import_errors(to_csv([valid_row(usage="x", role="y") for _ in range(30)]))
    assert len(err.errors) == 60
    assert {e.line for e in err.errors} == set(range(2, 32))
    lines = str(err).splitlines()
    assert len(lines) == 51 and lines[-1] == "… and 10 more"


# --- CLI --------------------------------------------------------------------------------------


def test_cli_template_to_stdout_and_file(runner, campaign, tmp_path):
    out = runner.invoke(args=["csv-template", SLUG])
    assert out.exit_code == 0, out.output
    assert out.stdout_bytes.startswith(b"\xef\xbb\xbfusage,pu_useful,")
    assert out.stdout_bytes.count(b"\r\n") == 1
    path = tmp_path / "t.csv"
    out = runner.invoke(args=["csv-template", SLUG, "-o", str(path), "--lang", "en",
                              "--with-example"])
    assert out.exit_code == 0, out.output
    text = path.read_bytes().decode("utf-8")
    assert text.startswith("\ufeffusage,") and "Tried it once" in text
    assert runner.invoke(args=["csv-template", "nope"]).exit_code == 1


def test_cli_import_success_and_failure(app, runner, campaign, tmp_path, monkeypatch):
    scheduled: list[list[int]] = []
    monkeypatch.setattr("diagnosis.classification.schedule_classification",
                        lambda ids: scheduled.append(list(ids)))
    header = ["Timestamp", "メール", *valid_row()]
    good = tmp_path / "good.csv"
    good.write_bytes(to_csv([dict(enumerate(["x", "a@b.jp", *valid_row().values()]))] * 2,
                            header, bom=True))
    out = runner.invoke(args=["import-responses", SLUG, str(good)])
    assert out.exit_code == 0, out.output
    assert "imported 2 responses" in out.output
    assert "メール (personal data, not stored)" in out.output
    with app.app_context():
        assert n_responses() == 2
        assert scheduled == [list(db.session.scalars(select(Response.id).order_by(Response.id)))]

    bad = tmp_path / "bad.csv"
    bad.write_bytes(to_csv([valid_row(), valid_row(pu_useful="7")]))
    out = runner.invoke(args=["import-responses", SLUG, str(bad)])
    assert out.exit_code == 1
    assert "1 error; nothing was imported" in out.output
    assert "line 3, column 2 (pu_useful)" in out.output
    with app.app_context():
        assert n_responses() == 2
    assert len(scheduled) == 1

    out = runner.invoke(args=["import-responses", SLUG, str(good), "--dry-run"])
    assert out.exit_code == 0 and "2 responses would be imported" in out.output
    assert runner.invoke(args=["import-responses", "nope", str(good)]).exit_code == 1
