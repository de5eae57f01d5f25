from __future__ import annotations

import json

import numpy as np

from diagnosis.nlp.corpus import Example, load_train, merge_corrections
from diagnosis.nlp.training import head_filename, train


def test_corrections_win_and_dedupe(models_dir):
    rows = load_train(models_dir / "corpus")
    victim = rows[0]
    fixed = "other" if victim.label != "other" else "purpose"
    merged = merge_corrections(
        rows,
        [
            {"text": "  " + victim.text + " ", "label": fixed},
            {"text": "新しい回答です", "label": "support"},
            {"text": "x", "label": "nonsense"},
        ],
    )
    same = [ex for ex in merged if ex.text.strip() == victim.text.strip()]
    assert len(same) == 1 and same[0].label == fixed and same[0].source == "correction"
    assert Example("新しい回答です", "support", "ja", None, "correction") in merged
    assert len(merged) == len(rows) + 1


def test_train_is_deterministic_and_writes_metadata(tmp_path, models_dir):
    # A stratified slice of the corpus keeps this end-to-end test fast; the full corpus is what
    # `teichaku train` uses.
    (tmp_path / "corpus").mkdir()
    for src in (models_dir / "corpus").glob("*.jsonl"):
        lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
        (tmp_path / "corpus" / src.name).write_text("".join(lines[:: max(1, len(lines) // 40)]), encoding="utf-8")
    first = train(tmp_path, "use", corrections=[{"text": "研修が欲しいです", "label": "support"}])
    with np.load(tmp_path / head_filename("use"), allow_pickle=False) as z:
        coef = z["coef"].copy()
    second = train(tmp_path, "use", corrections=[{"text": "研修が欲しいです", "label": "support"}])
    with np.load(tmp_path / head_filename("use"), allow_pickle=False) as z:
        np.testing.assert_array_equal(coef, z["coef"])
    assert first["training_set_sha256"] == second["training_set_sha256"]
    meta = json.loads((tmp_path / "metadata.json").read_text())
    entry = meta["heads"]["use"]
    assert entry["label_order"] == ["purpose", "leadership", "support", "other"]
    assert entry["n_corrections"] == 1
    for key in ("corpus_sha256", "cv", "eval_sets", "primary", "calibration", "unclear_threshold"):
        assert entry[key]
    assert meta["library_versions"]["scikit-learn"]
    # the trained classifier's probabilities on the wild set, kept as the diagnosis's error model
    from diagnosis.nlp import model_version
    from diagnosis.nlp.error_model import load_error_record

    n_wild = len((tmp_path / "corpus" / "wild.jsonl").read_text(encoding="utf-8").splitlines())
    assert entry["error_model"]["n"] == n_wild and entry["error_model"]["set"] == "wild.jsonl"
    record = load_error_record(tmp_path, "use", model_version(tmp_path, "use"))
    assert record is not None and record.posteriors.shape == (n_wild, 4)
    np.testing.assert_allclose(record.posteriors.sum(axis=1), 1.0, atol=1e-3)
    assert load_error_record(tmp_path, "use", "use:another-version") is None
