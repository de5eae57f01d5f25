"""Corrected cause shares (PACC): the inversion is exact, the correction undoes a known bias,
intervals carry both sources of error, and human corrections count as certain."""

from __future__ import annotations

import numpy as np
import pytest

from diagnosis.recommend.quantify import ErrorModel, estimate, solve, solve_many

LABELS = ("purpose", "leadership", "support", "other")

# How a classifier that lets `purpose` absorb a third of the rest reads each true label.
BIASED = np.array([
    [0.85, 0.05, 0.05, 0.05],
    [0.33, 0.57, 0.05, 0.05],
    [0.33, 0.05, 0.57, 0.05],
    [0.33, 0.05, 0.05, 0.57],
])


def _posteriors(truth: np.ndarray, rng: np.random.Generator, matrix: np.ndarray = BIASED) -> np.ndarray:
    """Noisy posteriors whose mean per true label is that label's row of ``matrix``."""
    out = np.array([rng.dirichlet(matrix[t] * 20) for t in truth])
    return out / out.sum(axis=1, keepdims=True)


def _error_model(rng: np.random.Generator, per_label: int = 250) -> ErrorModel:
    truth = np.repeat(np.arange(4), per_label)
    return ErrorModel(LABELS, _posteriors(truth, rng), truth, "synthetic")


def test_solve_inverts_the_error_matrix_exactly():
    p = np.array([0.1, 0.5, 0.3, 0.1])
    np.testing.assert_allclose(solve(BIASED.T @ p, BIASED), p, atol=1e-9)


def test_solve_stays_on_the_simplex_when_the_mean_is_outside_the_image():
    # a campaign that looks "more purpose than pure purpose" cannot give negative shares
    p = solve(np.array([0.97, 0.01, 0.01, 0.01]), BIASED)
    assert (p >= 0).all() and p.sum() == pytest.approx(1.0)
    assert p[0] == pytest.approx(1.0, abs=1e-6)


def test_batched_active_set_solver_matches_a_generic_nnls():
    from scipy.optimize import nnls

    rng = np.random.default_rng(0)
    mats = rng.dirichlet(np.ones(4) * 2, size=(100, 4))
    qs = rng.dirichlet(np.ones(4), size=100)
    got = solve_many(qs, mats)
    for m, q, p in zip(mats, qs, got, strict=True):
        ref, _ = nnls(np.vstack([m.T, 1e4 * np.ones((1, 4))]), np.r_[q, 1e4])
        ref /= ref.sum()
        loss = lambda x: float(((m.T @ x - q) ** 2).sum())  # noqa: B023, E731
        assert loss(p) <= loss(ref) + 1e-9
        assert p.min() >= 0 and p.sum() == pytest.approx(1.0)


def test_error_model_matrix_is_mean_posterior_per_true_label():
    em = ErrorModel(LABELS, np.array([[0.6, 0.2, 0.1, 0.1], [0.2, 0.6, 0.1, 0.1], [0.4, 0.4, 0.1, 0.1]]),
                    np.array([0, 1, 1]))
    m = em.matrix()
    np.testing.assert_allclose(m[1], [0.3, 0.5, 0.1, 0.1])
    np.testing.assert_allclose(m[2], np.eye(4)[2])  # no support answers: identity row
    rows = em.stratified_resample(np.random.default_rng(0))
    assert sorted(em.truth[rows].tolist()) == [0, 1, 1]


def test_correction_recovers_a_planted_cause_that_counting_hides():
    rng = np.random.default_rng(7)
    em = _error_model(rng)
    true_shares = np.array([0.2, 0.2, 0.5, 0.1])  # support planted at half
    truth = rng.choice(4, size=400, p=true_shares)
    post = _posteriors(truth, rng)
    est = estimate(post, np.ones(len(post)), np.zeros(0, dtype=int), em, n_boot=200, seed=1)
    # counting the argmax inflates purpose; the estimate brings it back
    assert est.share_raw[0] > true_shares[0] + 0.05
    assert abs(est.share[0] - true_shares[0]) < 0.04
    assert abs(est.of("support") - 0.5) < 0.07
    assert np.abs(est.share - true_shares).sum() < np.abs(est.share_raw - true_shares).sum() / 2
    lo, hi = est.interval[2]
    assert lo <= 0.5 <= hi
    assert est.share.sum() == pytest.approx(1.0)
    assert est.summary()["error_model"] == {"source": "synthetic", "n": 1000}


def test_intervals_carry_the_error_models_uncertainty_and_the_sampling_error():
    rng = np.random.default_rng(3)
    truth = rng.choice(4, size=2000, p=[0.2, 0.2, 0.4, 0.2])
    post = _posteriors(truth, rng)
    w = np.ones(len(post))
    none = np.zeros(0, dtype=int)

    def width(e):
        return float((e.interval[:, 1] - e.interval[:, 0]).mean())

    big, small = _error_model(rng, 400), _error_model(rng, 10)
    # many comments: what is left of the width is mostly the error model's own uncertainty
    assert width(estimate(post, w, none, small, n_boot=200, seed=0)) > 1.5 * width(
        estimate(post, w, none, big, n_boot=200, seed=0))
    # few comments: the sampling error dominates
    assert width(estimate(post[:40], w[:40], none, big, n_boot=200, seed=0)) > 2 * width(
        estimate(post, w, none, big, n_boot=200, seed=0))


def test_corrected_comments_are_counted_as_certain_and_the_estimate_is_deterministic():
    rng = np.random.default_rng(5)
    em = _error_model(rng)
    known = np.array([1, 1, 1, 1])  # four comments a DX lead corrected to leadership
    est = estimate(np.zeros((0, 4)), np.ones(4), known, em, n_boot=50, seed=2)
    np.testing.assert_allclose(est.share, [0, 1, 0, 0])
    np.testing.assert_allclose(est.share_raw, [0, 1, 0, 0])
    assert est.n == 4 and est.n_corrected == 4
    truth = rng.choice(4, size=40)
    post = _posteriors(truth, rng)
    a = estimate(post, np.ones(44), known, em, n_boot=80, seed=9)
    b = estimate(post, np.ones(44), known, em, n_boot=80, seed=9)
    np.testing.assert_array_equal(a.samples, b.samples)
    # the machine part's estimate, scaled to 40 of 44, plus the four certain leadership comments
    machine = estimate(post, np.ones(40), np.zeros(0, dtype=int), em, n_boot=0)
    np.testing.assert_allclose(a.share, (40 * machine.share + 4 * np.eye(4)[1]) / 44)


def test_weights_count_interview_sentences_less():
    em = ErrorModel(LABELS, np.eye(4), np.arange(4))  # a perfect classifier
    post = np.array([np.eye(4)[0], np.eye(4)[2]])
    est = estimate(post, np.array([1.0, 0.25]), np.zeros(0, dtype=int), em, n_boot=0)
    np.testing.assert_allclose(est.share, [0.8, 0, 0.2, 0], atol=1e-9)


# -- in the diagnosis ---------------------------------------------------------------------------------
def _campaign(truth: np.ndarray, post: np.ndarray, corrected: dict[int, str] | None = None):
    """A campaign with neutral Likert answers: only the comments can decide."""
    import datetime as dt

    from diagnosis.recommend.data import CampaignData, Evidence, LikertSpec, OrgContext, ResponseData

    specs = tuple(LikertSpec(f"{c}_q", c) for c in ("purpose", "leadership", "support"))
    responses = tuple(ResponseData(i, {s.id: 3 for s in specs}) for i in range(len(truth)))
    evidence = []
    for i, p in enumerate(post):
        label = LABELS[int(p.argmax())]
        fixed = (corrected or {}).get(i)
        evidence.append(Evidence(i, f"comment {i}", fixed or label, 1.0 if fixed else float(p.max()),
                                 response_id=i, corrected=fixed is not None,
                                 scores=dict(zip(LABELS, map(float, p), strict=True))))
    return CampaignData(1, "q", "q", 1, "ai-adoption", 1, OrgContext(200, None, dt.date(2026, 11, 1)),
                        specs, responses, tuple(evidence))


def test_diagnosis_names_the_planted_cause_that_counting_calls_mixed():
    from diagnosis.recommend.service import diagnose

    rng = np.random.default_rng(11)
    em = _error_model(rng)
    truth = np.repeat([2, 0, 1, 3], [60, 20, 20, 20])  # support planted at half of 120
    post = _posteriors(truth, rng)
    counted = diagnose(_campaign(truth, post), "en").to_dict()
    corrected = diagnose(_campaign(truth, post), "en", error_model=em).to_dict()
    assert counted["dominant_cause"] != "support"  # purpose's absorption hides it
    assert counted["quantification"]["method"] == "count"
    assert corrected["dominant_cause"] == "support"
    assert corrected["start_with"] != counted["start_with"] or counted["dominant_cause"] == "mixed"
    sup = corrected["causes"]["support"]
    assert sup["share"] > sup["share_raw"]
    assert sup["share_interval"][0] <= 0.5 <= sup["share_interval"][1]
    assert corrected["causes"]["purpose"]["share"] < corrected["causes"]["purpose"]["share_raw"]
    q = corrected["quantification"]
    assert q["method"] == "pacc" and q["error_model"] == {"source": "synthetic", "n": 1000}
    assert q["comments"] == 120
    assert any("Corrected for the classifier's known errors" in f for f in corrected["findings"])


def test_even_mix_stays_mixed_and_corrections_count_as_certain():
    from diagnosis.recommend.service import diagnose

    rng = np.random.default_rng(12)
    em = _error_model(rng)
    truth = np.repeat([0, 1, 2, 3], 12)
    post = _posteriors(truth, rng)
    d = diagnose(_campaign(truth, post), "en", error_model=em).to_dict()
    assert d["dominant_cause"] == "mixed"
    # a DX lead corrects every leadership comment's label: those 12 are now exact
    fixed = {i: "leadership" for i in range(12, 24)}
    d2 = diagnose(_campaign(truth, post, fixed), "en", error_model=em).to_dict()
    assert d2["quantification"]["corrected_comments"] == 12
    assert d2["causes"]["leadership"]["share"] >= 0.25 - 1e-9
