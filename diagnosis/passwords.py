"""Password policy (at least MIN_LENGTH characters, not blank, hard to guess by zxcvbn) and
the strength rule for the production SECRET_KEY.

Plain Python (no Flask): the CLI, the web form and the workspace service share it. Messages are
i18n keys, resolved by the caller in the language it shows.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

from zxcvbn import zxcvbn

MIN_LENGTH = 10
# zxcvbn's scale: 3 = "safely unguessable: moderate protection from offline slow-hash scenario".
MIN_SCORE = 3
# zxcvbn refuses longer input (its cost grows with length); the rest of a longer password only
# adds strength, so scoring the first 72 characters never accepts a weak one.
_SCORED = 72
_WORD = re.compile(r"[^\W_]{3,}")


def _context_words(user_inputs: Iterable[str | None]) -> list[str]:
    # The whole e-mail or name and each word of it, so "kato-consultant" for kato@… scores low.
    words: list[str] = []
    for text in user_inputs:
        if text:
            words.append(text.lower())
            words += _WORD.findall(text.lower())
    return words


def password_problem(password: str | None, user_inputs: Iterable[str | None] = ()) -> str | None:
    """The i18n key of the first rule ``password`` breaks ('password.*'), or None when it is good."""
    password = password or ""
    if not password.strip():
        return "password.blank"
    if len(password) < MIN_LENGTH:
        return "password.too_short"
    if zxcvbn(password[:_SCORED], user_inputs=_context_words(user_inputs))["score"] < MIN_SCORE:
        return "password.weak"
    return None


MIN_SECRET_KEY = 32
# Bits by the per-character Shannon estimate, and zxcvbn's log10 of guesses: a random
# secrets.token_hex(16) scores at least ~90 and ~29, a phrase like "my-app-secret-key-..." ~23.
_MIN_SECRET_BITS = 80
_MIN_SECRET_GUESSES_LOG10 = 25
GENERATE_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"  # noqa: S105 - a command, not a key


def _shannon_bits(text: str) -> float:
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values()) * n


def secret_key_problem(key: str | bytes | None) -> str | None:
    """Why ``key`` is too weak to sign sessions in production, or None when it is strong enough."""
    if not key:
        return "is not set"
    text = key.decode("latin-1") if isinstance(key, bytes) else str(key)
    if text == "dev":
        return "is the development placeholder 'dev'"
    if not text.strip():
        return "is only whitespace"
    if len(text) < MIN_SECRET_KEY:
        return f"is shorter than {MIN_SECRET_KEY} characters"
    if (_shannon_bits(text) < _MIN_SECRET_BITS
            or zxcvbn(text[:_SCORED])["guesses_log10"] < _MIN_SECRET_GUESSES_LOG10):
        return "has too little variety to be random (repeats, sequences or words)"
    return None
