"""Reading a table of answers from the files Japanese offices actually have.

CSV comes in the encoding Excel or Forms wrote it in: UTF-8 with or without BOM, Shift_JIS
(CP932: Japanese Excel's plain "CSV (コンマ区切り)") or UTF-16 with BOM (Excel's "Unicode テキスト",
tab-separated). The encoding is found from the BOM, else by a strict UTF-8 attempt, else CP932;
the delimiter (comma or tab) from the header line. Excel workbooks (.xlsx, e.g. a Microsoft Forms
export) are read with openpyxl: the first worksheet, its first row as the header.

Either way the result is a :class:`Table`: its format and its records as ``(line, cells)`` with
every cell a string, so one validator serves all formats. Problems raise :class:`TableError`
with the line (the spreadsheet row for a workbook) and a bilingual :class:`~diagnosis.i18n.Message`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..i18n import Message

UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
_ZIP_MAGIC = b"PK\x03\x04"
# OLE2 compound file: Excel 97–2003 .xls, and also any password-protected (encrypted) .xlsx.
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_XLSX_SUFFIXES = (".xlsx", ".xlsm")
# Unpacked size allowed for a workbook: well above a 20,000-row Forms export with long comments,
# far below what a small zip bomb would unpack to.
MAX_XLSX_UNPACKED = 100 * 1024 * 1024
# Bytes that CP932 decodes without error although no Japanese text contains them: 0x80 → U+0080,
# 0xA0 → U+F8F0, 0xFD–0xFF → U+F8F1–F8F3. Finding one means the file is not CP932 after all.
_NOT_CP932 = re.compile("[\x80\uf8f0-\uf8f3]")


class TableError(ValueError):
    """The file cannot be read as a table; ``line`` is where reading stopped (1 for the file)."""

    def __init__(self, line: int, message: Message) -> None:
        super().__init__(str(message))
        self.line, self.message = line, message


@dataclass(frozen=True)
class TableFormat:
    """How a file was read: ``kind`` 'csv' or 'xlsx'; for CSV the codec and delimiter, for a
    workbook the sheet read."""

    kind: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None

    def describe(self) -> Message:
        """What the file was read as, e.g. 'CSV (comma-separated, Shift_JIS (CP932))'."""
        if self.kind == "xlsx":
            return Message("import.format.xlsx", sheet=self.sheet or "")
        key = "import.format.tsv" if self.delimiter == "\t" else "import.format.csv"
        return Message(key, encoding=Message(f"import.encoding.{self.encoding}"))


@dataclass
class Table:
    """A file's format and its records, ``(line, cells)``; the header is the first record."""

    format: TableFormat
    records: Iterator[tuple[int, list[str]]]

    def column(self, number: int, header: str = "") -> Message:
        """How error messages name column ``number`` (1-based): its number in a CSV file, its
        letter in a workbook (what Excel shows), with the header text when there is one."""
        if self.format.kind == "xlsx":
            from openpyxl.utils import get_column_letter

            letter = get_column_letter(min(number, 16_384))
            return Message("import.column.letter", n=letter, header=header) if header else \
                Message("import.column.letter_bare", n=letter)
        return Message("import.column", n=number, header=header) if header else \
            Message("import.column.bare", n=number)

    def close(self) -> None:
        """Release the file (a workbook stays open while its rows are read)."""
        close: Callable[[], None] | None = getattr(self.records, "close", None)
        if close is not None:
            close()


def read_table(data: bytes, filename: str | None = None) -> Table:
    """The table in ``data``: a workbook when its bytes are one (whatever its name), else text."""
    name = (filename or "").lower()
    if data.startswith(_ZIP_MAGIC):
        return _read_xlsx(data)
    if data.startswith(_OLE2_MAGIC):
        raise TableError(1, Message("import.old_xls"))
    if name.endswith(_XLSX_SUFFIXES):
        raise TableError(1, Message("import.not_xlsx"))
    return _read_text(data)


# --- CSV / tab-separated text -----------------------------------------------------------------


def _read_text(data: bytes) -> Table:
    text, encoding = decode(data)
    if not text.strip():
        raise TableError(1, Message("import.empty"))
    delimiter = sniff_delimiter(text)
    fmt = TableFormat("csv", encoding=encoding, delimiter=delimiter)
    return Table(fmt, _csv_records(text, delimiter))


def decode(data: bytes) -> tuple[str, str]:
    """Text of a CSV file and the codec that read it; a BOM is removed.

    A BOM decides (UTF-8, UTF-16 LE/BE); without one, UTF-8 is tried strictly and then CP932,
    Japanese Windows' Shift_JIS. When nothing fits, the error names the line and byte where the
    encoding that read furthest stopped, and every encoding tried.
    """
    if data.startswith(UTF8_BOM):
        return _decode_with_bom(data, "utf-8", len(UTF8_BOM)), "utf-8-sig"
    for bom, codec in _UTF16_BOMS.items():
        if data.startswith(bom):
            return _decode_with_bom(data, codec, len(bom)), codec
    failures: list[tuple[int, str]] = []
    for codec in ("utf-8", "cp932"):
        try:
            return _strict_decode(data, codec), codec
        except _Undecodable as exc:
            failures.append((exc.position, codec))
    position, codec = max(failures)  # the encoding that read furthest is the likelier one
    line, col = _place(data, position, codec)
    where = {"tried": Message("import.encodings_tried"), "byte": f"{data[position]:02x}", "col": col,
             "pos": position + 1}
    if all(p == position for p, _ in failures):
        raise TableError(line, Message("import.undecodable_both", **where))
    raise TableError(line, Message("import.undecodable", encoding=Message(f"import.encoding.{codec}"),
                                   **where))


class _Undecodable(Exception):
    def __init__(self, position: int) -> None:
        super().__init__(position)
        self.position = position


def _strict_decode(data: bytes, codec: str, offset: int = 0) -> str:
    """``data[offset:]`` decoded; raises :class:`_Undecodable` with the file position of the
    first byte that does not belong to ``codec``."""
    try:
        text = data[offset:].decode(codec)
    except UnicodeDecodeError as exc:
        raise _Undecodable(offset + exc.start) from None
    if codec == "cp932" and (bad := _NOT_CP932.search(text)):
        raise _Undecodable(offset + len(text[: bad.start()].encode(codec)))
    return text


def _decode_with_bom(data: bytes, codec: str, offset: int) -> str:
    try:
        return _strict_decode(data, codec, offset)
    except _Undecodable as exc:
        line, col = _place(data, exc.position, codec, offset)
        raise TableError(line, Message(
            "import.bad_bom", encoding=Message(f"import.encoding.{codec}"),
            byte=f"{data[exc.position]:02x}", col=col, pos=exc.position + 1)) from None


def _place(data: bytes, position: int, codec: str, offset: int = 0) -> tuple[int, int]:
    """Line number and 1-based byte within that line of the byte at ``position``, counting lines
    in the text the codec decoded before it."""
    before = data[offset:position].decode(codec, errors="replace")
    last = before.rsplit("\n", 1)[-1]
    return before.count("\n") + 1, len(last.encode(codec, errors="replace")) + 1


def sniff_delimiter(text: str) -> str:
    """Tab when the header line (its first record) has more tabs than commas outside quotes,
    else comma: Excel's "Unicode テキスト" is tab-separated, its CSV comma-separated."""
    tabs = commas = 0
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif ch in "\r\n":
            break
        elif ch == "\t":
            tabs += 1
        elif ch == ",":
            commas += 1
    return "\t" if tabs > commas else ","


def _csv_records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, cells) for each record; a quoted cell may span several lines."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise TableError(start, Message("import.malformed_csv", detail=str(exc))) from None
        yield start, row
        start = reader.line_num + 1


# --- Excel workbooks --------------------------------------------------------------------------


def _read_xlsx(data: bytes) -> Table:
    _check_unpacked_size(data)
    import openpyxl

    try:
        with warnings.catch_warnings():
            # Forms and other generators omit styles openpyxl expects; it says so and carries on.
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a damaged or foreign zip; all mean the same
        raise TableError(1, Message("import.not_xlsx")) from None
    if not book.worksheets:
        book.close()
        raise TableError(1, Message("import.no_sheet"))
    sheet = book.worksheets[0]
    # The stored dimension can be wrong (some writers never update it) and read-only mode
    # would stop at it; without one, every stored row is read.
    sheet.reset_dimensions()
    return Table(TableFormat("xlsx", sheet=sheet.title), _xlsx_records(book, sheet))


def _check_unpacked_size(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise TableError(1, Message("import.not_xlsx")) from None
    if unpacked > MAX_XLSX_UNPACKED:
        raise TableError(1, Message("import.xlsx_too_large", mb=MAX_XLSX_UNPACKED // 2**20))


def _xlsx_records(book, sheet) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as text) for each row; read-only mode yields empty rows for gaps, so
    counting rows gives Excel's row numbers."""
    line = 1
    try:
        for line, row in enumerate(sheet.iter_rows(values_only=True), 1):  # noqa: B007
            yield line, [cell_text(v) for v in row]
    except Exception:  # a damaged sheet: report where reading stopped, as for malformed CSV
        raise TableError(line, Message("import.broken_sheet")) from None
    finally:
        book.close()


def cell_text(value: object) -> str:
    """A workbook cell as the text a person would have typed: whole numbers without '.0' (a
    Likert 4 stored as 4.0 → '4'), dates as ISO text that the date parser reads."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # before int: bool is an int
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15g")  # Excel shows 15 significant digits
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None, microsecond=0).isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)
