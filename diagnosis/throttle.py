"""Login back-off per (e-mail, client address) pair, stored in the database so workers agree.

There is deliberately no per-account lock: a lock that anyone can trigger from anywhere lets an
attacker keep a victim out. Failures from one address slow down only that address's attempts at
that e-mail; the per-address rate limit (``ratelimit``), the password policy and the optional
second factor bound guessing across addresses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import unicodedata
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from .extensions import db
from .store.models import LoginThrottle


@dataclass(frozen=True)
class Backoff:
    """Free failures, then a delay doubling from ``base`` up to ``cap`` seconds."""

    free: int = 3
    base: float = 2.0
    cap: float = 900.0
    forget: dt.timedelta = dt.timedelta(hours=24)

    def delay(self, failures: int) -> float:
        """Seconds to wait after the given number of consecutive failures."""
        if failures <= self.free:
            return 0.0
        return min(self.cap, self.base * 2 ** min(failures - self.free - 1, 32))


def pair_key(secret: str | bytes, email: str, address: str | None) -> str:
    """A keyed hash of the normalised e-mail and the client address (neither is stored)."""
    key = secret.encode() if isinstance(secret, str) else secret
    email = " ".join(unicodedata.normalize("NFKC", email or "").casefold().split())
    message = f"login-throttle\x00{email}\x00{address or '-'}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def is_blocked(key: str, now: dt.datetime) -> bool:
    """True while the pair must wait before its next attempt is considered."""
    row = db.session.get(LoginThrottle, key)
    return row is not None and row.blocked_until is not None and row.blocked_until > now


def record_failure(key: str, now: dt.datetime, policy: Backoff, *, count: bool = True) -> None:
    """Count a failed attempt (unless ``count`` is False) and commit; forgets stale pairs."""
    try:
        _record(key, now, policy, count)
        db.session.commit()
    except IntegrityError:  # another worker created the row between our read and insert
        db.session.rollback()
        _record(key, now, policy, count)
        db.session.commit()


def _record(key: str, now: dt.datetime, policy: Backoff, count: bool) -> None:
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.updated_at < now - policy.forget))
    row = db.session.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(key=key, failures=0)
        db.session.add(row)
    if count:
        row.failures = (row.failures or 0) + 1
        wait = policy.delay(row.failures)
        row.blocked_until = now + dt.timedelta(seconds=wait) if wait else None
    # An attempt while blocked is not counted (a hasty retry must not double the wait) but
    # is written all the same, so every failed attempt costs the same work.
    row.updated_at = now


def clear(key: str) -> None:
    """Forget the pair's failures after a successful login (not committed)."""
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
