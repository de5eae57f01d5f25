"""Database faults that pass: a lock held too long, a dropped connection, a serialisation
failure, a database restarting. Writes that matter (an employee's answers) are retried a bounded
number of times; when the fault outlasts them, callers answer 503 and keep what the user sent."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect
from sqlalchemy.orm.attributes import set_committed_value

T = TypeVar("T")
RETRY_AFTER_SECONDS = 30


def is_transient(error: BaseException) -> bool:
    """True for faults that may pass by themselves: SQLite "database is locked", a lost or refused
    connection, a lock or statement timeout, a serialisation failure or deadlock (all
    OperationalError on both drivers), a closed connection, an exhausted pool."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError
                      | sa_exc.DisconnectionError)


def fault_reason(error: BaseException) -> str:
    """The first line of the driver's message (what an operator needs), without SQL or parameters."""
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class StoreFailed(RuntimeError):
    """A write failed on every attempt; ``error`` is the last fault."""

    def __init__(self, attempts: int, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__} after {attempts} attempt(s)")
        self.attempts = attempts
        self.error = error


def with_retries(work: Callable[[], T], rollback: Callable[[], None], *, attempts: int = 3,
                 backoff: float = 0.25, deadline: float = 12.0,
                 sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``work`` (which commits) until it succeeds, retrying transient faults after a
    rollback with doubling backoff. No new attempt starts after ``deadline`` seconds (each SQLite
    attempt can itself wait the busy timeout), so the request ends well before a proxy's or
    gunicorn's timeout. Other errors propagate at once."""
    start = time.monotonic()
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except Exception as error:
            rollback()
            if not is_transient(error):
                raise
            if attempt == attempts or time.monotonic() - start > deadline:
                raise StoreFailed(attempt, error) from error
            sleep(backoff * 2 ** (attempt - 1))
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def keep_loaded(*objects: Any) -> Iterator[None]:
    """Keep the loaded state of these ORM objects across a rollback, so a page can still be
    rendered from them while the database is unreachable (a rollback expires every object, and
    the next attribute read would need the database)."""
    saved = []
    for obj in objects:
        state = inspect(obj)
        values = {key: state.dict[key] for key in state.mapper.attrs.keys() if key in state.dict}
        saved.append((obj, values))
    try:
        yield
    finally:
        for obj, values in saved:
            for key, value in values.items():
                set_committed_value(obj, key, value)
