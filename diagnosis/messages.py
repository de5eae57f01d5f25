"""The product's messages: one gettext catalog per language (``diagnosis/translations/<lang>/
LC_MESSAGES/messages.po``), read with Babel. Plain Python (no Flask): the PDF, the charts and the
CLI ask for a language explicitly; web requests go through :mod:`diagnosis.i18n`, which also
hands the same catalogs to Flask-Babel.

A message id is either a key (``nav.logout``, ``report.sum_start``, ``chart.cause.title``) or,
for the short texts written in templates, the English text itself (``_('Skip to content')``);
both catalogs hold every id, and ``tests/test_messages.py`` fails when one lacks a language or
their placeholders differ. Texts are whole sentences with ``str.format`` placeholders
(``{n}``, ``{max:,}``, ``{value!r}``), formatted after translation.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGS = ("ja", "en")
DOMAIN = "messages"
CATALOG_DIR = Path(__file__).resolve().parent / "translations"


def po_path(lang: str) -> Path:
    """The catalog file of a language."""
    return CATALOG_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalog(lang: str) -> Translations:
    """The compiled catalog of ``lang`` ('ja' or 'en'), built in memory from its .po file once per
    process (no compiled .mo file to keep in step)."""
    with po_path(lang).open("rb") as f:
        po = read_po(f, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, po)
    buf.seek(0)
    return Translations(fp=buf, domain=DOMAIN)


class MissingMessage(KeyError):
    """A message id that is not in the catalog (a test catches it before a user can)."""


def translate(msgid: str, lang: str, context: str | None = None, **values: object) -> str:
    """The message ``msgid`` (in ``context``, if given) in ``lang``, formatted with ``values``."""
    tr = catalog("en" if lang == "en" else "ja")
    key = f"{context}\x04{msgid}" if context else msgid
    if key not in tr._catalog:  # noqa: SLF001 - gettext's own table; a miss must not pass silently
        raise MissingMessage(f"no message {msgid!r}" + (f" in context {context!r}" if context else ""))
    text = tr._catalog[key]  # noqa: SLF001
    return text.format(**values) if values else text
