"""Per-organisation adaptation: the base classifier, taught one client's wording by a few dozen of
its reviewed comments (plain Python: never imports flask or the database).

Method: prior-based adaptation of a log-linear model (Chelba & Acero 2004, "Adaptation of maximum
entropy capitaliser: little data can help a lot"). The base head's calibrated log-probabilities are
a fixed offset; the adapted head learns a correction ``D`` on the same features (sentence embedding
plus character n-grams) from the client's examples only::

    p(y | x)  ∝  p_base(y | x) · exp(D_y · x)
    minimise  C · Σ_i w_i · CE(y_i, p(· | x_i))  +  ½ ‖D‖²

``D = 0`` is the base model exactly, and the L2 penalty pulls every weight towards it: the base
corpus (about 6,000 answers) is present as the prior, and the client's few examples move the model
only as far as they give evidence for. ``w_i`` weighs each example (a reviewed comment 1, a
respondent's own checklist label less). Only the features the client's examples contain can move,
so the correction is small (stored sparse) and fitting takes well under a second for 200 examples.

Measured on three organisations' own wording (``bench/bench_adapt.py``, ``models/corpus/clients``):
the base model already scores 0.88–0.93 macro-F1 there, and 50–100 reviewed comments move it by
+0.005, +0.02 and −0.01 (one organisation's terms appear under several causes, and a few reviewed
comments carry them to the wrong one). C between 0.25 and 4, and a correction limited to the
embedding columns, all measured within 0.01 of each other; C = 1 is the middle. Because adapting
can also hurt, the product keeps the adapted model only when cross-validation on the reviewed
comments does not measure it lower than the base model.

The base classifier's unclear threshold is kept, and so are its embedding body and n-gram vocabulary:
an adapted classifier is the base classifier with one more layer, never a copy of it.
"""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold, StratifiedKFold

from diagnosis.nlp.classifier import CauseClassifier, CauseHead, build_features
from diagnosis.nlp.embeddings import encode_answers
from diagnosis.nlp.text import split_sentences

#: Fewer reviewed comments than this and the product says there are too few to measure.
MIN_TO_MEASURE = 20
#: Strength of the client's evidence against the base model (sklearn's C: higher, less pull back).
DEFAULT_C = 1.0
#: Weight of an example labelled by its own writer's reason checklist, against a reviewed one.
SELF_LABEL_WEIGHT = 0.3
FORMAT = "teichaku-adapted-head/1"


def answer_features(clf: CauseClassifier, texts: list[str]) -> Any:
    """The head's input for whole answers, computed as ``CauseClassifier.classify`` computes the
    vector that decides an answer's label (a one-sentence answer's vector is its sentence's)."""
    split = [split_sentences(t) for t in texts]
    _, whole = encode_answers(clf.encoder, split)
    joined = [" ".join(parts) for parts in split]
    return build_features(whole, joined, clf.char)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class AdaptedHead(ClassifierMixin, BaseEstimator):
    """A :class:`CauseHead` with a client's correction on top; the same interface
    (``classes_``, ``threshold_``, ``predict_proba``), so a :class:`CauseClassifier` runs it
    unchanged (and decides ``unclear`` with the base head's threshold)."""

    def __init__(self, base: CauseHead | None = None, C: float = DEFAULT_C) -> None:
        self.base = base
        self.C = C

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> AdaptedHead:
        """Learn the correction from the client's examples (labels among the base's classes)."""
        if self.base is None:
            raise ValueError("AdaptedHead needs the base head it adapts")
        X = sp.csr_matrix(X, dtype=np.float64)
        y = np.asarray(y).astype(str)
        classes = [str(c) for c in self.base.classes_]
        unknown = sorted(set(y) - set(classes))
        if unknown:
            raise ValueError(f"labels not in the base classes {classes}: {unknown}")
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self.classes_ = self.base.classes_
        self.threshold_ = self.base.threshold_
        self.n_features_in_ = X.shape[1]
        cols = np.unique(X.indices) if X.nnz else np.zeros(0, dtype=np.int64)
        Xa = X[:, cols]
        offset = np.log(np.clip(self.base.predict_proba(X), 1e-12, None))
        Y = np.zeros((len(y), len(classes)))
        Y[np.arange(len(y)), [classes.index(v) for v in y]] = 1.0
        k, m, C = len(classes), len(cols), float(self.C)

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            D = theta.reshape(k, m)
            P = _softmax(offset + np.asarray(Xa @ D.T))
            ce = -(w * np.log(np.clip((P * Y).sum(axis=1), 1e-300, None))).sum()
            grad = C * np.asarray(Xa.T @ ((P - Y) * w[:, None])).T + D
            return C * ce + 0.5 * float(theta @ theta), grad.ravel()

        start = time.perf_counter()
        res = minimize(loss, np.zeros(k * m), jac=True, method="L-BFGS-B",
                       options={"maxiter": 500, "gtol": 1e-6})
        self.cols_ = cols.astype(np.int64)
        self.delta_ = res.x.reshape(k, m)
        self.fit_seconds_ = time.perf_counter() - start
        self.n_iter_ = int(res.nit)
        return self

    # -- inference -------------------------------------------------------------------------------
    def decision_function(self, X: Any) -> np.ndarray:
        """Adapted log-scores: the base log-probabilities plus the correction."""
        X = sp.csr_matrix(X, dtype=np.float64)
        base = np.log(np.clip(self.base.predict_proba(X), 1e-12, None))
        if not len(self.cols_):
            return base
        return base + np.asarray(X[:, self.cols_] @ self.delta_.T)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities, columns in ``classes_`` order, rows summing to 1."""
        return _softmax(self.decision_function(X))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class per row (never ``unclear``: the wrapper decides that)."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    # -- persistence (bytes for a database column; no pickle) -----------------------------------
    def to_bytes(self, base_version: str) -> bytes:
        """The correction as a compressed .npz, stamped with the base classifier it adapts."""
        buf = io.BytesIO()
        np.savez_compressed(buf, format=np.array(FORMAT), base_version=np.array(base_version),
                            classes=np.asarray(self.classes_).astype(str), C=np.array([self.C]),
                            cols=self.cols_, delta=self.delta_.astype(np.float32),
                            n_features=np.array([self.n_features_in_]))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, base: CauseHead, base_version: str) -> AdaptedHead:
        """Rebuild on ``base``; refuses a correction made for another base classifier or label
        order (its columns would be read as the wrong causes or features)."""
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            if str(z["format"]) != FORMAT:
                raise ValueError(f"not an adapted head ({z['format']})")
            if str(z["base_version"]) != base_version:
                raise ValueError(f"adapted for {z['base_version']}, not {base_version}")
            stored, classes = [str(c) for c in z["classes"]], [str(c) for c in base.classes_]
            if sorted(stored) != sorted(classes):
                raise ValueError(f"labels {stored} differ from the base head's {classes}")
            head = cls(base=base, C=float(z["C"][0]))
            head.classes_, head.threshold_ = base.classes_, base.threshold_
            head.n_features_in_ = int(z["n_features"][0])
            head.cols_ = z["cols"].astype(np.int64)
            # rows in the base head's class order (older corrections were stored in display order)
            head.delta_ = z["delta"].astype(np.float64)[[stored.index(c) for c in classes]]
        return head


def adapted_classifier(base: CauseClassifier, head: AdaptedHead, version: str) -> CauseClassifier:
    """The base classifier's body and n-grams with the adapted head, stamped ``version``."""
    clf = CauseClassifier(base.encoder, head, combine=base.combine, char=base.char,
                          backend=getattr(base, "backend_", None), version=version)
    return clf


def adapted_version(base_version: str, organisation_id: int, data: bytes) -> str:
    """``<base version>+org<id>:<hash of the correction>``: what a comment's label came from."""
    return f"{base_version}+org{organisation_id}:{hashlib.sha256(data).hexdigest()[:8]}"


# -- measuring it ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figures:
    """Cross-validated accuracy on a client's reviewed comments, base model against adapted."""

    n: int
    folds: int
    base_accuracy: float | None
    adapted_accuracy: float | None
    base_macro_f1: float | None
    adapted_macro_f1: float | None

    @property
    def measured(self) -> bool:
        """False when there were too few reviewed comments to measure anything."""
        return self.adapted_accuracy is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"n": self.n, "folds": self.folds, "base_accuracy": self.base_accuracy,
                "adapted_accuracy": self.adapted_accuracy, "base_macro_f1": self.base_macro_f1,
                "adapted_macro_f1": self.adapted_macro_f1}


def _folds(y: np.ndarray, k: int, seed: int):
    counts = np.unique(y, return_counts=True)[1]
    if counts.min() >= k:
        return StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
    return KFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)))


def cross_validate(base: CauseHead, X: Any, y: Any, weights: Any = None, evaluate: Any = None,
                   C: float = DEFAULT_C, folds: int = 5, seed: int = 0) -> tuple[Figures, np.ndarray | None]:
    """K-fold figures on the examples marked ``evaluate`` (the reviewed ones: weak self-labels
    train but are never scored), and the out-of-fold adapted probabilities of those examples.
    Every fold trains on all examples outside it."""
    X = sp.csr_matrix(X, dtype=np.float64)
    y = np.asarray(y).astype(str)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    scored = np.ones(len(y), bool) if evaluate is None else np.asarray(evaluate, bool)
    idx = np.flatnonzero(scored)
    n = len(idx)
    if n < MIN_TO_MEASURE:
        return Figures(n, 0, None, None, None, None), None
    k = min(folds, n)
    classes = [str(c) for c in base.classes_]
    base_pred = np.asarray(base.predict(X[idx])).astype(str)
    oof = np.zeros((n, len(classes)))
    others = np.flatnonzero(~scored)
    for train, test in _folds(y[idx], k, seed):
        rows = np.concatenate([idx[train], others])
        head = AdaptedHead(base=base, C=C).fit(X[rows], y[rows], w[rows])
        oof[test] = head.predict_proba(X[idx[test]])
    adapted_pred = np.asarray(classes)[oof.argmax(axis=1)]
    truth = y[idx]

    def f1(pred: np.ndarray) -> float:
        present = [c for c in classes if c in set(truth)]  # a cause nobody reviewed is not scored
        return round(float(f1_score(truth, pred, labels=present, average="macro", zero_division=0)), 4)

    figures = Figures(n, k, round(float((base_pred == truth).mean()), 4),
                      round(float((adapted_pred == truth).mean()), 4), f1(base_pred), f1(adapted_pred))
    return figures, oof
