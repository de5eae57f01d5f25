"""Password policy: at least MIN_LENGTH characters, not blank, and hard to guess (zxcvbn).

Plain Python (no Flask): the CLI, the web form and the workspace service share it. Messages are
i18n keys, resolved by the caller in the language it shows.
"""

from __future__ import annotations

import re
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
