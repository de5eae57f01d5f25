"""The adapted head: the base model exactly when nothing is learned, a client's examples move it,
its bytes round-trip and refuse another base, and the figures are honest about small sets."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from diagnosis.nlp.adapt import MIN_TO_MEASURE, AdaptedHead, cross_validate
from diagnosis.nlp.classifier import CauseHead
from diagnosis.nlp.labels import LABELS


@pytest.fixture(scope="module")
def base():
    """A real CauseHead on synthetic 'embeddings': class k lives around direction k."""
    rng = np.random.default_rng(0)
    centres = np.eye(4, 12) * 3
    y = np.repeat(np.array(LABELS), 60)
    X = centres[np.repeat(np.arange(4), 60)] + rng.normal(size=(240, 12))
    return CauseHead(C=1.0).fit(X, y)


def client_data(n: int, seed: int = 1):
    """A client whose 'jargon' feature 11 means support, though the base has never seen it."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 12)) * 0.3
    X[:, 11] = 4.0
    return X, np.array(["support"] * n)


def test_no_evidence_is_the_base_model(base):
    X, y = client_data(30)
    head = AdaptedHead(base=base, C=1e-9).fit(X, y)
    np.testing.assert_allclose(head.predict_proba(X), base.predict_proba(X), atol=1e-6)
    assert list(head.classes_) == list(base.classes_) and head.threshold_ == base.threshold_


def test_the_clients_examples_move_it_and_only_where_they_have_features(base):
    X, y = client_data(30)
    before = (base.predict(X) == "support").mean()
    head = AdaptedHead(base=base).fit(X, y)
    new_X, _ = client_data(20, seed=2)
    assert (head.predict(new_X) == "support").mean() > max(before, 0.9)
    # weights shrink an example's pull
    weak = AdaptedHead(base=base).fit(X, y, sample_weight=np.full(len(y), 0.05))
    k = list(head.classes_).index("support")
    assert weak.predict_proba(new_X)[:, k].mean() < head.predict_proba(new_X)[:, k].mean()
    # a sparse feature no example has never moves
    Xs = sp.csr_matrix(np.hstack([X, np.zeros((len(X), 3))]))
    sparse_base = CauseHead(C=1.0).fit(np.vstack([np.hstack([X, np.zeros((30, 3))])] * 4 + [np.eye(4, 15)] * 10),
                                       np.array(["support"] * 120 + list(LABELS) * 10))
    sparse_head = AdaptedHead(base=sparse_base).fit(Xs, y)
    assert 14 not in set(sparse_head.cols_)


def test_bytes_round_trip_and_refuse_another_base(base):
    X, y = client_data(30)
    head = AdaptedHead(base=base).fit(X, y)
    data = head.to_bytes("e5-ft:abc")
    again = AdaptedHead.from_bytes(data, base, "e5-ft:abc")
    np.testing.assert_allclose(again.predict_proba(X), head.predict_proba(X), atol=1e-5)
    with pytest.raises(ValueError, match="adapted for e5-ft:abc"):
        AdaptedHead.from_bytes(data, base, "e5-ft:other")
    with pytest.raises(ValueError, match="labels not in"):
        AdaptedHead(base=base).fit(X, np.array(["money"] * len(y)))


def test_figures_need_enough_reviewed_and_ignore_weak_labels(base):
    X, y = client_data(MIN_TO_MEASURE - 1)
    figures, oof = cross_validate(base, X, y)
    assert not figures.measured and figures.n == MIN_TO_MEASURE - 1 and oof is None
    X, y = client_data(40)
    reviewed = np.arange(40) < 25  # 15 weak self-labels train but are never scored
    figures, oof = cross_validate(base, X, y, weights=np.where(reviewed, 1.0, 0.3), evaluate=reviewed)
    assert figures.measured and figures.n == 25 and oof.shape == (25, 4)
    assert figures.adapted_accuracy >= figures.base_accuracy
    assert figures.adapted_accuracy > 0.9
