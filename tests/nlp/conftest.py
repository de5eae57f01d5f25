"""Fixtures for the classifier tests: the real USE backend and the committed head."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The repository's models/ folder (committed head + corpus)."""
    return MODELS_DIR


@pytest.fixture(scope="session", params=["e5-int8", "use"])
def classifier(models_dir, request):
    """The committed classifier on the default (e5-int8) and the USE backends, loaded once each."""
    from diagnosis.nlp import get_classifier

    return get_classifier(models_dir, backend=request.param)


@pytest.fixture(scope="session")
def corpus_sample(models_dir):
    """A small, fixed, stratified slice of the training corpus with real USE embeddings."""
    from diagnosis.nlp.classifier import embed_texts
    from diagnosis.nlp.corpus import load_train
    from diagnosis.nlp.embeddings import get_encoder

    rows = load_train(models_dir / "corpus")
    picked = []
    for label in ("purpose", "leadership", "support", "other"):
        picked += [r for r in rows if r.label == label][:30]
    X = embed_texts(get_encoder("use", models_dir), [r.text for r in picked])
    y = [r.label for r in picked]
    return X, y
