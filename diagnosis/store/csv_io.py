"""CSV template and import of survey responses (paper surveys, Microsoft Forms, Google Forms).

The file may be CSV in any encoding Excel writes or an Excel workbook (:mod:`diagnosis.store.tabular`
reads both into rows of text). An import is all-or-nothing: every row is validated first, and rows
are only added (through :func:`diagnosis.store.responses.add_response`, the one way answers become rows)
when no error was found. :func:`read_responses` does the validation alone, for a preview.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..extensions import db
from ..i18n import Message
from ..questionnaire import DONT_KNOW, DONT_KNOW_TEXT, Item, Questionnaire
from .models import Campaign, today
from .responses import add_response, clean_text, has_control_chars
from .tabular import Table, TableError, TableFormat, read_table

MAX_ROWS = 20_000
MAX_PRINTED_ERRORS = 50
SUBMITTED_ON = "submitted_on"
# Microsoft Forms' own column for when an answer was sent (ja and en exports) stands for it.
_SUBMITTED_ON_ALIASES = ("完了時刻", "completion time")

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
    """One problem found in the file; ``column`` is None for whole-file or whole-row problems.

    Column and message are :class:`~diagnosis.i18n.Message` strings: English as plain text (the
    CLI), either language through :meth:`where` and :meth:`text`.
    """

    line: int
    column: str | None
    message: str

    def where(self, lang: str = "en") -> str:
        """'line 4, column 2 (pu_useful)' / '4行目・2列目（pu_useful）'."""
        if self.column:
            return Message("import.where.cell", line=self.line, column=self.column).in_lang(lang)
        return Message("import.where.line", line=self.line).in_lang(lang)

    def text(self, lang: str = "en") -> str:
        """The message alone in ``lang``."""
        return self.message.in_lang(lang) if isinstance(self.message, Message) else self.message

    def __str__(self) -> str:
        return f"{self.where()}: {self.message}"


class CSVImportError(ValueError):
    """The file was rejected; ``errors`` lists every ``(line, column, message)`` found and
    ``format`` says how the file was read (None when it could not be read at all)."""

    def __init__(self, errors: list[CSVError], file_format: TableFormat | None = None) -> None:
        self.errors, self.format = errors, file_format
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
    format: TableFormat | None = None  # how the file was read


# Characters that Japanese Windows (CP932) and Unicode text write differently: CP932 has no
# WAVE DASH (〜, in labels like 「1〜3年」) and gives FULLWIDTH TILDE instead, which NFKC makes '~'.
_SAME_ON_WINDOWS = str.maketrans({"\u301c": "~", "\u2212": "-"})


def normalise(text: str) -> str:
    """Comparison key for headers and values: NFKC, case-folded, whitespace collapsed, wave
    dash and minus sign read as Windows writes them."""
    return " ".join(unicodedata.normalize("NFKC", text).translate(_SAME_ON_WINDOWS).casefold().split())


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


def header_key(text: str) -> str:
    """Comparison key of a header: :func:`normalise` without a trailing question mark or full
    stop, so a Forms column named after the question matches however it was punctuated."""
    return normalise(text).rstrip("?？。.:： ")


class _Header(NamedTuple):
    """How the columns of a file map onto the questionnaire."""

    targets: list[str | None]  # per column: item id, SUBMITTED_ON, or None (ignored)
    names: list[str]  # per column: header text as written
    header_en: bool  # the item columns were named with English labels


def _header_lookup(questionnaire: Questionnaire) -> dict[str, tuple[str, str | None]]:
    """Header key → (item id, language of the label or None for an id)."""
    lookup: dict[str, tuple[str, str | None]] = {SUBMITTED_ON: (SUBMITTED_ON, None)}
    for alias in _SUBMITTED_ON_ALIASES:
        lookup[header_key(alias)] = (SUBMITTED_ON, None)
    for item in questionnaire.items:
        lookup[header_key(item.id)] = (item.id, None)
    # Ids win over labels; a label shared by two items names neither (it would be a guess).
    seen: dict[str, str] = {}
    ambiguous: set[str] = set()
    for item in questionnaire.items:
        for lang in ("ja", "en"):
            key = header_key(item.label.get(lang))
            if key in seen and seen[key] != item.id:
                ambiguous.add(key)
            seen[key] = item.id
    for item in questionnaire.items:
        for lang in ("ja", "en"):
            key = header_key(item.label.get(lang))
            if key not in ambiguous:
                lookup.setdefault(key, (item.id, lang))
    return lookup


def _read_header(cells: list[str], questionnaire: Questionnaire, column: Callable[..., Message],
                 errors: list[CSVError], result: ImportResult) -> _Header:
    lookup = _header_lookup(questionnaire)
    targets: list[str | None] = []
    names = [c.strip() for c in cells]
    first_seen: dict[str, int] = {}
    langs: list[str | None] = []
    for n, name in enumerate(names, 1):
        key = header_key(name)
        if not key:
            targets.append(None)  # Excel leaves blank columns at the edge of a sheet
            continue
        if key in first_seen:
            errors.append(CSVError(1, column(n, name), Message(
                "import.duplicate_header", first=column(first_seen[key]))))
            targets.append(None)
            continue
        first_seen[key] = n
        target, lang = lookup.get(key, (None, None))
        if target is not None and target in result.columns:
            other = targets.index(target) + 1
            errors.append(CSVError(1, column(n, name), Message(
                "import.duplicate_item", other=column(other, names[other - 1]), item=target)))
            targets.append(None)
            continue
        targets.append(target)
        if target is None:
            result.ignored_columns.append(name)
            if _PERSONAL.search(normalise(name)):
                result.personal_columns.append(name)
        else:
            result.columns[target] = name
            langs.append(lang)
    if not any(t not in (None, SUBMITTED_ON) for t in targets) and not errors:
        errors.append(CSVError(1, None, Message("import.no_items", questionnaire=questionnaire.id)))
    elif not errors:
        for item in questionnaire.items:
            if item.required and item.id not in result.columns:
                errors.append(CSVError(1, None, Message("import.missing_column", item=item.id)))
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


def _accepted(item: Item) -> Message:
    key = "import.accepted_multi" if item.type == "multi_choice" else "import.accepted"
    return Message(key, codes=", ".join(item.option_codes()))


def _parse_date(value: str) -> dt.date:
    m = _DATE.match(normalise(value))
    if not m:
        raise ValueError(Message("import.not_a_date"))
    try:
        day = dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError as exc:
        raise ValueError(Message("import.invalid_date", detail=str(exc))) from None
    if day > today() + dt.timedelta(days=1):  # one day of slack for time zones
        raise ValueError(Message("import.future_date"))
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
        raise ValueError(Message("import.before_open", day=first.isoformat()))
    if last is not None and day > last:
        raise ValueError(Message("import.after_close", day=last.isoformat()))


class _RowReader:
    """Validates one data row into answers for :func:`add_response`."""

    def __init__(self, questionnaire: Questionnaire, header: _Header, campaign: Campaign,
                 column: Callable[..., Message]) -> None:
        self.campaign = campaign
        self.header = header
        self.column = column
        self.items = {i.id: i for i in questionnaire.items}
        self.options = {i.id: _option_lookup(i) for i in questionnaire.items if i.options}

    def _choices(self, item: Item, raw: str, key: str, line: int, col: str,
                 found: list[CSVError], langs: set[str]) -> list[str]:
        """The codes of a checklist cell in questionnaire order, or [] after adding errors."""
        matches, unknown = _split_choices(key, self.options[item.id])
        if unknown:
            found.append(CSVError(line, col, Message(
                "import.not_option", value=_short(unknown[0]), item=item.id, hint="",
                accepted=_accepted(item))))
            return []
        chosen = {code for code, _ in matches}
        problem = item.choices_problem(sorted(chosen))
        if problem is not None:
            kind, code = problem
            value = _short(raw.strip())
            found.append(CSVError(line, col, Message(
                "import.too_many_choices", n=len(chosen), item=item.id, max=item.max_choices,
                value=value) if kind == "too_many" else
                Message("import.exclusive_choice", code=code, value=value)))
            return []
        langs.update(lang for _, lang in matches if lang)
        return [c for c in item.option_codes() if c in chosen]

    def _date(self, raw: str, line: int, col: str, found: list[CSVError]) -> dt.date | None:
        if not raw.strip():
            return None
        try:
            day = _parse_date(raw)
            _check_in_window(day, self.campaign)
        except ValueError as exc:
            found.append(CSVError(line, col, Message("import.bad_date", problem=exc.args[0],
                                                     value=_short(raw.strip()))))
            return None
        return day

    def _choice(self, item: Item, raw: str, key: str, line: int, col: str,
                found: list[CSVError], langs: set[str]) -> str | None:
        match = self.options[item.id].get(key)
        if match is None:
            offers_no_dk = key in (DONT_KNOW, normalise(DONT_KNOW_TEXT.ja), normalise(DONT_KNOW_TEXT.en))
            found.append(CSVError(line, col, Message(
                "import.not_option", value=_short(raw.strip()), item=item.id,
                hint=Message("import.no_dont_know") if offers_no_dk else "", accepted=_accepted(item))))
            return None
        code, lang = match
        if lang:
            langs.add(lang)
        return code

    def read(self, line: int, cells: list[str],
             errors: list[CSVError]) -> dict[str, Any] | None:
        """Answers, language and date of a row, or None after adding its errors to ``errors``."""
        found: list[CSVError] = []
        answers: dict[str, Any] = {}
        langs: set[str] = set()
        submitted_on: dt.date | None = None
        targets, names = self.header.targets, self.header.names
        if len(cells) > len(targets) and any(c.strip() for c in cells[len(targets):]):
            found.append(CSVError(line, self.column(len(targets) + 1), Message(
                "import.too_many_values", n=len(cells), m=len(targets))))
        for n, target in enumerate(targets, 1):
            if target is None:
                continue  # ignored columns are never read, checked or echoed
            raw = cells[n - 1] if n <= len(cells) else ""
            col = self.column(n, names[n - 1])
            if has_control_chars(raw):
                found.append(CSVError(line, col, Message("import.control_chars")))
                continue
            if target == SUBMITTED_ON:
                submitted_on = self._date(raw, line, col, found)
                continue
            item = self.items[target]
            if item.type == "text":
                text = clean_text(raw)
                if len(text) > (item.max_length or 0):
                    found.append(CSVError(line, col, Message(
                        "import.text_too_long", n=len(text), item=item.id, max=item.max_length)))
                elif text:
                    answers[item.id] = text
                continue
            key = normalise(raw)
            if not key:
                continue
            if item.type == "multi_choice":
                value: Any = self._choices(item, raw, key, line, col, found, langs)
            else:
                value = self._choice(item, raw, key, line, col, found, langs)
            if value:
                answers[item.id] = value
        for item in self.items.values():
            if item.required and item.id in targets and item.id not in answers:
                n = targets.index(item.id) + 1
                col = self.column(n, names[n - 1])
                if not any(e.column == col for e in found):
                    found.append(CSVError(line, col, Message("import.required_empty", item=item.id)))
        if found:
            errors.extend(found)
            return None
        # The language a row was answered in is only known from its labels; ja when unknown.
        en = langs == {"en"} or (not langs and self.header.header_en)
        return {"line": line, "answers": answers, "lang": "en" if en else "ja",
                "submitted_on": submitted_on}


def _split_choices(key: str, lookup: dict[str, tuple[str, str | None]]) -> tuple[list, list[str]]:
    """Matches and unknown parts of a checklist cell: choices separated by ';' (Microsoft Forms,
    which also ends the cell with one) or ',' (Google Forms); a part is split on ',' only when it
    is not an option as it stands."""
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


@dataclass
class ReadFile:
    """A file validated against a campaign: how it was read, its rows and every problem found.

    ``rows`` holds each valid row (``line``, ``answers``, ``lang``, ``submitted_on``); nothing
    may be imported while ``errors`` is not empty. ``data_rows`` counts non-blank rows, valid or not.
    """

    format: TableFormat | None
    result: ImportResult
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[CSVError] = field(default_factory=list)
    data_rows: int = 0


def read_responses(campaign: Campaign, questionnaire: Questionnaire, data: bytes,
                   filename: str | None = None) -> ReadFile:
    """Read and validate a whole file (CSV in any supported encoding, or .xlsx) without storing
    anything; every problem is collected in ``errors`` rather than raised."""
    if campaign.questionnaire_id != questionnaire.id:
        raise ValueError(f"campaign {campaign.slug} uses questionnaire "
                         f"'{campaign.questionnaire_id}', not '{questionnaire.id}'")
    try:
        table = read_table(data, filename)
    except TableError as exc:
        return ReadFile(None, ImportResult(), errors=[CSVError(exc.line, None, exc.message)])
    read = ReadFile(table.format, ImportResult(format=table.format))
    try:
        _read_rows(table, campaign, questionnaire, read)
    except TableError as exc:  # malformed CSV or a damaged sheet: nothing after it is reliable
        read.errors.append(CSVError(exc.line, None, exc.message))
    finally:
        table.close()
    return read


def _read_rows(table: Table, campaign: Campaign, questionnaire: Questionnaire, read: ReadFile) -> None:
    first = next(table.records, None)
    if first is None:
        read.errors.append(CSVError(1, None, Message("import.empty")))
        return
    header = _read_header(first[1], questionnaire, table.column, read.errors, read.result)
    if read.errors:
        return
    reader = _RowReader(questionnaire, header, campaign, table.column)
    for line, cells in table.records:
        if not any(c.strip() for c in cells):
            read.result.skipped_blank_rows += 1
            continue
        read.data_rows += 1
        if read.data_rows > MAX_ROWS:
            read.errors.append(CSVError(line, None, Message("import.too_many_rows", max=MAX_ROWS)))
            return
        row = reader.read(line, cells, read.errors)
        if row is not None:
            read.rows.append(row)
    if read.data_rows == 0:
        read.errors.append(CSVError(1, None, Message("import.no_rows")))


def import_csv(campaign: Campaign, questionnaire: Questionnaire, data: bytes, *,
               filename: str | None = None, dry_run: bool = False) -> ImportResult:
    """Validate a whole file (CSV or .xlsx, see :mod:`diagnosis.store.tabular`), then add every row as
    a Response and commit once.

    Raises :class:`CSVImportError` listing every problem, having added nothing, when any row
    or the header is invalid. ``dry_run`` validates and counts without adding anything.
    """
    read = read_responses(campaign, questionnaire, data, filename)
    if read.errors:
        raise CSVImportError(read.errors, read.format)
    result, rows = read.result, read.rows
    if dry_run:
        items = {i.id: i for i in questionnaire.items}
        result.imported = len(rows)
        result.comments = sum(1 for r in rows for k in r["answers"] if items[k].type == "text")
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
