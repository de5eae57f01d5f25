"""Who may get a survey form and send it: nonces bound to a browser, limits per browser and address.

A *browser* is a random token in the signed session cookie (a browser-session cookie, gone when
the browser closes). An *address* is the client's IP address (IPv6: its /64). Neither is ever
stored with a response: both reach only the rate-limit store, as an HMAC under a daily salt, and
expire with their window (see README, Privacy).

Limits per campaign and per window (SURVEY_LIMIT_WINDOW, default one hour):

- per browser, low (SURVEY_SUBMISSIONS_PER_BROWSER, default 3): a script that keeps its cookies
  stores a handful of responses, then waits;
- per address, high (SURVEY_SUBMISSIONS_PER_ADDRESS, default max(30, headcount)): a whole office
  behind one NAT address must all get through, so this only stops a script that throws its
  cookies away after each response, and only after about one headcount.

A submission without the browser cookie its nonce was issued to is refused (the form comes back
with the answers and a fresh nonce), so a client without cookies stores nothing.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app, session
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from ..extensions import db
from ..ratelimit import Verdict, client_address, limiter
from ..store.models import Campaign, UsedNonce

BROWSER_KEY = "survey_browser"


def browser_token() -> str:
    """This browser's random survey token, created on first use (kept in the session cookie)."""
    token = session.get(BROWSER_KEY)
    if not isinstance(token, str) or len(token) < 16:
        token = secrets.token_urlsafe(16)
        session[BROWSER_KEY] = token
    return token


def _binding(browser: str) -> str:
    return hashlib.sha256(browser.encode()).hexdigest()[:16]


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="survey-nonce")


def new_nonce(campaign: Campaign) -> str:
    """A signed one-time nonce bound to the campaign and to this browser (no identity in it)."""
    return _serializer().dumps(
        {"c": campaign.id, "n": secrets.token_hex(16), "b": _binding(browser_token())})


def nonce_value(signed: str | None, campaign: Campaign) -> str | None:
    """The nonce's random part when it is genuine, for this campaign and this browser; else None."""
    try:
        data = _serializer().loads(signed or "")
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("c") != campaign.id:
        return None
    browser = session.get(BROWSER_KEY)
    if not isinstance(browser, str) or data.get("b") != _binding(browser):
        return None
    return str(data.get("n"))


def nonce_spent(nonce: str) -> bool:
    """True when a response was already stored with this nonce (a double click or a refresh)."""
    return db.session.scalar(select(UsedNonce.id).where(UsedNonce.nonce == nonce)) is not None


def _configured(name: str, default: int) -> int:
    value = current_app.config.get(name)
    return int(value) if value else default


def _window() -> int:
    return _configured("SURVEY_LIMIT_WINDOW", 3600)


def _check(campaign: Campaign, what: str, browser_limit: int, address_limit: int) -> Verdict:
    # The browser first: a refused browser does not use up its office's shared address budget.
    verdict = limiter.hit(f"survey-{what}-browser:{campaign.id}", browser_token(),
                          browser_limit, _window())
    if verdict.allowed:
        verdict = limiter.hit(f"survey-{what}-address:{campaign.id}", client_address(),
                              address_limit, _window())
    return verdict


def admit_form(campaign: Campaign) -> Verdict:
    """Count one survey form (nonce) handed out to this browser and address."""
    headcount = campaign.organisation.employee_count or 0
    return _check(campaign, "form",
                  _configured("SURVEY_FORMS_PER_BROWSER", 30),
                  _configured("SURVEY_FORMS_PER_ADDRESS", max(100, 3 * headcount)))


def admit_submission(campaign: Campaign) -> Verdict:
    """Count one submission from this browser and address."""
    headcount = campaign.organisation.employee_count or 0
    return _check(campaign, "submit",
                  _configured("SURVEY_SUBMISSIONS_PER_BROWSER", 3),
                  _configured("SURVEY_SUBMISSIONS_PER_ADDRESS", max(30, headcount)))
