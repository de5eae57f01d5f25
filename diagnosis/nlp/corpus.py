"""Training corpus and held-out set: loading, validation, deduplication and hashing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from diagnosis.nlp.labels import LABELS
from diagnosis.nlp.text import guess_lang, normalize

TRAIN_GLOB = "train_*.jsonl"
PRIMARY = "wild"
"""The primary evaluation set: written to be hard, from real registers (see GUIDE.md, WILD_BRIEF.md)."""
EVAL_GLOBS = ("wild*.jsonl", "heldout*.jsonl")
"""Evaluation-only files: never trained or tuned on."""


@dataclass(frozen=True)
class Example:
    """One labelled answer."""

    text: str
    label: str
    lang: str
    secondary: str | None = None
    source: str = "corpus"
    part: str | None = None  # an evaluation set's part (how it was written), e.g. in wild.jsonl


def _read_jsonl(path: Path, source: str) -> list[Example]:
    """Read and validate one JSON Lines file."""
    out: list[Example] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{lineno}: invalid JSON ({exc})") from exc
            text, label = row.get("text"), row.get("label")
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"{path}:{lineno}: missing text")
            if label not in LABELS:
                raise ValueError(f"{path}:{lineno}: unknown label {label!r}")
            lang = row.get("lang") or guess_lang(text)
            out.append(Example(text, label, lang, row.get("secondary"), source, row.get("part")))
    return out


def train_files(corpus_dir: str | Path) -> list[Path]:
    """The training files, in a stable order (never the held-out file)."""
    files = sorted(Path(corpus_dir).glob(TRAIN_GLOB))
    if not files:
        raise FileNotFoundError(f"no {TRAIN_GLOB} in {corpus_dir}")
    return files


def load_train(corpus_dir: str | Path) -> list[Example]:
    """All training examples, deduplicated by normalised text (first occurrence wins)."""
    rows: list[Example] = []
    for path in train_files(corpus_dir):
        rows.extend(_read_jsonl(path, "corpus"))
    return dedupe(rows)


def eval_files(corpus_dir: str | Path) -> list[Path]:
    """The evaluation-only files, primary (``wild.jsonl``) first, then the clean held-out sets."""
    found = {p for pattern in EVAL_GLOBS for p in Path(corpus_dir).glob(pattern) if not p.stem.endswith("_agreement")}

    def order(p: Path) -> tuple:
        return (p.stem != PRIMARY, not p.stem.startswith(PRIMARY), p.stem != "heldout", p.name)

    return sorted(found, key=order)


def load_eval_sets(corpus_dir: str | Path) -> dict[str, list[Example]]:
    """Every evaluation set by name (file stem), the primary set first.

    The wild set is the primary figure: written by writers who never saw the corpus, in the
    registers real comments come in, labelled blind twice. The clean held-out sets
    (``heldout*.jsonl``) stay as secondary figures.
    """
    return {p.stem: _read_jsonl(p, "eval") for p in eval_files(corpus_dir)}


def load_agreement(corpus_dir: str | Path, name: str = PRIMARY) -> dict | None:
    """The labelling-agreement record of an evaluation set (``<name>_agreement.json``), if any."""
    path = Path(corpus_dir) / f"{name}_agreement.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def dedupe(rows: Iterable[Example]) -> list[Example]:
    """Drop later examples whose normalised text was already seen."""
    seen: set[str] = set()
    out: list[Example] = []
    for ex in rows:
        key = normalize(ex.text).casefold()
        if key in seen:
            continue
        seen.add(key)
        out.append(ex)
    return out


def merge_corrections(rows: list[Example], corrections: Iterable[dict]) -> list[Example]:
    """Add human corrections; a correction replaces a corpus example with the same normalised text."""
    fixed: dict[str, Example] = {}
    for item in corrections:
        text, label = item.get("text"), item.get("label")
        if not isinstance(text, str) or not text.strip() or label not in LABELS:
            continue
        fixed[normalize(text).casefold()] = Example(text, label, guess_lang(text), None, "correction")
    kept = [ex for ex in rows if normalize(ex.text).casefold() not in fixed]
    return kept + list(fixed.values())


def sha256_files(paths: Iterable[Path]) -> str:
    """One sha256 over the given files' names and bytes, in order."""
    h = hashlib.sha256()
    for path in paths:
        h.update(path.name.encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def sha256_examples(rows: Iterable[Example]) -> str:
    """sha256 of the (text, label) pairs actually trained on."""
    h = hashlib.sha256()
    for ex in rows:
        h.update(json.dumps([ex.text, ex.label], ensure_ascii=False).encode() + b"\n")
    return h.hexdigest()
