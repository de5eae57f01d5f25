"""Text made safe to show: bidirectional controls are removed wherever stored text is displayed.

A U+202E (right-to-left override) in a comment makes "txt.exe" read as "exe.txt" and can
reorder a quoted sentence so it says something else. Stored text keeps the employee's
characters (see ``responses.clean_text``); the controls are removed on the way out, in one
place per output: the Jinja ``finalize`` hook for HTML and the PDF (one environment), and
``exports.neutralise`` for CSV. Plain Python: no Flask.
"""

from __future__ import annotations

from typing import Any

# LRE, RLE, PDF, LRO, RLO; LRI, RLI, FSI, PDI; LRM, RLM; ALM (Arabic letter mark).
BIDI_CONTROLS = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u200e", "\u200f", "\u061c"]
)
_DROP = {ord(ch): None for ch in BIDI_CONTROLS}


def strip_bidi(text: str) -> str:
    """``text`` without bidirectional control characters."""
    return text.translate(_DROP)


def finalize(value: Any) -> Any:
    """Jinja ``finalize``: every ``{{ … }}`` output loses bidi controls; markup stays markup."""
    # Markup.translate returns Markup (removing characters cannot make markup unsafe);
    # a plain str stays a plain str and is escaped by autoescape as before.
    return value.translate(_DROP) if isinstance(value, str) else value
