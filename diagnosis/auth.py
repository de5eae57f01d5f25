"""Authentication and per-organisation authorisation."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
import unicodedata
from functools import lru_cache, wraps
from typing import Any

import pyotp
from flask import Flask, abort, current_app
from flask_login import current_user, login_required
from werkzeug.security import check_password_hash, generate_password_hash

from . import throttle
from .extensions import db, login_manager
from .store.models import Campaign, Organisation, User, utcnow
from .throttle import Backoff
from .workspace import find_user

# Indirection so tests can observe that every path pays for one hash check.
check_hash = check_password_hash


def init_app(app: Flask) -> None:
    """Wire Flask-Login to the User model."""
    login_manager.login_view = "dashboard.login"
    login_manager.login_message = None

    @login_manager.user_loader
    def _load(user_id: str) -> User | None:
        # "id:version" (User.get_id): a cookie from before the last logout, password change
        # or deactivation carries an old version and no longer logs anyone in.
        uid, _, version = (user_id or "").partition(":")
        if not uid.isdigit() or not version.isdigit():
            return None
        user = db.session.get(User, int(uid))
        if user is None or not user.active or (user.session_version or 0) != int(version):
            return None
        return user


def consultant_required(view):
    """Allow only logged-in consultants (403 for DX leads)."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_consultant:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def organisation_or_404(org_id: int) -> Organisation:
    """The organisation if the current user may see it; 404 otherwise (no existence leak)."""
    org = db.session.get(Organisation, org_id)
    if org is None or not current_user.is_authenticated or not current_user.can_see(org.id):
        abort(404)
    return org


def campaign_or_404(campaign_id: int) -> Campaign:
    """The campaign if the current user may see its organisation; 404 otherwise."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    organisation_or_404(campaign.organisation_id)
    return campaign


def backoff() -> Backoff:
    """The login back-off configured for this app."""
    cfg = current_app.config
    return Backoff(free=int(cfg["LOGIN_FREE_FAILURES"]), base=float(cfg["LOGIN_BACKOFF_SECONDS"]),
                   cap=float(cfg["LOGIN_BACKOFF_MAX_SECONDS"]))


def begin_login(email: str, password: str, address: str | None,
                next_url: str | None = None) -> tuple[User | None, dict[str, Any] | None]:
    """Check e-mail and password: ``(user, None)`` when that completes the login, else
    ``(None, pending)`` for the code step.

    Every attempt that does not complete the login looks the same from outside — unknown
    e-mail, wrong password, a throttled address, or a right password awaiting the second
    factor — and costs one password-hash check and one write, so neither the answer nor its
    time tells them apart. Only ``pending["p"]`` differs: an HMAC when the password was
    right, random bytes otherwise, indistinguishable without the secret key.
    """
    now = utcnow()
    key = throttle.pair_key(current_app.config["SECRET_KEY"], email, address)
    blocked = throttle.is_blocked(key, now)
    user = find_user(email or "")
    candidate = user if user is not None and user.active else None
    password_ok = check_hash(candidate.password_hash if candidate else _dummy_hash(), password or "")
    ok = password_ok and candidate is not None and not blocked
    if ok and not candidate.totp_secret:
        throttle.clear(key)
        db.session.commit()
        return candidate, None
    # Counted as a failure until the code step succeeds (which clears it), so a right password
    # for a second-factor account writes exactly what a wrong one does.
    throttle.record_failure(key, now, backoff(), count=not blocked)
    nonce = secrets.token_hex(16)
    expires = int(now.replace(tzinfo=dt.UTC).timestamp()) + 60 * int(current_app.config["LOGIN_CODE_MINUTES"])
    email_key = (email or "").strip().lower()
    proof = _proof(candidate, email_key, nonce, expires) if ok else secrets.token_hex(32)
    return None, {"e": email_key, "n": nonce, "x": expires, "p": proof, "next": next_url or ""}


def finish_login(pending: Any, code: str | None, address: str | None) -> User | None:
    """The user when ``pending`` proves a right password and ``code`` is their current TOTP code."""
    if not isinstance(pending, dict) or not all(k in pending for k in ("e", "n", "x", "p")):
        return None
    now = utcnow()
    if not isinstance(pending["x"], int) or pending["x"] < now.replace(tzinfo=dt.UTC).timestamp():
        return None
    user = find_user(str(pending["e"]))
    if user is None or not user.active or not user.totp_secret:
        return None
    expected = _proof(user, str(pending["e"]), str(pending["n"]), pending["x"])
    step = verify_totp(user, code)
    if not hmac.compare_digest(expected, str(pending["p"])) or step is None:
        return None
    user.totp_last_step = step
    throttle.clear(throttle.pair_key(current_app.config["SECRET_KEY"], user.email, address))
    db.session.commit()
    return user


def _proof(user: User, email: str, nonce: str, expires: int) -> str:
    # Bound to the session version, so a password change voids code steps already begun.
    message = f"login-code\x00{user.id}\x00{user.session_version or 0}\x00{email}\x00{nonce}\x00{expires}"
    return hmac.new(_secret(), message.encode(), hashlib.sha256).hexdigest()


def _secret() -> bytes:
    key = current_app.config["SECRET_KEY"]
    return key.encode() if isinstance(key, str) else key


def new_totp_secret() -> str:
    """A fresh random base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def totp_uri(user: User, issuer: str = "Teichaku") -> str:
    """The otpauth:// URI an authenticator app reads (usually from a QR code)."""
    return pyotp.TOTP(user.totp_secret or "").provisioning_uri(name=user.email, issuer_name=issuer)


def verify_totp(user: User, code: str | None, at: float | None = None) -> int | None:
    """The time step ``code`` is valid for (one step of clock drift allowed), or None.

    A step at or before the last accepted one is refused, so an observed code cannot be replayed.
    """
    if not user.totp_secret:
        return None
    # Full-width digits from a Japanese IME count; spaces are how apps show the code.
    code = "".join(unicodedata.normalize("NFKC", code or "").split())
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(user.totp_secret)
    now_step = int((time.time() if at is None else at) // totp.interval)
    found = None
    for step in (now_step - 1, now_step, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    if found is None or (user.totp_last_step is not None and found <= user.totp_last_step):
        return None
    return found


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Same method and cost as real hashes, so an unknown e-mail takes as long as a known one.
    return generate_password_hash(secrets.token_urlsafe(16))
