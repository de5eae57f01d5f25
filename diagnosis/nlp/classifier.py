"""Cause classifier: sentence embeddings + one-vs-rest logistic regression, calibrated on folds.

Two layers:

- :class:`CauseHead` is a scikit-learn estimator on embedding vectors. One-vs-rest logistic
  regression; each class's decision score is Platt-scaled on out-of-fold scores (stratified
  k-fold), the per-class probabilities are normalised to sum to 1, and an ``unclear`` threshold
  is fitted on the same out-of-fold predictions (see :func:`fit_unclear_threshold`).
- :class:`CauseClassifier` joins an embedding backend and a head: it splits an answer into
  sentences, classifies each and combines them (strategy chosen by cross-validation, see
  ``teichaku evaluate``).

Persistence is pickle-free: arrays in ``.npz`` (loaded with ``allow_pickle=False``) plus JSON.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import normalize as normalize_rows
from sklearn.utils import column_or_1d
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from diagnosis.nlp.embeddings import encode_answers
from diagnosis.nlp.labels import LABELS, UNCLEAR
from diagnosis.nlp.text import normalize, split_sentences

COMBINE_STRATEGIES = ("whole", "mean", "length", "max", "whole+length")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def fit_unclear_threshold(confidence: np.ndarray, correct: np.ndarray, n_classes: int) -> float:
    """Confidence below which the top label is more likely wrong than right (on OOF data).

    A 1-D logistic regression of "prediction was correct" on the top calibrated probability,
    fitted on out-of-fold predictions; the threshold is where it crosses 0.5. Clipped to
    [1/K, 0.9] so that it never fires on everything or never fires at all by construction.
    """
    lo, hi = 1.0 / n_classes, 0.9
    if correct.all() or not correct.any():
        return lo
    lr = LogisticRegression(C=1e4, max_iter=1000).fit(confidence.reshape(-1, 1), correct.astype(int))
    a, b = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    if a <= 0:
        return lo
    return float(np.clip(-b / a, lo, hi))


def _char_wb_grams(text: str) -> list[str]:
    """Character 1-3-grams inside space-padded words, as scikit-learn's ``char_wb`` makes them."""
    out: list[str] = []
    for word in text.split():
        w = f" {word} "
        out.extend(w)
        out.extend([w[i : i + 2] for i in range(len(w) - 1)])
        out.extend([w[i : i + 3] for i in range(len(w) - 2)])
    return out


class CharNgrams:
    """TF-IDF character 1-3-grams (word-bounded), stored pickle-free as terms + idf arrays.

    Appended to the sentence embedding as extra features: the corpus's short Japanese answers
    hinge on words (研修, 上司, 使い道) that char n-grams catch and embeddings sometimes blur.
    Fitting uses scikit-learn's ``TfidfVectorizer``; transforming counts n-grams with
    :class:`collections.Counter` (same matrix, several times faster), and a multi-sentence
    answer's counts are the sum of its sentences' (:meth:`counts` / :meth:`weigh`), since
    joining sentences with a space never creates an n-gram across them.
    """

    def __init__(self) -> None:
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)

    def fit(self, texts: list[str]) -> CharNgrams:
        """Learn the vocabulary and idf from training texts."""
        self.vectorizer.fit([normalize(t) for t in texts])
        return self

    def counts(self, texts: list[str]) -> sp.csr_matrix:
        """Raw in-vocabulary n-gram counts, one row per text."""
        vocab = self.vectorizer.vocabulary_
        indptr, indices, data = [0], [], []
        for text in texts:
            for gram, k in Counter(_char_wb_grams(normalize(text).lower())).items():
                j = vocab.get(gram)
                if j is not None:
                    indices.append(j)
                    data.append(k)
            indptr.append(len(indices))
        shape = (len(texts), len(vocab))
        return sp.csr_matrix((np.asarray(data, dtype=np.float64), indices, indptr), shape=shape)

    def weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Sublinear tf x idf, rows L2-normalised (the vectorizer's own weighting)."""
        out = counts.astype(np.float64, copy=True)
        np.log(out.data, out=out.data)
        out.data += 1.0
        out = out @ sp.diags(self.vectorizer.idf_)
        return normalize_rows(out.tocsr())

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        """L2-normalised tf-idf rows."""
        return self.weigh(self.counts(texts))

    def arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays for an .npz file."""
        terms = self.vectorizer.get_feature_names_out().astype(str)
        return {"char_terms": terms, "char_idf": self.vectorizer.idf_}

    @classmethod
    def from_arrays(cls, terms: np.ndarray, idf: np.ndarray) -> CharNgrams:
        """Rebuild from :meth:`arrays` output."""
        out = cls()
        out.vectorizer = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(1, 3),
            sublinear_tf=True,
            vocabulary={str(t): i for i, t in enumerate(terms)},
        )
        out.vectorizer.idf_ = idf
        return out


def build_features(embeddings: np.ndarray, texts: list[str], char: CharNgrams | None, counts: Any = None) -> Any:
    """The head's input: the embedding, plus char n-gram tf-idf columns when enabled.

    ``counts`` (from :meth:`CharNgrams.counts`) saves recounting when the caller has them.
    """
    if char is None:
        return embeddings
    tfidf = char.weigh(counts) if counts is not None else char.transform(texts)
    return sp.hstack([sp.csr_matrix(embeddings), tfidf], format="csr")


HEAD_FORMAT = 2  # rows in sorted class order, library versions stamped; format 1 rows were in LABELS order


def decide(proba: np.ndarray, labels: Any, threshold: float) -> list[str]:
    """Top label per row (columns in ``labels`` order), or ``unclear`` when its probability is
    below ``threshold``: the product's decision, made by the classifier wrapper, not the head."""
    top = proba.argmax(axis=1)
    conf = proba[np.arange(len(proba)), top]
    return [str(labels[t]) if c >= threshold else UNCLEAR for t, c in zip(top, conf, strict=True)]


class CauseHead(ClassifierMixin, BaseEstimator):
    """One-vs-rest logistic regression on embeddings, Platt-calibrated on out-of-fold scores.

    A scikit-learn classifier (it passes ``parametrize_with_checks``): ``classes_`` is sorted
    (``np.unique(y)``), and ``predict_proba``'s columns follow it; the classifier wrapper maps
    them to the display order (:data:`LABELS`). ``threshold_`` is the fitted unclear threshold,
    applied by the wrapper (:func:`decide`)."""

    def __init__(
        self,
        C: float = 4.0,
        cv: int = 5,
        class_weight: str | dict | None = "balanced",
        random_state: int | None = 0,
    ) -> None:
        self.C = C
        self.cv = cv
        self.class_weight = class_weight
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # embeddings with char n-gram columns come as CSR
        return tags

    # -- fitting -----------------------------------------------------------------------------
    def _validate_y(self, y: Any) -> np.ndarray:
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        return y

    def _sample_weight(self, y: np.ndarray) -> np.ndarray | None:
        """Per-sample weights of a dict ``class_weight`` (None for "balanced" or no weights)."""
        if not isinstance(self.class_weight, dict):
            return None
        return np.array([float(self.class_weight.get(v, 1.0)) for v in y])

    def fit_linear(self, X: Any, y: Any, classes: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """The one-vs-rest linear layer alone (coefficients and intercepts, one row per class of
        ``classes``; by default ``classes_`` once fitted, else the sorted labels of ``y``): no
        calibration and no threshold, for model selection (``teichaku evaluate``) and the folds
        of :meth:`fit`. Does not fit the estimator."""
        y = np.asarray(y)
        if classes is None:
            classes = self.classes_ if hasattr(self, "classes_") else np.unique(y)
        # "balanced" weighs each binary problem (the class against the rest); a dict of per-class
        # weights becomes per-sample weights, the same in every binary problem.
        binary_weight = self.class_weight if self.class_weight in (None, "balanced") else None
        sample_weight = self._sample_weight(y)
        coef = np.zeros((len(classes), X.shape[1]))
        intercept = np.zeros(len(classes))
        for k, cls in enumerate(classes):
            lr = LogisticRegression(C=self.C, class_weight=binary_weight, max_iter=2000,
                                    random_state=self.random_state)
            lr.fit(X, (y == cls).astype(int), sample_weight=sample_weight)
            coef[k], intercept[k] = lr.coef_[0], lr.intercept_[0]
        return coef, intercept

    def fit(self, X: Any, y: Any) -> CauseHead:
        """Fit the OvR head on all data, Platt scaling and unclear threshold on CV folds."""
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=np.float64)
        y = self._validate_y(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"needs samples of at least 2 classes; got 1 class ({self.classes_[0]})")
        self.coef_, self.intercept_ = self.fit_linear(X, y)

        folds = StratifiedKFold(n_splits=self.cv, shuffle=True, random_state=self.random_state)
        oof = np.zeros((len(y), len(self.classes_)))
        for train_idx, test_idx in folds.split(X, y):
            coef, intercept = self.fit_linear(X[train_idx], y[train_idx])
            oof[test_idx] = np.asarray(X[test_idx] @ coef.T) + intercept
        return self.calibrate(oof, y)

    @classmethod
    def from_linear(cls, coef: np.ndarray, intercept: np.ndarray, oof_scores: np.ndarray, y: Any,
                    labels: Any = LABELS) -> CauseHead:
        """A head whose linear layer was trained elsewhere (e.g. jointly with a fine-tuned body),
        its rows and score columns in ``labels`` order.

        ``oof_scores`` are that layer's scores for answers its training never saw (cross-fitting);
        Platt scaling and the unclear threshold are fitted on them, as :meth:`fit` does on folds.
        """
        order = np.argsort(np.asarray(labels, dtype=object).astype(str), kind="stable")
        head = cls(C=float("nan"))
        head.classes_ = np.asarray(labels, dtype=object)[order]
        head.coef_ = np.asarray(coef, dtype=np.float64)[order]
        head.intercept_ = np.asarray(intercept, dtype=np.float64)[order]
        head.n_features_in_ = head.coef_.shape[1]
        return head.calibrate(np.asarray(oof_scores, dtype=np.float64)[:, order], np.asarray(y))

    def calibrate(self, oof: np.ndarray, y: np.ndarray) -> CauseHead:
        """Per-class Platt scaling and the unclear threshold, from out-of-fold decision scores."""
        self.platt_ = np.zeros((len(self.classes_), 2))
        weight = self._sample_weight(y)  # a dict class_weight weighs the calibration too
        for k, cls in enumerate(self.classes_):
            platt = LogisticRegression(C=1e4, max_iter=1000)
            platt.fit(oof[:, [k]], (y == cls).astype(int), sample_weight=weight)
            self.platt_[k] = platt.coef_[0, 0], platt.intercept_[0]
        self.oof_proba_ = self._calibrate(oof)
        pred = self.classes_[self.oof_proba_.argmax(axis=1)]
        self.threshold_ = fit_unclear_threshold(self.oof_proba_.max(axis=1), pred == y, len(self.classes_))
        return self

    # -- inference ---------------------------------------------------------------------------
    def _calibrate(self, scores: np.ndarray) -> np.ndarray:
        p = _sigmoid(scores * self.platt_[:, 0] + self.platt_[:, 1])
        return p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)

    def linear_scores(self, X: Any) -> np.ndarray:
        """Raw one-vs-rest scores before calibration, columns in ``classes_`` order."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=False)
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probabilities, columns in ``classes_`` order, rows summing to 1."""
        return self._calibrate(self.linear_scores(X))

    def decision_function(self, X: Any) -> np.ndarray:
        """Log calibrated probabilities (their argmax is :meth:`predict`'s); for two classes the
        log-odds of ``classes_[1]``, as scikit-learn expects of a binary classifier."""
        logp = np.log(np.clip(self.predict_proba(X), 1e-300, None))
        return logp[:, 1] - logp[:, 0] if len(self.classes_) == 2 else logp

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class per row (never ``unclear``: that is the wrapper's :func:`decide`)."""
        check_is_fitted(self)
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    # -- persistence (no pickle) -------------------------------------------------------------
    def save(self, path: str | Path, char: CharNgrams | None = None) -> None:
        """Write the learned state (and the char n-gram vocabulary, if any) to an .npz file,
        stamped with its format and the library versions that made it."""
        extra = char.arrays() if char is not None else {}
        np.savez(
            path,
            **extra,
            classes=self.classes_.astype(str),
            coef=self.coef_,
            intercept=self.intercept_,
            platt=self.platt_,
            threshold=np.array([self.threshold_]),
            params=np.array(json.dumps(self.get_params())),
            versions=np.array(json.dumps(artefact_versions())),
        )

    @classmethod
    def load(cls, path: str | Path, models_dir: str | Path) -> CauseHead:
        """Load a head saved by :meth:`save`; refuses files outside ``models_dir`` and a format
        it does not know. A format-1 head (rows in the display order of its time) is reordered."""
        path = safe_model_path(path, models_dir)
        with np.load(path, allow_pickle=False) as z:
            versions = json.loads(str(z["versions"])) if "versions" in z else {"format": 1}
            check_versions(versions, path)
            params = json.loads(str(z["params"]))
            params.pop("labels", None)  # format 1 fixed the label order in a parameter
            head = cls(**params)
            classes = z["classes"].astype(str)
            order = np.argsort(classes, kind="stable")
            head.classes_ = classes[order].astype(object)
            head.coef_ = z["coef"][order]
            head.intercept_ = z["intercept"][order]
            head.platt_ = z["platt"][order]
            head.threshold_ = float(z["threshold"][0])
            head.n_features_in_ = head.coef_.shape[1]
        return head


def artefact_versions() -> dict[str, Any]:
    """What a saved model artefact is stamped with: its format and the libraries that made it."""
    import sklearn

    return {"format": HEAD_FORMAT, "numpy": np.__version__, "scikit-learn": sklearn.__version__}


def check_versions(versions: dict[str, Any], path: Any) -> None:
    """Refuse an artefact of an unknown format; warn when the libraries' major.minor differ
    (the arrays still load without pickle, but the numbers were made by another release)."""
    import logging

    import sklearn

    fmt = int(versions.get("format", 1))
    if fmt not in (1, HEAD_FORMAT):
        raise ValueError(f"{path}: model format {fmt} is newer than this version of Teichaku reads "
                         f"({HEAD_FORMAT}); upgrade Teichaku or retrain (teichaku train)")
    for lib, now in (("numpy", np.__version__), ("scikit-learn", sklearn.__version__)):
        made = versions.get(lib)
        if made and made.split(".")[:2] != now.split(".")[:2]:
            logging.getLogger(__name__).warning(
                "%s was made with %s %s; this process runs %s (retrain with teichaku train if "
                "results look wrong)", path, lib, made, now)


def load_char_ngrams(path: str | Path, models_dir: str | Path) -> CharNgrams | None:
    """The char n-gram vocabulary saved beside a head, or None if the head has none."""
    with np.load(safe_model_path(path, models_dir), allow_pickle=False) as z:
        if "char_terms" not in z:
            return None
        return CharNgrams.from_arrays(z["char_terms"], z["char_idf"])


def safe_model_path(path: str | Path, models_dir: str | Path) -> Path:
    """Resolve path and refuse it unless it lies inside models_dir (symlinks resolved)."""
    root = Path(models_dir).resolve()
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(root):
        raise PermissionError(f"refusing to load {resolved}: outside {root}")
    return resolved


def combine(sentence_proba: np.ndarray, lengths: np.ndarray, whole: np.ndarray | None, strategy: str) -> np.ndarray:
    """Combine per-sentence probabilities of one answer into one distribution."""
    if strategy == "whole" and whole is not None:
        return whole
    weights = lengths / lengths.sum()
    if strategy == "mean":
        out = sentence_proba.mean(axis=0)
    elif strategy == "max":
        out = sentence_proba.max(axis=0)
        out = out / out.sum()
    else:  # "length" and the sentence half of "whole+length"
        out = weights @ sentence_proba
    if strategy == "whole+length" and whole is not None:
        out = (out + whole) / 2
    return out


# -- product-facing results ------------------------------------------------------------------
@dataclass(frozen=True)
class SentenceResult:
    """Classification of one sentence of an answer."""

    text: str
    label: str
    scores: dict[str, float]
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"text": self.text, "label": self.label, "scores": self.scores}


@dataclass(frozen=True)
class Classification:
    """Classification of one answer: primary label (or ``unclear``), scores and sentences."""

    text: str
    label: str
    scores: dict[str, float]
    confidence: float
    sentences: tuple[SentenceResult, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict in the CLI's output format."""
        return {
            "text": self.text,
            "label": self.label,
            "scores": self.scores,
            "confidence": self.confidence,
            "sentences": [s.to_dict() for s in self.sentences],
        }


class CauseClassifier:
    """An embedding backend plus a :class:`CauseHead`: classifies answers of any length."""

    def __init__(self, encoder: Any, head: CauseHead, combine: str = "whole", char: CharNgrams | None = None,
                 backend: str | None = None, version: str | None = None) -> None:
        self.encoder = encoder
        self.head = head
        self.combine = combine
        self.char = char
        self.backend_ = backend  # the embedding backend's name
        self.version_ = version  # what is stamped on the comments it labels
        # The display order: the product's labels first, in LABELS order, then any others.
        classes = [str(c) for c in head.classes_]
        self.labels_ = [c for c in LABELS if c in classes] + [c for c in classes if c not in LABELS]
        self._columns = np.array([classes.index(c) for c in self.labels_])

    def _proba(self, X: Any) -> np.ndarray:
        """The head's probabilities with columns in display order (``labels_``)."""
        return self.head.predict_proba(X)[:, self._columns]

    def _decide(self, proba: np.ndarray) -> list[str]:
        return decide(proba, self.labels_, self.head.threshold_)

    def _scores(self, proba: np.ndarray) -> dict[str, float]:
        return {c: round(float(p), 4) for c, p in zip(self.labels_, proba, strict=True)}

    def classify(self, texts: list[str]) -> list[Classification]:
        """Classify answers: split into sentences, embed them in one pass, combine.

        Every sentence is classified (and returned); a multi-sentence answer's label comes from
        the combination strategy, which may also classify the whole answer's vector.
        """
        split = [split_sentences(t) for t in texts]
        flat = [s for parts in split for s in parts]
        n_classes = len(self.labels_)
        if not flat:
            sent_vecs, whole_vecs, counts = np.zeros((0, 0)), np.zeros((len(split), 0)), None
            proba = np.zeros((0, n_classes))
        else:
            sent_vecs, whole_vecs = encode_answers(self.encoder, split)
            counts = self.char.counts(flat) if self.char is not None else None
            proba = self._proba(build_features(sent_vecs, flat, self.char, counts))
        labels = self._decide(proba) if flat else []
        multi = [i for i, parts in enumerate(split) if len(parts) > 1]
        whole_proba: dict[int, np.ndarray] = {}
        if multi and self.combine in ("whole", "whole+length"):
            joined = [" ".join(split[i]) for i in multi]
            if counts is not None:  # an answer's n-gram counts are its sentences' summed
                owner = np.repeat(np.arange(len(split)), [len(p) for p in split])  # answer of each sentence
                cells = (np.ones(len(flat)), (owner, np.arange(len(flat))))
                by_answer = sp.csr_matrix(cells, shape=(len(split), len(flat)))
                counts = by_answer[multi] @ counts
            wp = self._proba(build_features(whole_vecs[multi], joined, self.char, counts))
            whole_proba = dict(zip(multi, wp, strict=True))
        out: list[Classification] = []
        first = 0
        for i, (text, sentences) in enumerate(zip(texts, split, strict=True)):
            n = len(sentences)
            if n == 0:
                uniform = {c: round(1 / n_classes, 4) for c in self.labels_}
                out.append(Classification(text, UNCLEAR, uniform, 0.0, ()))
                continue
            sent_results = tuple(
                SentenceResult(
                    sentences[j],
                    labels[first + j],
                    self._scores(proba[first + j]),
                    round(float(proba[first + j].max()), 4),
                )
                for j in range(n)
            )
            if n == 1:
                p = proba[first]
            else:
                lengths = np.array([len(s) for s in sentences], dtype=float)
                p = combine(proba[first : first + n], lengths, whole_proba.get(i), self.combine)
            first += n
            label = self._decide(p[None, :])[0]
            out.append(Classification(text, label, self._scores(p), round(float(p.max()), 4), sent_results))
        return out

    def predict_proba(self, texts: str | list[str]) -> np.ndarray:
        """Combined probabilities per answer (a string or a list), columns in ``labels_`` order."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        rows = self.classify(texts)
        return np.array([[r.scores[c] for c in self.labels_] for r in rows])

    def predict(self, texts: str | list[str]) -> list[str]:
        """Primary label (or ``unclear``) per answer."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        return [r.label for r in self.classify(texts)]


def embed_texts(encoder: Any, texts: list[str]) -> np.ndarray:
    """Whole-answer vectors of training texts, computed exactly as :meth:`CauseClassifier.classify` does."""
    return encode_answers(encoder, [split_sentences(t) for t in texts])[1]
