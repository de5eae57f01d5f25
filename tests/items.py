"""Item ids for test helpers, read from the installed questionnaire (never copied by hand)."""

from __future__ import annotations

import os
from functools import cache

from diagnosis.config import QUESTIONNAIRE_DIR
from diagnosis.questionnaire import load_directory


@cache
def likert_items(questionnaire_id: str = "ai-adoption") -> tuple[str, ...]:
    """The Likert item ids of the newest installed version, in questionnaire order."""
    q = load_directory(os.environ.get("TEICHAKU_QUESTIONNAIRE_DIR") or QUESTIONNAIRE_DIR)[questionnaire_id]
    return tuple(item.id for item in q.items_of_type("likert"))
