"""CSV template and import: a real SQLite database through the app fixtures."""

from __future__ import annotations

import csv
import datetime as dt
import io
import string
import zipfile

import import_files
import pytest
from flask import current_app
from items import likert_items
from sqlalchemy import func, select

from diagnosis.extensions import db
from diagnosis.messages import translate as message
from diagnosis.store import csv_io, tabular
from diagnosis.store.csv_io import CSVImportError, import_csv, template_csv
from diagnosis.store.models import Comment, Response, today
from diagnosis.store.tabular import TableFormat, cell_text
from diagnosis.workspace import create_campaign, create_organisation, find_campaign

SLUG = "a-2026"
LIKERT = list(likert_items())


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


def test_invalid_utf8_names_line_byte_and_every_encoding_tried(ctx):
    good = to_csv([valid_row(reasons="研修がない")])  # UTF-8 with multi-byte text before the fault
    data = good + b"weekly,4\x81\x20\n"  # 0x81 0x20: neither UTF-8 nor a CP932 character
    err = import_errors(data)
    (line, column, message), = err.errors
    assert line == 3 and column is None
    assert "byte 0x81 at byte 9 of the line" in message and f"byte {len(good) + 9} of the file" in message
    # CP932 stops earlier, inside the UTF-8 of line 2: UTF-8 is the likelier encoding.
    assert "not valid UTF-8, the encoding that read furthest" in message
    assert "UTF-16 by their byte-order mark" in message and "Shift_JIS (CP932)" in message
    ja = err.errors[0].text("ja")
    assert "0x81はUTF-8として読めません" in ja and "9バイト目" in ja


def test_undecodable_file_reports_where_the_likelier_encoding_stopped(ctx):
    lines = [",".join(valid_row(reasons="研修がない", department="営業・販売").values())] * 4
    data = "\r\n".join([",".join(valid_row()), *lines]).encode("cp932") + b"\r\n\x81\x7f\r\n"
    err = import_errors(data)
    (line, column, message), = err.errors
    # UTF-8 fails on line 2 already; CP932 reads up to the broken pair on line 6.
    assert (line, column) == (6, None)
    assert "byte 0x81 at byte 1 of the line" in message and "not valid Shift_JIS (CP932)" in message


def test_stray_bytes_cp932_decodes_but_japanese_text_never_has(ctx):
    data = to_csv([valid_row()]) + b"weekly,\xa0\n"  # CP932 0xA0 would be U+F8F0
    (line, column, message), = import_errors(data).errors
    assert (line, column) == (3, None) and "byte 0xa0 at byte 8 of the line" in message
    assert "valid in neither UTF-8 nor Shift_JIS (CP932)" in message


def test_broken_utf16_names_the_bom(ctx):
    data = "\ufeffusage\r\n".encode("utf-16-le") + "\ud800".encode("utf-16-le", "surrogatepass")
    (line, _, message), = import_errors(data).errors
    assert line == 2 and "byte-order mark of UTF-16 LE with BOM" in message


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


def test_cli_import_success_and_failure(app, runner, campaign, tmp_path):
    header = ["Timestamp", "メール", *valid_row()]
    good = tmp_path / "good.csv"
    row = valid_row(reasons="研修がなく、使い方を聞ける人もいません。")
    good.write_bytes(to_csv([dict(enumerate(["x", "a@b.jp", *row.values()]))] * 2, header, bom=True))
    out = runner.invoke(args=["import-responses", SLUG, str(good)])
    assert out.exit_code == 0, out.output
    assert "imported 2 responses" in out.output
    assert "メール (personal data, not stored)" in out.output
    # Classified before the command ends: diagnose reads the comments straight away.
    assert "classified 2 comment(s)" in out.output
    with app.app_context():
        assert n_responses() == 2
        labels = list(db.session.scalars(select(Comment.label)))
        assert labels == ["support", "support"]
        assert set(db.session.scalars(select(Response.classification_status))) == {"done"}

    out = runner.invoke(args=["import-responses", SLUG, str(good), "--no-classify"])
    assert out.exit_code == 0, out.output
    assert "2 comment(s) left for the worker" in out.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Comment).where(Comment.label.is_(None))) == 2

    bad = tmp_path / "bad.csv"
    bad.write_bytes(to_csv([valid_row(), valid_row(pu_useful="7")]))
    out = runner.invoke(args=["import-responses", SLUG, str(bad)])
    assert out.exit_code == 1
    assert "1 error; nothing was imported" in out.output
    assert "line 3, column 2 (pu_useful)" in out.output
    with app.app_context():
        assert n_responses() == 4

    out = runner.invoke(args=["import-responses", SLUG, str(good), "--dry-run"])
    assert out.exit_code == 0 and "2 responses would be imported" in out.output
    assert runner.invoke(args=["import-responses", "nope", str(good)]).exit_code == 1


# --- files as Japanese offices have them: Shift_JIS, UTF-16, Excel, Microsoft Forms ---------


def question_header(*ids: str, lang: str = "ja") -> list[str]:
    """Headers as Forms writes them: the question texts."""
    return [questionnaire().item(i).label.get(lang) for i in ids]


def test_cp932_csv_as_japanese_excel_writes_it(ctx):
    ids = ["usage", *LIKERT, "reasons", "tenure", "department"]
    rows = [question_header(*ids),
            ["週に数回", *["ややそう思う"] * 12, "研修は9時～17時で出られない①", "1～3年", "営業・販売"],
            ["ほぼ毎日", *["4"] * 12, "ﾃｽﾄ環境でしか使えない", "10年以上", ""]]
    data = import_files.excel_csv(rows)
    assert not data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    result = run_import(data)
    assert result.imported == 2 and result.format == TableFormat("csv", "cp932", ",")
    first, second = (db.session.get(Response, i) for i in result.response_ids)
    # FULLWIDTH TILDE and circled digits are CP932-only; the tilde matches the label's WAVE DASH.
    assert first.answers["reasons"] == "研修は9時～17時で出られない①"
    assert first.tenure == "1to3" and first.department == "sales" and first.answers["pu_useful"] == 4
    assert second.answers["reasons"] == "ﾃｽﾄ環境でしか使えない" and second.tenure == "10plus"


def test_utf16_tab_separated_unicode_text(ctx):
    header = list(valid_row())
    rows = [header, list(valid_row(reasons="A, B\tand \"C\"\r\n二行目", department="it").values()),
            list(valid_row(usage="Almost every day").values())]
    data = import_files.unicode_text(rows)
    assert data.startswith(b"\xff\xfe") and b"\t\x00" in data
    result = run_import(data)
    assert result.imported == 2 and result.format == TableFormat("csv", "utf-16-le", "\t")
    first, second = (db.session.get(Response, i) for i in result.response_ids)
    assert first.answers["reasons"] == 'A, B\tand "C"\n二行目' and first.department == "it"
    assert second.answers["usage"] == "daily"


def test_utf8_bom_csv_with_forms_completion_time_and_loose_question_marks(ctx):
    q = questionnaire()
    usage = q.item("usage").label.ja.rstrip("。") + "？"  # punctuated differently in the form
    help_en = q.item("help_wanted").label.en.rstrip("?")
    header = ["ID", "完了時刻", "メール", usage, *question_header(*LIKERT), help_en]
    rows = [header, ["7", "2026/11/02 9:14:03", "hanako@example.co.jp", "月に数回", *["2"] * 12, "勉強会"]]
    data = import_files.utf8_bom_csv(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    result = run_import(data)
    assert result.format == TableFormat("csv", "utf-8-sig", ",")
    assert result.columns["submitted_on"] == "完了時刻" and result.columns["usage"] == usage
    assert result.columns["help_wanted"] == help_en
    assert result.personal_columns == ["ID", "メール"]
    resp = db.session.get(Response, result.response_ids[0])
    assert resp.submitted_on == dt.date(2026, 11, 2) and resp.answers["usage"] == "monthly"
    assert resp.answers["help_wanted"] == "勉強会" and "hanako" not in repr(resp.answers)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_microsoft_forms_workbook(ctx, lang):
    q = questionnaire()
    reasons = ";".join(q.item("reason_choices").option(c).label.get(lang)
                       for c in ("nobody_to_ask", "no_training")) + ";"  # Forms ends with ';'
    answers = [
        {"usage": q.item("usage").option("weekly").label.get(lang),
         **{i: 4.0 for i in LIKERT},  # numbers, as a Likert or rating question exports them
         "reason_choices": reasons, "reasons": "聞ける人がいない", "department": None},
        {"usage": q.item("usage").option("never").label.get(lang), **{i: 2 for i in LIKERT},
         "reason_choices": None, "reasons": None,
         "department": q.item("department").option("it").label.get(lang)},
    ]
    completed = [dt.datetime(2026, 11, 2, 9, 14, 3), dt.datetime(2026, 11, 3, 17, 45, 59)]
    data = import_files.forms_workbook(q, lang, answers, completed)
    assert data.startswith(b"PK\x03\x04")
    result = run_import(data, filename="Form1.xlsx")
    assert result.imported == 2 and result.format == TableFormat("xlsx", sheet="Form1")
    meta = import_files.FORMS_META[lang]
    assert result.ignored_columns == [m for m in meta if m != meta[2]]  # the completion time is read
    assert result.personal_columns == [meta[0], meta[3], meta[4]]  # ID, e-mail, name
    first, second = (db.session.get(Response, i) for i in result.response_ids)
    assert (first.submitted_on, second.submitted_on) == (dt.date(2026, 11, 2), dt.date(2026, 11, 3))
    assert first.answers["pu_useful"] == 4 and second.answers["su_hard"] == 2
    assert first.answers["reason_choices"] == ["no_training", "nobody_to_ask"]
    assert first.answers["usage"] == "weekly" and second.department == "it"
    assert {first.lang, second.lang} == {lang}
    stored = repr([first.answers, second.answers, first.segments(), second.segments()])
    assert "taro" not in stored and "山田" not in stored


def test_workbook_row_numbers_count_gaps_and_name_the_column_letter(ctx):
    header = ["usage", *LIKERT]
    rows: list[list[object]] = [header, ["weekly", *[4] * 12], [], [], ["weekly", 7, *[4] * 11]]
    err = import_errors(import_files.workbook(rows))
    (line, column, message), = err.errors
    assert (line, column) == (5, "column B (pu_useful)") and "'7' is not an option" in message
    assert str(err).startswith("line 5, column B (pu_useful): '7'")
    assert err.errors[0].where("ja") == "5行目・B列（pu_useful）"


def test_workbook_dates_must_be_dates_and_in_the_wave(ctx):
    header = ["submitted_on", "usage", *LIKERT]
    rows = [header, [dt.datetime(2025, 12, 31, 23, 0), "weekly", *[4] * 12],
            [45000.5, "weekly", *[4] * 12]]
    err = import_errors(import_files.workbook(rows))
    assert [(e.line, e.column) for e in err.errors] == [(2, "column A (submitted_on)"),
                                                       (3, "column A (submitted_on)")]
    assert "before the campaign opened" in err.errors[0].message and "'2025-12-31 23:00:00'" in err.errors[0].message
    assert "not a date" in err.errors[1].message


@pytest.mark.parametrize(("value", "text"), [
    (None, ""), (4, "4"), (4.0, "4"), (4.5, "4.5"), (0.1 + 0.2, "0.3"), (True, "TRUE"),
    (dt.datetime(2026, 11, 2, 9, 14, 3, 500), "2026-11-02 09:14:03"), (dt.date(2026, 11, 2), "2026-11-02"),
    ("そのまま", "そのまま"),
])
def test_cell_text(value, text):
    assert cell_text(value) == text


@pytest.mark.parametrize(("data", "filename", "expected"), [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "old.xls", "Excel 97–2003 workbook (.xls)"),
    (b"usage\nweekly\n", "renamed.xlsx", "cannot be read as an Excel workbook"),
    (b"PK\x03\x04 not really a zip", "x.xlsx", "cannot be read as an Excel workbook"),
])
def test_files_that_are_not_what_they_seem(ctx, data, filename, expected):
    with pytest.raises(CSVImportError) as info:
        run_import(data, filename=filename)
    (line, column, message), = info.value.errors
    assert (line, column) == (1, None) and expected in message
    assert n_responses() == 0


def test_a_zip_that_is_not_a_workbook(ctx):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    (_, _, message), = import_errors(out.getvalue()).errors
    assert "cannot be read as an Excel workbook" in message


def test_workbook_that_unpacks_too_large_is_refused(ctx, monkeypatch):
    monkeypatch.setattr(tabular, "MAX_XLSX_UNPACKED", 1000)
    (line, _, message), = import_errors(import_files.workbook([["usage"], ["weekly"]])).errors
    assert line == 1 and "too large once unpacked" in message


def test_empty_workbook(ctx):
    assert import_errors(import_files.workbook([])).errors == [(1, None, "the file is empty")]


def test_read_responses_collects_without_storing(ctx):
    rows = [["usage", *LIKERT], ["weekly", *["4"] * 12], ["x", *["4"] * 12], ["daily", *["5"] * 12]]
    read = csv_io.read_responses(find_campaign(SLUG), questionnaire(), import_files.excel_csv(rows))
    assert read.data_rows == 3 and [r["line"] for r in read.rows] == [2, 4]
    assert [(e.line, e.column) for e in read.errors] == [(3, "column 1 (usage)")]
    assert read.rows[1]["answers"]["pu_useful"] == "5" and n_responses() == 0


def test_every_import_message_exists_in_both_languages_with_the_same_fields():
    from diagnosis.messages import catalog

    keys = [k for k in catalog("ja")._catalog if isinstance(k, str) and k.startswith("import.")]
    fields = {}
    for key in keys:
        texts = [message(key, lang) for lang in ("ja", "en")]
        fields[key] = [{f for _, f, _, _ in string.Formatter().parse(t) if f} for t in texts]
        assert all(texts), key
    assert len(fields) > 30 and all(ja == en for ja, en in fields.values())


def test_cli_imports_excel_and_shift_jis_files(runner, campaign, tmp_path, monkeypatch):
    monkeypatch.setattr("diagnosis.classification.schedule_classification", lambda ids: None)
    rows = [["ID", "メール", "usage", *LIKERT], ["1", "a@b.jp", "週に数回", *["4"] * 12]]
    sjis = tmp_path / "forms.csv"
    sjis.write_bytes(import_files.excel_csv(rows))
    out = runner.invoke(args=["import-responses", SLUG, str(sjis), "--dry-run"])
    assert out.exit_code == 0, out.output
    assert "read as CSV (comma-separated, Shift_JIS (CP932))" in out.output
    assert "メール (personal data, not stored)" in out.output and "1 responses would be imported" in out.output
    book = tmp_path / "forms.xlsx"
    book.write_bytes(import_files.workbook([rows[0], [1, "a@b.jp", "weekly", 9, *[4] * 11]]))
    out = runner.invoke(args=["import-responses", SLUG, str(book)])
    assert out.exit_code == 1
    assert "read as Excel workbook (.xlsx), sheet 'Form1'" in out.output
    assert "line 2, column D (pu_useful): '9' is not an option" in out.output


def test_cli_import_then_diagnose_reads_the_classified_comments_at_once(app, runner, campaign, tmp_path):
    import json

    texts = ["研修がなく、使い方を聞ける人もいません。", "プロンプトの書き方を教わる機会がない。",
             "困ったときの問い合わせ先がわからない。"]
    rows = [valid_row(usage="tried_once", reasons=texts[i % 3], department="sales") for i in range(12)]
    path = tmp_path / "paper.csv"
    path.write_bytes(to_csv(rows, bom=True))
    assert runner.invoke(args=["import-responses", SLUG, str(path)]).exit_code == 0
    out = runner.invoke(args=["diagnose", SLUG, "--json", "--all"])
    assert out.exit_code == 0, out.output
    d = json.loads(out.output)
    assert d["pending_comments"] == 0 and not [w for w in d["warnings"] if w["code"] == "pending_comments"]
    assert d["classifier"]["machine_labelled"] == 12
    assert d["causes"]["support"]["n_comments"] == 12 and d["causes"]["support"]["share"] == 1.0
    assert "分類済みの自由記述がない" not in " ".join(d["findings"])
