"""Cause shares corrected for classifier error ("quantification", not classification).

A campaign needs the share of each cause among its comments, not the label of each comment.
Counting predicted labels ("classify and count") carries every systematic error of the classifier
straight into the shares: if 30 % of support comments are read as purpose, purpose grows and
support shrinks. The classic fix (Forman 2008; Bella et al. 2010; Hopkins & King 2010) measures the
error and inverts it:

- **Error model.** On a labelled set the classifier never trained on (the wild evaluation set,
  written to be hard), ``M[j, i]`` is the mean calibrated probability the classifier gives label
  ``i`` to an answer whose true label is ``j``.
- **Probabilistic adjusted classify and count (PACC).** The campaign's mean posterior ``q`` is, in
  expectation, ``M.T @ p`` for the true shares ``p``; ``p`` is the point of the probability simplex
  whose image is closest to ``q`` (non-negative least squares with the sum-to-one row weighted
  heavily). Human-corrected comments are known exactly and are added as they are.
- **Uncertainty.** A bootstrap resamples the campaign's comments *and* the error-model set
  (stratified by true label), so each share's interval carries both the sampling error and the
  error model's own uncertainty. The dominance test uses the bootstrap distribution of the
  difference between the top two causes.

Plain numpy, deterministic for a seed, and vectorised over the bootstrap (a 48-comment campaign
with 400 resamples takes a few milliseconds). QuaPy (Moreo, Esuli, Sebastiani) implements PACC
too, but it wants to fit (or wrap) the classifier itself, while here the classifier is already
trained and calibrated and its probabilities on the error-model set are stored; what is left is a
mean, a 4×4 matrix and a small simplex-constrained least-squares problem, which does not justify
a dependency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

METHOD = "pacc"
METHOD_NAME = "probabilistic adjusted classify-and-count (PACC)"
N_BOOT = 400
_SUM_WEIGHT = 1e3


@dataclass(frozen=True)
class ErrorModel:
    """Calibrated posteriors of the deployed classifier on a labelled set it never trained on."""

    labels: tuple[str, ...]
    posteriors: np.ndarray  # (m, K), rows sum to 1, columns in ``labels`` order
    truth: np.ndarray  # (m,) int indices into ``labels``
    source: str = ""

    @property
    def n(self) -> int:
        """Size of the error-model set."""
        return len(self.truth)

    def matrix(self, rows: np.ndarray | None = None) -> np.ndarray:
        """``M[j, i]``: mean posterior of label i over the (selected) answers of true label j."""
        post = self.posteriors if rows is None else self.posteriors[rows]
        truth = self.truth if rows is None else self.truth[rows]
        k = len(self.labels)
        out = np.eye(k)
        for j in range(k):
            mask = truth == j
            if mask.any():
                out[j] = post[mask].mean(axis=0)
        return out

    def bootstrap_matrices(self, n_boot: int, seed: int = 0) -> np.ndarray:
        """``n_boot`` error matrices from stratified resamples of the set, computed once per
        (n_boot, seed) and shared by every group a diagnosis estimates."""
        cache = self.__dict__.setdefault("_boot_cache", {})
        key = (n_boot, seed)
        if key not in cache:
            rng = np.random.default_rng([seed, 1])
            cache[key] = np.stack([self.matrix(self.stratified_resample(rng)) for _ in range(n_boot)]) \
                if n_boot else np.zeros((0, len(self.labels), len(self.labels)))
        return cache[key]

    def stratified_resample(self, rng: np.random.Generator) -> np.ndarray:
        """Row indices of a bootstrap resample that keeps each true label's count."""
        parts = []
        for j in range(len(self.labels)):
            idx = np.flatnonzero(self.truth == j)
            if len(idx):
                parts.append(rng.choice(idx, size=len(idx), replace=True))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=int)


def solve_many(q: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """For each row b, the shares ``p`` on the probability simplex minimising ``|M_b.T p - q_b|``.

    ``q`` is (B, K), ``matrices`` (B, K, K) or one (K, K) for all rows. The problem is a small convex
    quadratic programme, solved exactly by its active sets: for every non-empty support S the
    equality-constrained least squares (sum of p_S = 1) has a closed form; the best candidate with
    no negative share is the optimum. With K = 4 that is 15 small linear solves, batched over B.
    """
    q = np.atleast_2d(np.asarray(q, dtype=float))
    n, k = q.shape
    mats = np.broadcast_to(np.asarray(matrices, dtype=float), (n, k, k))
    a = np.transpose(mats, (0, 2, 1))  # a[b] = M_b.T, so that a[b] @ p = expected mean posterior
    best = np.full((n, k), 1.0 / k)
    best_loss = np.full(n, np.inf)
    for mask in range(1, 2**k):
        cols = [i for i in range(k) if mask >> i & 1]
        m = len(cols)
        a_s = a[:, :, cols]  # (B, K, m)
        kkt = np.zeros((n, m + 1, m + 1))
        kkt[:, :m, :m] = 2 * np.einsum("bki,bkj->bij", a_s, a_s) + 1e-12 * np.eye(m)
        kkt[:, :m, m] = 1.0
        kkt[:, m, :m] = 1.0
        rhs = np.zeros((n, m + 1))
        rhs[:, :m] = 2 * np.einsum("bki,bk->bi", a_s, q)
        rhs[:, m] = 1.0
        sol = np.linalg.solve(kkt, rhs[..., None])[..., 0][:, :m]
        p = np.zeros((n, k))
        p[:, cols] = sol
        feasible = (sol >= -1e-10).all(axis=1)
        loss = ((np.einsum("bkj,bj->bk", a, p) - q) ** 2).sum(axis=1)
        better = feasible & (loss < best_loss - 1e-15)
        best[better] = p[better]
        best_loss[better] = loss[better]
    best = np.clip(best, 0.0, None)
    return best / best.sum(axis=1, keepdims=True)


def solve(q: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Shares ``p`` on the simplex minimising ``|M.T p - q|`` (PACC's inversion)."""
    return solve_many(np.asarray(q, dtype=float)[None, :], matrix)[0]


@dataclass
class ShareEstimate:
    """Estimated shares per label with intervals, the raw classify-and-count shares beside them."""

    labels: tuple[str, ...]
    share: np.ndarray
    share_raw: np.ndarray
    interval: np.ndarray  # (K, 2)
    samples: np.ndarray = field(repr=False)  # (B, K) bootstrap shares
    n: int = 0
    n_corrected: int = 0
    method: str = METHOD
    error_model_source: str = ""
    error_model_n: int = 0

    def of(self, label: str) -> float:
        """Estimated share of one label."""
        return float(self.share[self.labels.index(label)])

    def difference_se(self, a: str, b: str) -> float:
        """Bootstrap standard error of share(a) - share(b)."""
        i, j = self.labels.index(a), self.labels.index(b)
        d = self.samples[:, i] - self.samples[:, j]
        return float(d.std(ddof=1)) if len(d) > 1 else 0.0

    def se(self, label: str) -> float:
        """Bootstrap standard error of one share."""
        col = self.samples[:, self.labels.index(label)]
        return float(col.std(ddof=1)) if len(col) > 1 else 0.0

    def summary(self) -> dict[str, Any]:
        """The ``quantification`` block of the diagnosis JSON."""
        return {"method": self.method, "method_name": METHOD_NAME,
                "error_model": {"source": self.error_model_source, "n": self.error_model_n},
                "comments": self.n, "corrected_comments": self.n_corrected,
                "bootstrap": len(self.samples)}


def estimate(
    posteriors: np.ndarray,
    weights: np.ndarray,
    known: np.ndarray,
    error_model: ErrorModel,
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
    level: float = 0.95,
) -> ShareEstimate:
    """Corrected shares of a campaign's comments.

    ``posteriors`` (n, K): calibrated scores of the machine-labelled comments; ``weights`` (n + c,):
    the weight of every comment (machine-labelled first, then corrected); ``known`` (c,): the label
    index of each human-corrected comment, taken as certain.
    """
    k = len(error_model.labels)
    posteriors = np.asarray(posteriors, dtype=float).reshape(-1, k)
    known = np.asarray(known, dtype=int)
    weights = np.asarray(weights, dtype=float)
    n_m, n_c = len(posteriors), len(known)
    w_m, w_c = weights[:n_m], weights[n_m:]
    onehot_m = np.eye(k)[posteriors.argmax(axis=1)] if n_m else np.zeros((0, k))
    onehot_c = np.eye(k)[known] if n_c else np.zeros((0, k))
    rng = np.random.default_rng(seed)

    def shares(c_m: np.ndarray, c_c: np.ndarray, matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Estimated and counted shares for B resamples given as multiplicities (B, n)."""
        wm, wc = c_m * w_m, c_c * w_c
        total_m, total = wm.sum(axis=1), wm.sum(axis=1) + wc.sum(axis=1)
        safe_m = np.where(total_m > 0, total_m, 1.0)[:, None]
        known_part = wc @ onehot_c
        corrected_m = solve_many(wm @ posteriors / safe_m, matrices) * (total_m > 0)[:, None]
        raw_m = wm @ onehot_m / safe_m
        safe = np.where(total > 0, total, 1.0)[:, None]
        est = (total_m[:, None] * corrected_m + known_part) / safe
        raw = (total_m[:, None] * raw_m + known_part) / safe
        empty = total <= 0
        est[empty], raw[empty] = 1.0 / k, 1.0 / k
        return est, raw

    est, raw = shares(np.ones((1, n_m)), np.ones((1, n_c)), error_model.matrix()[None])
    share, share_raw = est[0], raw[0]
    if n_boot:
        c_m = rng.multinomial(n_m, np.full(n_m, 1.0 / n_m), size=n_boot) if n_m else np.zeros((n_boot, 0))
        c_c = rng.multinomial(n_c, np.full(n_c, 1.0 / n_c), size=n_boot) if n_c else np.zeros((n_boot, 0))
        samples = shares(c_m, c_c, error_model.bootstrap_matrices(n_boot, seed))[0]
    else:
        samples = np.zeros((0, k))
    alpha = (1 - level) / 2
    interval = np.quantile(samples, [alpha, 1 - alpha], axis=0).T if n_boot else np.tile([0.0, 1.0], (k, 1))
    return ShareEstimate(tuple(error_model.labels), share, share_raw, interval, samples, n_m + len(known),
                         len(known), METHOD, error_model.source, error_model.n)
