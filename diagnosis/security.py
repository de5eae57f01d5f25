"""Security headers and friendly error pages (never a stack trace to an employee)."""

from __future__ import annotations

from flask import Flask, Response, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def init_app(app: Flask) -> None:
    """Add headers to every response and register error pages."""

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
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
        app.logger.exception("unhandled error")
        return _page(500, "error.500")

    if not app.debug and app.config.get("ENV_NAME") != "development":
        app.config.setdefault("SESSION_COOKIE_SECURE", True)
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
