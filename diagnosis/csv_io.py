"""CSV template and import of survey responses (paper surveys, Microsoft Forms, Google Forms).

An import is all-or-nothing: every row is validated first, and rows are only added (through
:func:`diagnosis.responses.add_response`, the one way answers become rows) when no error was found.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .extensions import db
from .models import Campaign, today
from .questionnaire import DONT_KNOW, DONT_KNOW_TEXT, Item, Questionnaire
from .responses import add_response, clean_text, has_control_chars

MAX_ROWS = 20_000
MAX_PRINTED_ERRORS = 50
SUBMITTED_ON = "submitted_on"
BOM = "\ufeff"
_BOM_BYTES = BOM.encode("utf-8")

# Header words that suggest a column holds identifying data (Forms exports add e-mail, name, ID).
# Such columns are never stored; they are named separately in the result so the user knows.
_PERSONAL = re.compile(
    r"mail|メール|アドレス|name|氏名|名前|お名前|社員番号|従業員番号|職員番号|employee ?(id|no|number)"
    r"|^id$|^no\.?$|user|ユーザー|phone|tel|電話|携帯|address|住所|ip ?address|respondent|回答者"
)
# 2026-11-02, 2026/11/02 9:14:03 (Google Forms, ja), 2026-11-02T09:14:03+09:00.
_DATE = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*(?:z|[+-]\d{2}:?\d{2}))?)?$"
)


class CSVError(NamedTuple):
    """One problem found in the file; ``column`` is None for whole-file or whole-row problems."""

    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class CSVImportError(ValueError):
    """The file was rejected; ``errors`` lists every ``(line, column, message)`` found."""

    def __init__(self, errors: list[CSVError]) -> None:
        self.errors = errors
        shown = [str(e) for e in errors[:MAX_PRINTED_ERRORS]]
        if len(errors) > MAX_PRINTED_ERRORS:
            shown.append(f"… and {len(errors) - MAX_PRINTED_ERRORS} more")
        super().__init__("\n".join(shown))


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do)."""

    imported: int = 0
    comments: int = 0
    skipped_blank_rows: int = 0
    response_ids: list[int] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # item id (or submitted_on) → header
    ignored_columns: list[str] = field(default_factory=list)
    personal_columns: list[str] = field(default_factory=list)  # subset of ignored_columns


def normalise(text: str) -> str:
    """Comparison key for headers and values: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _column(number: int, header: str) -> str:
    return f"column {number} ({header})" if header else f"column {number}"


def _short(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


# --- template ---------------------------------------------------------------------------------


def _example_value(item: Item, lang: str) -> str:
    if item.type == "likert":
        return "4"
    if item.type == "text":
        return ("（例）使い方を相談できる窓口があれば使いたい" if lang == "ja"
                else "(example) I would use it more if I had someone to ask")
    if item.type == "multi_choice":  # several choices in one cell, as Forms exports them
        return ";".join(o.label.get(lang) for o in item.options[:2])
    # Label text rather than a code: what a person filling the sheet by hand would type.
    return item.options[min(1, len(item.options) - 1)].label.get(lang)


def template_csv(questionnaire: Questionnaire, lang: str = "ja", with_example: bool = False) -> str:
    """A CSV header of the questionnaire's item ids (and optionally one example row), CRLF."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    items = questionnaire.items
    writer.writerow([i.id for i in items])
    if with_example:
        writer.writerow([_example_value(i, lang) for i in items])
    return out.getvalue()


# --- import -----------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    """UTF-8 text without BOM; invalid bytes are reported with line and byte position."""
    offset = len(_BOM_BYTES) if data.startswith(_BOM_BYTES) else 0
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CSVImportError([CSVError(1, None, "the file is UTF-16, not UTF-8; in Excel use "
                                       "'Save as' → 'CSV UTF-8 (comma delimited)'")])
    try:
        return data[offset:].decode("utf-8")
    except UnicodeDecodeError as exc:
        pos = offset + exc.start
        line_start = data.rfind(b"\n", 0, pos) + 1
        line = data.count(b"\n", 0, pos) + 1
        raise CSVImportError([CSVError(
            line, None,
            f"not valid UTF-8: byte 0x{data[pos]:02x} at byte {pos - line_start + 1} of the line "
            f"(byte {pos + 1} of the file); save the file as 'CSV UTF-8' — Excel's plain 'CSV' "
            "is Shift_JIS on Japanese Windows",
        )]) from None


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, cells) for each CSV record; a quoted cell may span several lines."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CSVImportError([CSVError(start, None, f"malformed CSV: {exc}")]) from None
        yield start, row
        start = reader.line_num + 1


class _Header(NamedTuple):
    """How the columns of a file map onto the questionnaire."""

    targets: list[str | None]  # per column: item id, SUBMITTED_ON, or None (ignored)
    names: list[str]  # per column: header text as written
    header_en: bool  # the item columns were named with English labels


def _header_lookup(questionnaire: Questionnaire) -> dict[str, tuple[str, str | None]]:
    """Normalised header text → (item id, language of the label or None for an id)."""
    lookup: dict[str, tuple[str, str | None]] = {SUBMITTED_ON: (SUBMITTED_ON, None)}
    for item in questionnaire.items:
        lookup[normalise(item.id)] = (item.id, None)
    # Ids win over labels; a label shared by two items names neither (it would be a guess).
    seen: dict[str, str] = {}
    ambiguous: set[str] = set()
    for item in questionnaire.items:
        for lang in ("ja", "en"):
            key = normalise(item.label.get(lang))
            if key in seen and seen[key] != item.id:
                ambiguous.add(key)
            seen[key] = item.id
    for item in questionnaire.items:
        for lang in ("ja", "en"):
            key = normalise(item.label.get(lang))
            if key not in ambiguous:
                lookup.setdefault(key, (item.id, lang))
    return lookup


def _read_header(cells: list[str], questionnaire: Questionnaire,
                 errors: list[CSVError], result: ImportResult) -> _Header:
    lookup = _header_lookup(questionnaire)
    targets: list[str | None] = []
    names = [c.strip() for c in cells]
    first_seen: dict[str, int] = {}
    langs: list[str | None] = []
    for n, name in enumerate(names, 1):
        key = normalise(name)
        if not key:
            targets.append(None)  # Excel leaves blank columns at the edge of a sheet
            continue
        if key in first_seen:
            errors.append(CSVError(1, _column(n, name),
                                   f"duplicate column: same header as column {first_seen[key]}"))
            targets.append(None)
            continue
        first_seen[key] = n
        target, lang = lookup.get(key, (None, None))
        if target is not None and target in result.columns:
            other = targets.index(target) + 1
            errors.append(CSVError(1, _column(n, name), f"duplicate column: column {other} "
                                   f"({names[other - 1]}) is already item '{target}'"))
            targets.append(None)
            continue
        targets.append(target)
        if target is None:
            result.ignored_columns.append(name)
            if _PERSONAL.search(key):
                result.personal_columns.append(name)
        else:
            result.columns[target] = name
            langs.append(lang)
    if not any(t not in (None, SUBMITTED_ON) for t in targets) and not errors:
        errors.append(CSVError(1, None, "the header names no item of questionnaire "
                               f"'{questionnaire.id}'; use item ids (see `teichaku csv-template`) "
                               "or the question texts"))
    elif not errors:
        for item in questionnaire.items:
            if item.required and item.id not in result.columns:
                errors.append(CSVError(1, None, f"required item '{item.id}' has no column"))
    header_en = "en" in langs and "ja" not in langs
    return _Header(targets, names, header_en)


def _option_lookup(item: Item) -> dict[str, tuple[str, str | None]]:
    """Normalised value → (option code, language of the label or None for a code)."""
    lookup: dict[str, tuple[str, str | None]] = {}
    for opt in item.options:
        lookup[normalise(opt.code)] = (opt.code, None)
    for lang in ("ja", "en"):
        for opt in item.options:
            lookup.setdefault(normalise(opt.label.get(lang)), (opt.code, lang))
    return lookup


def _accepted(item: Item) -> str:
    codes = ", ".join(item.option_codes())
    return f"use one of {codes} or an option's text in Japanese or English"


def _parse_date(value: str) -> dt.date:
    m = _DATE.match(normalise(value))
    if not m:
        raise ValueError("not a date: use YYYY-MM-DD (a Forms timestamp like "
                         "'2026/11/02 9:14:03' is also accepted)")
    try:
        day = dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError as exc:
        raise ValueError(f"not a valid date ({exc})") from None
    if day > today() + dt.timedelta(days=1):  # one day of slack for time zones
        raise ValueError("the date is in the future")
    return day


def _answer_window(campaign: Campaign) -> tuple[dt.date, dt.date | None]:
    """First and last day answers could have been given (last None: still open, no end date)."""
    ends = [d for d in (campaign.closes_on, campaign.closed_at.date() if campaign.closed_at else None)
            if d is not None]
    return campaign.opens_on, min(ends) if ends else None


def _check_in_window(day: dt.date, campaign: Campaign) -> None:
    first, last = _answer_window(campaign)
    # An answer dated outside its wave would shift wave comparisons and response-rate timing.
    if day < first:
        raise ValueError(f"the date is before the campaign opened ({first.isoformat()})")
    if last is not None and day > last:
        raise ValueError(f"the date is after the campaign closed ({last.isoformat()})")


class _RowReader:
    """Validates one data row into answers for :func:`add_response`."""

    def __init__(self, questionnaire: Questionnaire, header: _Header, campaign: Campaign) -> None:
        self.campaign = campaign
        self.header = header
        self.items = {i.id: i for i in questionnaire.items}
        self.options = {i.id: _option_lookup(i) for i in questionnaire.items if i.options}

    def _choices(self, item: Item, raw: str, key: str, line: int, col: str,
                 found: list[CSVError], langs: set[str]) -> list[str]:
        """The codes of a checklist cell in questionnaire order, or [] after adding errors."""
        matches, unknown = _split_choices(key, self.options[item.id])
        if unknown:
            found.append(CSVError(line, col, f"{_short(unknown[0])!r} is not an option of "
                                  f"'{item.id}'; {_accepted(item)}, several separated by ';'"))
            return []
        chosen = {code for code, _ in matches}
        problem = item.choices_problem(sorted(chosen))
        if problem is not None:
            kind, code = problem
            reason = (f"{len(chosen)} choices; '{item.id}' allows at most {item.max_choices}"
                      if kind == "too_many" else
                      f"'{code}' cannot be combined with other choices")
            found.append(CSVError(line, col, f"{reason}: {_short(raw.strip())!r}"))
            return []
        langs.update(lang for _, lang in matches if lang)
        return [c for c in item.option_codes() if c in chosen]

    def read(self, line: int, cells: list[str],
             errors: list[CSVError]) -> dict[str, Any] | None:
        """Answers, language and date of a row, or None after adding its errors to ``errors``."""
        found: list[CSVError] = []
        answers: dict[str, Any] = {}
        langs: set[str] = set()
        submitted_on: dt.date | None = None
        targets, names = self.header.targets, self.header.names
        if len(cells) > len(targets) and any(c.strip() for c in cells[len(targets):]):
            found.append(CSVError(line, _column(len(targets) + 1, ""),
                                  f"the row has {len(cells)} values but the header only "
                                  f"{len(targets)} columns"))
        for n, target in enumerate(targets, 1):
            if target is None:
                continue  # ignored columns are never read, checked or echoed
            raw = cells[n - 1] if n <= len(cells) else ""
            col = _column(n, names[n - 1])
            if has_control_chars(raw):
                found.append(CSVError(line, col, "contains control characters"))
                continue
            if target == SUBMITTED_ON:
                if raw.strip():
                    try:
                        submitted_on = _parse_date(raw)
                        _check_in_window(submitted_on, self.campaign)
                    except ValueError as exc:
                        found.append(CSVError(line, col, f"{exc}: {_short(raw.strip())!r}"))
                continue
            item = self.items[target]
            if item.type == "text":
                text = clean_text(raw)
                if len(text) > (item.max_length or 0):
                    found.append(CSVError(line, col, f"text is {len(text)} characters; "
                                          f"'{item.id}' allows at most {item.max_length}"))
                elif text:
                    answers[item.id] = text
                continue
            key = normalise(raw)
            if not key:
                continue
            if item.type == "multi_choice":
                codes = self._choices(item, raw, key, line, col, found, langs)
                if codes:
                    answers[item.id] = codes
                continue
            match = self.options[item.id].get(key)
            if match is None:
                hint = (" ('don't know' is not offered for this item)"
                        if key in (DONT_KNOW, normalise(DONT_KNOW_TEXT.ja),
                                   normalise(DONT_KNOW_TEXT.en))
                        else "")
                found.append(CSVError(line, col, f"{_short(raw.strip())!r} is not an option of "
                                      f"'{item.id}'{hint}; {_accepted(item)}"))
                continue
            code, lang = match
            answers[item.id] = code
            if lang:
                langs.add(lang)
        for item in self.items.values():
            if item.required and item.id in self.header.targets and item.id not in answers:
                n = self.header.targets.index(item.id) + 1
                if not any(e.column == _column(n, names[n - 1]) for e in found):
                    found.append(CSVError(line, _column(n, names[n - 1]),
                                          f"'{item.id}' is required but empty"))
        if found:
            errors.extend(found)
            return None
        # The language a row was answered in is only known from its labels; ja when unknown.
        en = langs == {"en"} or (not langs and self.header.header_en)
        return {"answers": answers, "lang": "en" if en else "ja", "submitted_on": submitted_on}


def _split_choices(key: str, lookup: dict[str, tuple[str, str | None]]) -> tuple[list, list[str]]:
    """Matches and unknown parts of a checklist cell: choices separated by ';' (Microsoft Forms)
    or ',' (Google Forms); a part is split on ',' only when it is not an option as it stands."""
    matches, unknown = [], []
    for part in (p.strip() for p in key.split(";")):
        if not part:
            continue
        if part in lookup:
            matches.append(lookup[part])
            continue
        pieces = [x.strip() for x in part.split(",") if x.strip()]
        if pieces and all(x in lookup for x in pieces):
            matches += [lookup[x] for x in pieces]
        else:
            unknown.append(part)
    return matches, unknown


def import_csv(campaign: Campaign, questionnaire: Questionnaire, data: bytes, *,
               dry_run: bool = False) -> ImportResult:
    """Validate a whole CSV file, then add every row as a Response and commit once.

    Raises :class:`CSVImportError` listing every problem, having added nothing, when any row
    or the header is invalid. ``dry_run`` validates and counts without adding anything.
    """
    if campaign.questionnaire_id != questionnaire.id:
        raise ValueError(f"campaign {campaign.slug} uses questionnaire "
                         f"'{campaign.questionnaire_id}', not '{questionnaire.id}'")
    result = ImportResult()
    text = _decode(data)
    if not text.strip():
        raise CSVImportError([CSVError(1, None, "the file is empty")])
    errors: list[CSVError] = []
    records = _records(text)
    _, header_cells = next(records)
    header = _read_header(header_cells, questionnaire, errors, result)
    if errors:
        raise CSVImportError(errors)
    reader = _RowReader(questionnaire, header, campaign)
    rows: list[dict[str, Any]] = []
    n_rows = 0
    try:
        for line, cells in records:
            if not any(c.strip() for c in cells):
                result.skipped_blank_rows += 1
                continue
            n_rows += 1
            if n_rows > MAX_ROWS:
                errors.append(CSVError(line, None, f"more than {MAX_ROWS:,} rows; split the file"))
                break
            row = reader.read(line, cells, errors)
            if row is not None:
                rows.append(row)
    except CSVImportError as exc:  # malformed CSV: nothing after it can be read reliably
        errors.extend(exc.errors)
    if errors:
        raise CSVImportError(errors)
    if n_rows == 0:
        raise CSVImportError([CSVError(1, None, "the file has a header but no rows")])
    if dry_run:
        result.imported = len(rows)
        result.comments = sum(
            1 for r in rows for k in r["answers"] if reader.items[k].type == "text")
        return result
    try:
        responses = [add_response(campaign, questionnaire, r["answers"], lang=r["lang"],
                                  source="import", submitted_on=r["submitted_on"])
                     for r in rows]
        db.session.flush()
        # Read ids before the commit expires the objects (one query per row otherwise).
        result.response_ids = [r.id for r in responses]
        result.comments = sum(len(r.comments) for r in responses)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    result.imported = len(responses)
    return result
