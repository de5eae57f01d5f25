"""Answer files made the way Japanese Excel and Microsoft Forms make them, for the import tests."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
from items import likert_items

from diagnosis.questionnaire import Questionnaire

LIKERT = likert_items()
# The columns Microsoft Forms puts before the questions, in a Japanese and an English export.
FORMS_META = {
    "ja": ["ID", "開始時刻", "完了時刻", "メール", "名前", "最終変更時刻"],
    "en": ["ID", "Start time", "Completion time", "Email", "Name", "Last modified time"],
}


def excel_csv(rows: list[list[str]]) -> bytes:
    """Japanese Excel's "CSV (コンマ区切り)": Shift_JIS (CP932), CRLF, no BOM."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("cp932")


def unicode_text(rows: list[list[str]]) -> bytes:
    """Excel's "Unicode テキスト": UTF-16 LE with BOM, tab-separated, CRLF."""
    out = io.StringIO()
    csv.writer(out, delimiter="\t", lineterminator="\r\n").writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-16-le")


def utf8_bom_csv(rows: list[list[str]]) -> bytes:
    """Excel's "CSV UTF-8 (コンマ区切り)": UTF-8 with BOM, CRLF."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def workbook(rows: list[list[object]], title: str = "Form1") -> bytes:
    """An .xlsx file whose first sheet holds ``rows`` (cells keep their Python types)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def forms_workbook(q: Questionnaire, lang: str, answers: list[dict[str, object]],
                   completed: list[dt.datetime]) -> bytes:
    """A Microsoft Forms export: ID, times, e-mail and name first, then one column per question
    headed with the question text; times are real datetime cells."""
    ids = list(answers[0])
    header = FORMS_META[lang] + [q.item(i).label.get(lang) for i in ids]
    rows: list[list[object]] = [header]
    for n, (row, done) in enumerate(zip(answers, completed, strict=True), 1):
        started = done - dt.timedelta(minutes=4)
        rows.append([n, started, done, f"taro{n}@example.co.jp", f"山田 太郎{n}", done,
                     *(row.get(i) for i in ids)])
    return workbook(rows)
