"""One translation mechanism: the gettext catalogs (diagnosis/translations/<lang>/LC_MESSAGES/
messages.po), read by diagnosis.messages and Flask-Babel. Every message exists in both languages
with the same placeholders, and every message the code and the templates ask for by a literal id
is in the catalogs."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from diagnosis.messages import LANGS, MissingMessage, po_path, translate

ROOT = Path(__file__).resolve().parents[1]


def _catalog(lang: str) -> dict[tuple[str | None, str], str]:
    with po_path(lang).open("rb") as f:
        return {(m.context, m.id): m.string for m in read_po(f, locale=lang) if m.id}


CATALOGS = {lang: _catalog(lang) for lang in LANGS}


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}


def test_both_languages_have_every_message_with_the_same_placeholders():
    ja, en = CATALOGS["ja"], CATALOGS["en"]
    assert set(ja) == set(en), f"only in ja: {set(ja) - set(en)}; only in en: {set(en) - set(ja)}"
    for key in ja:
        assert ja[key].strip() and en[key].strip(), f"{key} is empty in one language"
        assert _fields(ja[key]) == _fields(en[key]), f"{key}: placeholders differ"
        if not key[1].count(".") or " " in key[1]:  # an English text as the id: its own placeholders
            assert _fields(key[1]) == _fields(en[key]), f"{key}: the id's placeholders differ"


def _asked_for() -> set[tuple[str | None, str, str]]:
    """(context, id, where) of every message asked for by a literal id."""
    out = set()
    for path in (ROOT / "diagnosis").rglob("*.py"):
        if "__pycache__" in path.parts or path.parts[-2:] == ("reports", "render.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("translate", "LazyText", "tr", "t", "_")
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                ctx = next((k.value.value for k in node.keywords
                            if k.arg == "context" and isinstance(k.value, ast.Constant)), None)
                out.add((ctx, node.args[0].value, str(path.relative_to(ROOT))))
    call = re.compile(r"""\b_\(\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")(?:(?:[^()]|\([^()]*\))*?context\s*=\s*['"](\w+)['"])?""")
    report = re.compile(r"""\btr\(\s*'([\w.]+)'\s*[,)]""")
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for m in call.finditer(text):
            msgid = (m.group(1) if m.group(1) is not None else m.group(2)).replace("\\'", "'")
            out.add((m.group(3), msgid, str(path.relative_to(ROOT))))
        for m in report.finditer(text):
            out.add((None, f"report.{m.group(1)}", str(path.relative_to(ROOT))))
    return out


def test_every_message_asked_for_is_in_the_catalogs():
    known = set(CATALOGS["ja"])
    missing = sorted((ctx, msgid, where) for ctx, msgid, where in _asked_for()
                     if (ctx, msgid) not in known and (None, f"report.{msgid}") not in known)
    assert not missing, missing


def test_no_second_mechanism_is_left():
    """ja/en pairs written side by side (t('…', '…'), pick, LazyPick) are gone for good."""
    pair = re.compile(r"\bt\(\s*'[^']*',\s*['\"]")
    for path in (ROOT / "templates").rglob("*.html"):
        assert not pair.search(path.read_text(encoding="utf-8")), path
    for path in (ROOT / "diagnosis").rglob("*.py"):
        if "__pycache__" not in path.parts:
            assert not re.search(r"\b(pick|LazyPick)\(", path.read_text(encoding="utf-8")), path


def test_a_missing_message_is_an_error_not_its_id():
    with pytest.raises(MissingMessage, match="no message 'no.such.message'"):
        translate("no.such.message", "ja")
    assert translate("nav.logout", "ja") == "ログアウト" and translate("nav.logout", "en") == "Log out"
    assert translate("Comments", "ja") == "コメント" and translate("Comments", "ja", context="count") == "コメント数"
    assert translate("{n} to go", "en", n=3) == "3 to go" and translate("{n} to go", "ja", n=3) == "残り3件"


def test_flask_babel_serves_the_same_catalogs(app):
    from flask_babel import gettext

    with app.test_request_context("/login?lang=en"):
        app.preprocess_request()
        assert gettext("nav.logout") == "Log out"
    with app.test_request_context("/login?lang=ja"):
        app.preprocess_request()
        assert gettext("nav.logout") == "ログアウト"


def test_markup_in_a_placeholder_stays_and_text_is_escaped(app):
    from diagnosis.i18n import template_translate

    with app.test_request_context("/?lang=en"):
        app.preprocess_request()
        out = template_translate("{n} to go", n="<script>")
        assert "&lt;script&gt;" in out
        from markupsafe import Markup

        assert template_translate("{n} to go", n=Markup("<b>2</b>")) == "<b>2</b> to go"
