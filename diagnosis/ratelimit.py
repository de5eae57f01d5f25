"""Rate limits shared by every worker: fixed-window counters in one store.

The store is chosen by ``RATELIMIT_STORAGE_URL``:

- ``database`` (default): the table ``rate_limit`` in the application database, so gunicorn
  workers and hosts that share the database share the counts (SQLite and PostgreSQL alike);
- ``memory://``: this process only (one-process development, quick experiments);
- ``redis://host:6379/0`` (or any other ``limits`` URL): a shared Redis, for several hosts
  without database writes on every hit (needs the ``redis`` package: ``pip install teichaku[redis]``).

Windows and the memory/Redis stores come from the ``limits`` library, the engine under
Flask-Limiter. Flask-Limiter's decorators are not used: they refuse a request before the view
runs, and the survey must re-render the employee's answers when it refuses a submission.

Identities (a client address, a browser token) never reach the store: keys hold an HMAC of them
under a salt derived from SECRET_KEY that changes every UTC day, and every key expires with its
window.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import math
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

EXTENSION = "teichaku.ratelimit"


@dataclass(frozen=True)
class Verdict:
    """The outcome of one hit: allowed, or refused with the seconds until the window resets."""

    allowed: bool
    retry_after: int = 0

    @property
    def minutes(self) -> int:
        """Whole minutes to wait, at least one (for messages)."""
        return max(1, math.ceil(self.retry_after / 60))


class DatabaseStorage(Storage):
    """Fixed-window counters in the ``rate_limit`` table (see RateLimitCounter), shared by every
    process that uses the same database. Works on SQLite and PostgreSQL: plain UPDATE/INSERT,
    with a retry when two workers open the same window at once."""

    STORAGE_SCHEME = None  # built by RateLimits with the app's engine, not from a URL
    CLEANUP_EVERY = 60.0  # seconds between sweeps of expired rows, per process

    def __init__(self, engine: Callable[[], Engine], clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._engine = engine
        self._clock = clock
        self._next_cleanup = 0.0

    @property
    def base_exceptions(self) -> type[Exception]:
        """Errors of this store (what ``limits`` wraps when asked to)."""
        return SQLAlchemyError

    @property
    def _table(self) -> Table:
        from .store.models import RateLimitCounter

        return RateLimitCounter.__table__

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to the key's open window (opening a new one when none is open)."""
        t, now = self._table, self._clock()
        self._sweep(now)
        for _ in range(3):
            try:
                with self._engine().begin() as conn:
                    counted = conn.execute(
                        update(t).where(t.c.key == key, t.c.expires_at > now)
                        .values(hits=t.c.hits + amount))
                    if counted.rowcount:
                        # Our UPDATE holds the row until commit, so this is our own total.
                        return int(conn.scalar(select(t.c.hits).where(t.c.key == key)))
                    conn.execute(delete(t).where(t.c.key == key, t.c.expires_at <= now))
                    conn.execute(insert(t).values(key=key, hits=amount, expires_at=now + expiry))
                    return amount
            except IntegrityError:
                continue  # another worker opened this window first: count in theirs
        raise RuntimeError(f"rate-limit key {key!r} kept changing under us")

    def get(self, key: str) -> int:
        """Hits in the key's open window (0 when none is open)."""
        t = self._table
        with self._engine().connect() as conn:
            hits = conn.scalar(select(t.c.hits).where(t.c.key == key, t.c.expires_at > self._clock()))
        return int(hits or 0)

    def get_expiry(self, key: str) -> float:
        """Unix time at which the key's window closes (now when none is open)."""
        t = self._table
        with self._engine().connect() as conn:
            expires = conn.scalar(select(t.c.expires_at).where(t.c.key == key))
        return float(expires) if expires is not None else self._clock()

    def check(self) -> bool:
        """True when the table can be read."""
        try:
            with self._engine().connect() as conn:
                conn.execute(select(self._table.c.key).limit(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        """Delete every counter."""
        with self._engine().begin() as conn:
            return conn.execute(delete(self._table)).rowcount

    def clear(self, key: str) -> None:
        """Delete one counter."""
        with self._engine().begin() as conn:
            conn.execute(delete(self._table).where(self._table.c.key == key))

    def _sweep(self, now: float) -> None:
        # Expired rows hold hashed identities: delete them soon rather than keep them forever.
        if now < self._next_cleanup:
            return
        self._next_cleanup = now + self.CLEANUP_EVERY
        with self._engine().begin() as conn:
            conn.execute(delete(self._table).where(self._table.c.expires_at <= now))


class RateLimits:
    """The app's limiter: ``hit(scope, identity, limit, window)`` against the configured store."""

    def __init__(self) -> None:
        self._stores: weakref.WeakSet[Storage] = weakref.WeakSet()
        self._lock = threading.Lock()

    def init_app(self, app: Flask) -> None:
        """Build the configured store for this app (one per app, shared by its threads)."""
        storage = _make_storage(app)
        app.extensions[EXTENSION] = (storage, FixedWindowRateLimiter(storage))
        with self._lock:
            self._stores.add(storage)

    def hit(self, scope: str, identity: str, limit: int, window: int) -> Verdict:
        """Count one event for ``identity`` in ``scope``; refused once ``limit`` per ``window``
        seconds is exceeded. A store that is down lets the event through (and logs it): a broken
        Redis must not turn every employee away."""
        storage, strategy = current_app.extensions[EXTENSION]
        item = RateLimitItemPerSecond(max(1, int(limit)), max(1, int(window)))
        key = _identity_hash(identity)
        try:
            if strategy.hit(item, scope, key):
                return Verdict(True)
            reset_at = strategy.get_window_stats(item, scope, key).reset_time
        except Exception as exc:  # noqa: BLE001 - any store failure: fail open, visibly
            from .ops import log_event

            log_event("ratelimit_store_error", scope=scope.split(":")[0], error=type(exc).__name__)
            return Verdict(True)
        return Verdict(False, max(1, math.ceil(reset_at - time.time())))

    def reset(self) -> None:
        """Forget every count in every store this process built (tests)."""
        with self._lock:
            stores = list(self._stores)
        for storage in stores:
            try:
                storage.reset()
            except SQLAlchemyError:
                pass  # a test database already removed


def _make_storage(app: Flask) -> Storage:
    url = str(app.config.get("RATELIMIT_STORAGE_URL") or "database")
    if url != "database":
        return storage_from_string(url)
    db_url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if db_url.get_backend_name() == "sqlite" and db_url.database in (None, "", ":memory:"):
        # An in-memory SQLite database lives in one process anyway, and shares its single
        # connection with the request's session: counting there would commit the request's work.
        return MemoryStorage()
    from .extensions import db

    engine: Engine | None = None

    def get_engine() -> Engine:
        nonlocal engine
        if engine is None:
            with app.app_context():
                engine = db.engine
        return engine

    return DatabaseStorage(get_engine)


def _identity_hash(identity: str) -> str:
    """HMAC of an identity under today's salt: stable across workers, unlinkable across days."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    day = dt.datetime.now(dt.UTC).date().isoformat()
    salt = hmac.new(secret, f"teichaku-ratelimit:{day}".encode(), hashlib.sha256).digest()
    return hmac.new(salt, identity.encode(), hashlib.sha256).hexdigest()[:32]


def client_address() -> str:
    """The client's address for limiting (only ever hashed into a limiter key): the IPv4 address,
    or the /64 network of an IPv6 one, since one device can pick any address in its /64."""
    from flask import request

    raw = request.remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


limiter = RateLimits()
