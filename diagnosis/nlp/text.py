"""Text normalisation, sentence splitting and a cheap language guess for ja/en answers."""

from __future__ import annotations

import re
import unicodedata

# Closing quotes/brackets that belong to the sentence before a break, e.g. 「…です。」 or "...it."
_CLOSERS = "」』）)】〉》\"'”’"
# English abbreviations whose trailing dot does not end a sentence (lower-cased, without dot).
_ABBREVIATIONS = frozenset(
    {
        "e.g",
        "i.e",
        "etc",
        "vs",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "inc",
        "ltd",
        "co",
        "corp",
        "dept",
        "approx",
        "no",
        "fig",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "st",
        "jr",
        "sr",
        "u.s",
        "a.m",
        "p.m",
    }
)
_JA_CHARS = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_SPACES = re.compile(r"[ \t\u3000]+")
# Minimum characters for a piece to stand on its own; shorter pieces ("はい。", "OK.") are glued
# to their neighbour so that a fragment never gets classified alone.
MIN_SENTENCE_CHARS = 4


def normalize(text: str) -> str:
    """NFKC-normalise, unify line breaks and collapse runs of spaces (keeps line breaks)."""
    text = unicodedata.normalize("NFKC", text or "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(lines).strip()


def guess_lang(text: str) -> str:
    """Return "ja" if the text contains kana/kanji, else "en" (the two survey languages)."""
    return "ja" if _JA_CHARS.search(text) else "en"


def _is_english_boundary(text: str, i: int) -> bool:
    """Decide whether the '.', '!' or '?' at text[i] ends an English sentence."""
    ch = text[i]
    nxt = text[i + 1] if i + 1 < len(text) else ""
    if ch == ".":
        prev = text[i - 1] if i > 0 else ""
        # Decimals and version numbers: 3.5, v1.2
        if prev.isdigit() and nxt.isdigit():
            return False
        # Ellipsis "..." : only the last dot may end the sentence
        if nxt == ".":
            return False
        # Abbreviations: look at the word before the dot
        m = re.search(r"([A-Za-z][A-Za-z.]*)$", text[:i])
        if m and m.group(1).lower().rstrip(".") in _ABBREVIATIONS:
            return False
        # Single capital initial ("J. Smith")
        if m and len(m.group(1)) == 1 and m.group(1).isupper():
            return False
    # A Latin terminator only ends a sentence before whitespace, a closer or the end of text.
    j = i + 1
    while j < len(text) and text[j] in _CLOSERS + ".!?":
        j += 1
    if j >= len(text) or _JA_CHARS.match(text[j]) is not None:
        return True
    if not text[j].isspace():
        return False
    # '"It is useless." she said' : a lower-case continuation means the sentence goes on.
    rest = text[j:].lstrip()
    return not (rest[:1].islower())


def split_sentences(text: str) -> list[str]:
    """Split an answer into sentences on 。！？ and line breaks (ja) and . ! ? (en), after NFKC."""
    text = normalize(text)
    if not text:
        return []
    pieces: list[str] = []
    buf: list[str] = []
    depth = 0  # inside 「」/『』 a 。 does not end the outer sentence
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            pieces.append("".join(buf))
            buf = []
            i += 1
            continue
        buf.append(ch)
        if ch in "「『":
            depth += 1
        elif ch in "」』" and depth:
            depth -= 1
        end = False
        if ch in "。" and depth == 0:
            end = True
        elif ch in "!?" and depth == 0:
            # NFKC maps ！？ to !?; in Japanese they end a sentence even without a following space.
            end = _is_english_boundary(text, i) or guess_lang(text[max(0, i - 3) : i]) == "ja"
        elif ch == "." and depth == 0:
            end = _is_english_boundary(text, i)
        if end:
            # keep repeated terminators and closing quotes with this sentence
            while i + 1 < n and text[i + 1] in _CLOSERS + "。.!?":
                i += 1
                buf.append(text[i])
            pieces.append("".join(buf))
            buf = []
        i += 1
    pieces.append("".join(buf))
    pieces = [p.strip() for p in pieces if p.strip()]
    return _merge_fragments(pieces)


def _merge_fragments(pieces: list[str]) -> list[str]:
    """Glue very short pieces (bullets, "はい。") to the following or previous sentence."""
    out: list[str] = []
    carry = ""
    for piece in pieces:
        piece = (carry + " " + piece).strip() if carry else piece
        if len(re.sub(r"[\W_]", "", piece)) < MIN_SENTENCE_CHARS:
            carry = piece
            continue
        carry = ""
        out.append(piece)
    if carry:
        if out:
            out[-1] = out[-1] + " " + carry
        else:
            out.append(carry)
    return out
