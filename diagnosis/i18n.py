"""The language of a request and its messages: Flask-Babel over the gettext catalogs of
:mod:`diagnosis.messages` (Japanese first, English beside it).

Templates call ``_('nav.logout')`` or ``_('Skip to content')``, Python code :func:`translate`
(or :class:`LazyText` for texts defined at import time), with ``str.format`` placeholders:
``_('Import {n} responses', n=ready)``. The language is the request's (``?lang=``, then the
session, then ``DEFAULT_LANGUAGE``); the PDF and the CLI pass theirs explicitly.
"""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import Babel, Domain, get_locale
from markupsafe import Markup, escape

from .messages import LANGS, catalog
from .messages import translate as _translate


def current_lang() -> str:
    """The language of the current request ('ja' unless English was chosen)."""
    lang = getattr(g, "lang", None)
    if lang in LANGS:
        return lang
    arg = request.args.get("lang") if request else None
    if arg in LANGS:
        return arg
    stored = session.get("lang") if request else None
    if stored in LANGS:
        return stored
    return current_app.config.get("DEFAULT_LANGUAGE", "ja")


def translate(msgid: str, lang: str | None = None, context: str | None = None, **values: object) -> str:
    """The message ``msgid`` in ``lang`` (default: the request's), formatted with ``values``."""
    return _translate(msgid, lang or current_lang(), context, **values)


class _CatalogDomain(Domain):
    """Flask-Babel's message domain, reading the catalogs :mod:`diagnosis.messages` builds, so
    that ``flask_babel.gettext`` and the Jinja i18n extension see the same messages."""

    def get_translations(self):  # noqa: ANN201 - Flask-Babel's signature
        locale = get_locale()
        return catalog("en" if locale is not None and locale.language == "en" else "ja")


def init_app(app: Flask) -> None:
    """Flask-Babel with the request's language; ``_`` and ``lang`` in templates; remember an
    explicit language choice."""
    babel = Babel(app, default_locale="ja", locale_selector=current_lang)
    babel.domain_instance = _CatalogDomain()  # instead of .mo files under translations/

    @app.before_request
    def _pick_language() -> None:
        arg = request.args.get("lang")
        if arg in LANGS:
            g.lang = arg
            if not request.path.startswith("/s/"):
                session["lang"] = arg

    @app.context_processor
    def _inject() -> dict:
        return {"_": template_translate, "lang": current_lang()}


def template_translate(msgid: str, lang: str | None = None, context: str | None = None,
                       **values: object) -> str | Markup:
    """Templates' ``_``: the message in ``lang`` (default: the request's); its placeholders may take markup
    (``{% set n %}<b>{{ x }}</b>{% endset %}{{ _('{n} to go', n=n) }}``, a macro's badge), and
    everything else put into it is escaped."""
    text = _translate(msgid, lang or current_lang(), context)
    return escape(text).format(**values) if values else text


class LazyText:
    """A message resolved when rendered, in the language of that moment (for texts defined at
    import time: form labels, validator messages); Japanese outside a request."""

    def __init__(self, msgid: str, context: str | None = None, **values: object) -> None:
        self.msgid, self.context, self.values = msgid, context, values

    def __str__(self) -> str:
        lang = current_lang() if has_request_context() else "ja"
        return _translate(self.msgid, lang, self.context, **self.values)

    def __mod__(self, other: object) -> str:
        return str(self) % other


class Message(str):
    """A message of the table that is also a ``str``: its English text, which the CLI prints and
    logs record; :meth:`in_lang` gives it in either language. Fields that are messages themselves
    (a column name inside an error) follow the language asked for."""

    key: str
    fields: dict[str, object]

    def __new__(cls, key: str, **fields: object) -> Message:
        self = super().__new__(cls, _render(key, "en", fields))
        self.key, self.fields = key, fields
        return self

    def in_lang(self, lang: str) -> str:
        """The message in ``lang`` ('ja' or 'en')."""
        return _render(self.key, lang, self.fields)


def _render(key: str, lang: str, fields: dict[str, object]) -> str:
    values = {k: v.in_lang(lang) if isinstance(v, Message) else v for k, v in fields.items()}
    return _translate(key, lang, **values)
