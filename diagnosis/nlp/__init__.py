"""Cause classification of free-text answers (plain Python: never imports flask).

    from diagnosis.nlp import classify, get_classifier, split_sentences, LABELS
    classify(["使い方がわからない"])[0].label  -> "support"

Importing this package is cheap; the embedding model and head load on the first
``get_classifier()``/``classify()`` call, once per process (thread-safe).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from diagnosis.nlp.labels import LABELS, UNCLEAR
from diagnosis.nlp.text import split_sentences

if TYPE_CHECKING:
    from diagnosis.nlp.classifier import CauseClassifier, Classification

__all__ = [
    "LABELS",
    "UNCLEAR",
    "active_backend",
    "classify",
    "default_models_dir",
    "get_classifier",
    "model_version",
    "split_sentences",
]

_LOCK = threading.Lock()
_CLASSIFIERS: dict[tuple[str, str], CauseClassifier] = {}


def default_models_dir() -> Path:
    """<repo>/models, or TEICHAKU_MODELS_DIR."""
    env = os.environ.get("TEICHAKU_MODELS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "models"


def _resolve(models_dir: str | Path | None, backend: str | None) -> tuple[Path, str]:
    from diagnosis.nlp.metadata import DEFAULT_BACKEND, read_metadata

    models_dir = Path(models_dir) if models_dir else default_models_dir()
    if not backend or backend == "default":
        env = os.environ.get("TEICHAKU_EMBEDDING_MODEL")
        backend = env if env and env != "default" else None
    if not backend:
        backend = read_metadata(models_dir).get("default_backend", DEFAULT_BACKEND)
    return models_dir, backend


def active_backend(models_dir: str | Path | None = None, backend: str | None = None) -> str:
    """The backend a classify call with these arguments uses: the argument, else
    TEICHAKU_EMBEDDING_MODEL, else metadata.json's default."""
    return _resolve(models_dir, backend)[1]


def _version(backend: str, entry: dict) -> str:
    """``backend:hash`` of what shaped the labels: the training set, and a fine-tuned body's adapter."""
    key = entry.get("training_set_sha256", "")
    adapter = (entry.get("finetune") or {}).get("adapter_sha256")
    if adapter:
        import hashlib

        key = hashlib.sha256(f"{key}:{adapter}".encode()).hexdigest()
    return f"{backend}:{key[:12]}"


def model_version(models_dir: str | Path | None = None, backend: str | None = None) -> str | None:
    """The version a classify call with these arguments stamps on its labels, read from
    metadata.json without loading any model (None if no head is trained for the backend)."""
    from diagnosis.nlp.metadata import read_metadata

    models_dir, backend = _resolve(models_dir, backend)
    entry = read_metadata(models_dir).get("heads", {}).get(backend)
    return None if entry is None else _version(backend, entry)


def load_classifier(models_dir: str | Path, backend: str) -> CauseClassifier:
    """Build a classifier from models_dir/metadata.json and the head trained for backend.

    Refuses a head whose label order is not the package's (``LABELS``) or not the one
    metadata.json records: its probability columns would be read as the wrong causes.
    """
    from diagnosis.nlp.classifier import CauseClassifier, CauseHead, load_char_ngrams
    from diagnosis.nlp.embeddings import get_encoder
    from diagnosis.nlp.metadata import read_metadata

    meta = read_metadata(models_dir)
    entry = meta.get("heads", {}).get(backend)
    if entry is None:
        raise FileNotFoundError(
            f"no trained head for backend {backend!r} in {models_dir} (run `teichaku train --backend {backend}`)"
        )
    head = CauseHead.load(Path(models_dir) / entry["file"], models_dir)
    classes = sorted(str(c) for c in head.classes_)  # the head's order is sorted; display order is LABELS
    if classes != sorted(LABELS) or classes != sorted(entry.get("label_order", classes)):
        raise ValueError(
            f"{entry['file']}: labels {classes} do not match {list(LABELS)} / metadata.json "
            f"{entry.get('label_order')} (retrain with `teichaku train --backend {backend}`)"
        )
    char = load_char_ngrams(Path(models_dir) / entry["file"], models_dir)
    encoder = get_encoder(backend, models_dir)
    clf = CauseClassifier(encoder, head, combine=entry.get("combine", "whole"), char=char, backend=backend,
                          version=_version(backend, entry))
    return clf


def get_classifier(models_dir: str | Path | None = None, backend: str | None = None) -> CauseClassifier:
    """The process-wide classifier for (models_dir, backend), loaded on first use."""
    models_dir, backend = _resolve(models_dir, backend)
    key = (str(models_dir.resolve()), backend)
    clf = _CLASSIFIERS.get(key)
    if clf is None:
        with _LOCK:
            clf = _CLASSIFIERS.get(key)
            if clf is None:
                clf = load_classifier(models_dir, backend)
                _CLASSIFIERS[key] = clf
    return clf


def classify(
    texts: list[str], models_dir: str | Path | None = None, backend: str | None = None
) -> list[Classification]:
    """Classify answers into causes (or "unclear"), with per-sentence results."""
    return get_classifier(models_dir, backend).classify(list(texts))


def clear_cache() -> None:
    """Forget loaded classifiers (after `teichaku train`, or in tests)."""
    with _LOCK:
        _CLASSIFIERS.clear()
