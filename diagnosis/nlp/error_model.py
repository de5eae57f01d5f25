"""The classifier's known errors, for correcting cause shares (see ``diagnosis.recommend.quantify``).

After ``teichaku train`` the trained classifier reads the primary evaluation set (the wild set:
written to be hard, labelled blind twice, never trained on) through the product path, and its
calibrated probabilities are kept beside the head as ``errors-<backend>.npz``: one row per answer,
with the answer's true label. A diagnosis turns them into the error matrix it inverts. The file
records the classifier version it was made with; a head retrained since does not use a stale one.

    python -m diagnosis.nlp.error_model [--backend NAME]   # rebuild it without retraining the head
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diagnosis.nlp.corpus import PRIMARY, load_eval_sets
from diagnosis.nlp.labels import LABELS


def errors_filename(backend: str) -> str:
    """File name of a backend's error record."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in backend)
    return f"errors-{safe}.npz"


@dataclass(frozen=True)
class ErrorRecord:
    """Calibrated probabilities of one classifier version on a labelled set it never trained on."""

    labels: tuple[str, ...]
    posteriors: np.ndarray
    truth: np.ndarray
    source: str
    model_version: str

    @property
    def n(self) -> int:
        """Number of answers."""
        return len(self.truth)


def write_error_record(models_dir: str | Path, backend: str) -> dict:
    """Classify the primary evaluation set with the trained classifier and save the record.

    Returns the metadata entry (file, set, n, sha256, model_version).
    """
    from diagnosis.nlp import clear_cache, get_classifier

    models_dir = Path(models_dir)
    rows = load_eval_sets(models_dir / "corpus").get(PRIMARY)
    if not rows:
        raise ValueError(f"{models_dir / 'corpus'} has no {PRIMARY}.jsonl to build the error record from")
    clear_cache()
    clf = get_classifier(models_dir, backend)
    results = clf.classify([r.text for r in rows])
    post = np.array([[res.scores[lab] for lab in LABELS] for res in results], dtype=np.float64)
    truth = np.array([LABELS.index(r.label) for r in rows], dtype=np.int64)
    version = str(getattr(clf, "version_", ""))
    path = models_dir / errors_filename(backend)
    np.savez_compressed(
        path,
        posteriors=post,
        truth=truth,
        labels=np.array(LABELS),
        source=np.array(f"{PRIMARY}.jsonl"),
        model_version=np.array(version),
    )
    return {
        "file": path.name,
        "set": f"{PRIMARY}.jsonl",
        "n": len(rows),
        "model_version": version,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }


def load_error_record(models_dir: str | Path, backend: str, model_version: str | None) -> ErrorRecord | None:
    """The backend's error record, or None when missing or made with another classifier version."""
    path = Path(models_dir) / errors_filename(backend)
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as z:
        labels = tuple(str(x) for x in z["labels"])
        record = ErrorRecord(labels, z["posteriors"], z["truth"], str(z["source"]), str(z["model_version"]))
    if labels != tuple(LABELS) or (model_version is not None and record.model_version != model_version):
        return None
    return record


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: rebuild a backend's error record and record it in metadata.json."""
    from diagnosis.nlp import active_backend, default_models_dir
    from diagnosis.nlp.training import read_metadata, write_metadata

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default=None)
    parser.add_argument("--models-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    models_dir = args.models_dir or default_models_dir()
    backend = active_backend(models_dir, args.backend)
    entry = write_error_record(models_dir, backend)
    meta = read_metadata(models_dir)
    meta["heads"][backend]["error_model"] = entry
    write_metadata(models_dir, meta)
    print(f"wrote {entry['file']}: {entry['n']} answers of {entry['set']}, classifier {entry['model_version']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
