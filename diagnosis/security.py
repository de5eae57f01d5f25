"""Security headers and friendly error pages (never a stack trace to an employee)."""

from __future__ import annotations

import string
import unicodedata
from urllib.parse import quote, unquote, urljoin, urlsplit

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from .dbfaults import RETRY_AFTER_SECONDS, is_transient
from .extensions import db
from .i18n import translate

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"

MAX_NEXT = 2048
# Printable ASCII other than the backslash (refused before quoting) stays as written; only
# non-ASCII is percent-encoded, so a Location header never holds a character a browser could
# fold into "/" or "\\".
_KEEP = "".join(ch for ch in string.punctuation if ch != "\\")
_PROBE_BASE = "https://teichaku.invalid/app/"


def _is_local_path(candidate: str, allow_spaces: bool = False) -> bool:
    """True when ``candidate`` can only be read as a path on this site."""
    for ch in candidate:
        kind = unicodedata.category(ch)
        # Cc/Cf: tab, CR, LF and bidi or zero-width marks, which browsers drop or parsers split on;
        # Z*: whitespace, which browsers strip, turning "/ /evil" into "//evil".
        if ch == "\\" or kind[0] == "C" or (kind[0] == "Z" and not allow_spaces):
            return False
    if not candidate.startswith("/") or candidate.startswith("//"):
        return False  # "//host", "///host" and "https:host" all leave the site in a browser
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc:
        return False
    resolved = urlsplit(urljoin(_PROBE_BASE, candidate))
    return resolved.scheme == "https" and resolved.netloc == "teichaku.invalid"


def safe_next(target: str | None) -> str | None:
    """``target`` as a same-site path safe for a Location header, or None when it is not one.

    The raw text, its NFKC form (full-width "／" and "＼" fold to "/" and "\\") and its
    percent-decoded form must each be a path on this site; non-ASCII is then percent-encoded.
    """
    if not isinstance(target, str) or not target or len(target) > MAX_NEXT:
        return None
    if not _is_local_path(target) or not _is_local_path(unicodedata.normalize("NFKC", target)):
        return None
    # Decoded, an encoded space in a query string is legitimate; an encoded "//" or control is not.
    if not _is_local_path(unquote(target), allow_spaces=True):
        return None
    return quote(target, safe=_KEEP)


def _quiet_rollback() -> None:
    """End the failed transaction; with the connection gone, dropping it is all there is to do."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001
        db.session.close()


# The 503 page when even the signed-in user cannot be loaded: no layout, both languages.
_BARE_503 = """<!doctype html><html lang="ja"><meta charset="utf-8"><title>503</title>
<h1>{ja}</h1><p>{ja_body}</p><h1 lang="en">{en}</h1><p lang="en">{en_body}</p>"""


def init_app(app: Flask) -> None:
    """Add headers to every response and register error pages."""

    production = not app.debug and app.config.get("ENV_NAME") != "development"

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if production:
            # Development serves plain http on loopback; a pinned HSTS there would break it.
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if request.endpoint != "static":
            # Every dynamic page is personal (dashboard, comments, CSV, PDF), carries a CSRF
            # token, or shows an employee's own answers: no browser or proxy may keep a copy.
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def _page(code: int, key: str, with_body: bool = True):
        return render_template("error.html", code=code, key=key, with_body=with_body), code

    @app.errorhandler(CSRFError)
    def _csrf(e: CSRFError):
        return _page(400, "error.400")

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        code = e.code or 500
        known = {403: False, 404: True, 413: True, 429: True, 400: True}
        if code in known:
            return _page(code, f"error.{code}", known[code])
        return e

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        if isinstance(e, HTTPException):
            return e
        if is_transient(e):
            return _database_unavailable(e)
        app.logger.exception("unhandled error")
        return _page(500, "error.500")

    def _database_unavailable(e: Exception):
        """A database fault that should pass: one clear page, 503 and Retry-After, no traceback."""
        from .ops import log_event

        log_event("database_unavailable", endpoint=request.endpoint, error=type(e).__name__)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        try:
            _quiet_rollback()
            return render_template("error.html", code=503, key="error.503", with_body=True), 503, headers
        except Exception:  # noqa: BLE001 - the page itself needed the database (the signed-in user)
            _quiet_rollback()
            # Not through Jinja: its context processors would look up the user again.
            body = _BARE_503.format(**{k: escape(translate(f"error.503.{part}", lang)) for k, part, lang in (
                ("ja", "title", "ja"), ("en", "title", "en"), ("ja_body", "body", "ja"),
                ("en_body", "body", "en"))})
            return body, 503, headers

    if production:
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
