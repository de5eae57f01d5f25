"""Key-driver analysis: which cause separates the people who use the tool from those who do not.

A cause score says what people complain about. Driver analysis asks a different question: across
respondents, how much of the variation in *use* goes with each cause?

- **Outcome.** The usage funnel as an ordinal score, never 0, tried once 1, monthly 2, weekly 3,
  daily 4, treated as interval. The binary weekly-or-more split was the alternative; it throws away
  the difference between people who never tried the tool and people who dropped it after a try
  (the very drop-off the diagnosis is about), and where only a few use it weekly it leaves almost no
  variance to explain. The ordinal score keeps both, and linear R² on a five-step scale is what the
  survey vendors' "key driver" analyses use too.
- **Predictors, grouped by cause.** Each cause contributes its rated-question problem level per
  respondent (100 minus the 0-100 Likert scale) and, when enough respondents wrote a comment, a 0/1
  "their comment names this cause" column. The two columns of a cause form one predictor *set*.
- **Importance.** The Shapley value of R² over the three cause sets (Budescu's general dominance
  with predictor sets; Grömping 2007): each cause gets its average gain in R² over every order in
  which the causes can enter the regression. With three sets that is exactly 2³ regressions.
  Unlike standardised coefficients it splits shared variance evenly between correlated causes
  and adds up to the model's R²; it is reported as a share of the explained variance.
- **Uncertainty.** A bootstrap of the respondents (seeded, so the same data always give the same
  intervals), percentile intervals. A driver *stands out* when its share exceeds every other
  cause's share in at least 97.5 % of the resamples (a paired comparison, so the negative
  correlation between shares that sum to one is accounted for) and the causes together explain
  a measurable part of use (the R² interval's lower end at least ``min_r2``). Otherwise the
  analysis says plainly that no driver stands out.
- **Minimum sample.** Below ``min_n`` complete respondents (usage and all three scales answered)
  nothing is estimated; the output states the minimum.

Plain numpy and vectorised over the bootstrap: the resampled cross-product matrices come from one
matrix product, and each of the seven regressions is a batched solve.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .data import CAUSES, USAGE_CODES, Evidence, ResponseData

METHOD = "shapley_r2"
METHOD_NAME = "Shapley decomposition of R² over cause predictor sets (general dominance), bootstrap intervals"
OUTCOME = "usage 0-4 (never, tried once, monthly, weekly, daily)"
STANDS_OUT = "stands_out"
NONE = "none"
TOO_FEW = "too_few"
NO_VARIATION = "no_variation"
_LEVEL = {code: i for i, code in enumerate(USAGE_CODES)}
DEFAULTS: dict[str, Any] = {"min_n": 30, "n_boot": 400, "min_r2": 0.02, "min_comments": 10,
                            "level": 0.95, "seed": 0}


@dataclass(frozen=True)
class CauseDriver:
    """One cause's importance: its share of the explained variance in use, with its interval."""

    cause: str
    importance: float | None  # share of the explained variance (0-1)
    interval: tuple[float, float] | None
    r2: float | None  # its Shapley part of R² (importance * total R²)
    r2_interval: tuple[float, float] | None
    direction: str | None  # "less_use" when a bigger problem goes with less use, else "more_use"
    predictors: tuple[str, ...] = ()  # "likert", "comment"

    def to_dict(self, n: int) -> dict[str, Any]:
        """JSON-ready form."""
        return {"importance": _r(self.importance), "interval": _iv(self.interval), "n": n,
                "r2": _r(self.r2), "r2_interval": _iv(self.r2_interval), "direction": self.direction,
                "predictors": list(self.predictors)}


@dataclass(frozen=True)
class DriverAnalysis:
    """Driver importance of the three causes for one group of respondents."""

    n: int
    min_n: int
    verdict: str  # STANDS_OUT, NONE, TOO_FEW or NO_VARIATION
    causes: dict[str, CauseDriver] = field(default_factory=dict)
    top: str | None = None  # the cause that stands out (only with STANDS_OUT)
    leader: str | None = None  # the largest share, whether or not it stands out
    r2: float | None = None
    r2_interval: tuple[float, float] | None = None
    n_boot: int = 0
    level: float = 0.95
    seed: int = 0
    comments_used: bool = False

    @property
    def available(self) -> bool:
        """True when importances were estimated (enough respondents, usage varies)."""
        return self.verdict in (STANDS_OUT, NONE)

    def share(self, cause: str) -> float | None:
        """Importance of a cause (share of explained variance), None when not estimated."""
        d = self.causes.get(cause)
        return None if d is None else d.importance

    def drivers_dict(self) -> dict[str, Any]:
        """The ``drivers`` JSON block: per cause importance, interval and n."""
        return {c: (self.causes[c].to_dict(self.n) if c in self.causes
                    else {"importance": None, "interval": None, "n": self.n, "r2": None,
                          "r2_interval": None, "direction": None, "predictors": []})
                for c in CAUSES}

    def summary_dict(self) -> dict[str, Any]:
        """The ``driver_analysis`` JSON block: method, sample, R² and the verdict."""
        return {"method": METHOD, "method_name": METHOD_NAME, "outcome": OUTCOME, "n": self.n,
                "min_n": self.min_n, "available": self.available, "verdict": self.verdict,
                "top": self.top, "leader": self.leader, "r2": _r(self.r2), "r2_interval": _iv(self.r2_interval),
                "level": self.level, "bootstrap": self.n_boot, "seed": self.seed,
                "comments_used": self.comments_used}


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 3)


def _iv(iv: tuple[float, float] | None) -> list[float] | None:
    return None if iv is None else [round(float(iv[0]), 3), round(float(iv[1]), 3)]


def settings(section: Mapping[str, Any] | None) -> dict[str, Any]:
    """The playbook's ``drivers`` block over the defaults."""
    out = dict(DEFAULTS)
    out.update({k: v for k, v in (section or {}).items() if k in DEFAULTS})
    return out


def design(responses: Sequence[ResponseData], likert: Mapping[str, Mapping[int, float]],
           evidence: Sequence[Evidence] = (), min_comments: int = 10,
           ) -> tuple[np.ndarray, np.ndarray, dict[str, list[int]], dict[str, tuple[str, ...]], bool]:
    """Outcome, predictor matrix and the columns of each cause's set, over complete respondents.

    ``likert`` maps cause -> respondent id -> 0-100 scale (higher = more favourable). ``evidence``
    are classified survey comments; a respondent's comment columns are 1 for each cause their
    comments were labelled with. Comment columns are used only when at least ``min_comments``
    of the complete respondents wrote a comment naming one of the causes."""
    scales = [likert.get(c, {}) for c in CAUSES]
    ids: list[int] = []
    levels: list[int] = []
    for r in responses:
        usage = r.answers.get("usage")
        level = _LEVEL.get(usage) if isinstance(usage, str) else None
        if level is not None and r.id in scales[0] and r.id in scales[1] and r.id in scales[2]:
            ids.append(r.id)
            levels.append(level)
    y = np.array(levels, dtype=float)
    named: dict[int, set[str]] = {}
    wanted = set(ids)
    for e in evidence:
        if e.response_id in wanted and e.label in CAUSES and e.source == "survey":
            named.setdefault(e.response_id, set()).add(e.label)
    use_comments = len(named) >= min_comments
    cols: list[np.ndarray] = []
    groups: dict[str, list[int]] = {c: [] for c in CAUSES}
    kinds: dict[str, tuple[str, ...]] = {}
    for c in CAUSES:
        k: list[str] = []
        scale = likert[c]
        lik = 100.0 - np.fromiter((scale[i] for i in ids), dtype=float, count=len(ids))
        candidates = [("likert", lik)]
        if use_comments:
            candidates.append(("comment", np.array([1.0 if c in named.get(i, ()) else 0.0 for i in ids])))
        for kind, col in candidates:
            if len(col) > 1 and col.std() > 1e-9:  # a constant column explains nothing
                groups[c].append(len(cols))
                cols.append(col)
                k.append(kind)
        kinds[c] = tuple(k)
    x = np.column_stack(cols) if cols else np.zeros((len(ids), 0))
    return y, x, groups, kinds, use_comments


def _r2_batched(cov: np.ndarray, cols: list[int]) -> np.ndarray:
    """R² of y (index 0) on the given predictor columns (1-based in ``cov``) for each batch row."""
    if not cols:
        return np.zeros(cov.shape[0])
    idx = [c + 1 for c in cols]
    sxx = cov[:, idx][:, :, idx]
    sxy = cov[:, idx, 0]
    syy = cov[:, 0, 0]
    ridge = 1e-9 * (np.trace(sxx, axis1=1, axis2=2) / len(idx) + 1e-12)
    sxx = sxx + ridge[:, None, None] * np.eye(len(idx))
    beta = np.linalg.solve(sxx, sxy[..., None])[..., 0]
    explained = (beta * sxy).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(syy > 1e-12, explained / syy, 0.0)
    return np.clip(r2, 0.0, 1.0)


def shapley(cov: np.ndarray, groups: Mapping[str, list[int]]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Shapley values of R² per cause set for a batch of covariance matrices (y first), and R²."""
    players = [c for c in CAUSES if groups.get(c)]
    g = len(players)
    r2: dict[frozenset[str], np.ndarray] = {}
    for k in range(g + 1):
        for subset in itertools.combinations(players, k):
            cols = [col for p in subset for col in groups[p]]
            r2[frozenset(subset)] = _r2_batched(cov, cols)
    out = {c: np.zeros(cov.shape[0]) for c in CAUSES}
    for p in players:
        others = [q for q in players if q != p]
        for k in range(len(others) + 1):
            weight = math.factorial(k) * math.factorial(g - k - 1) / math.factorial(g)
            for subset in itertools.combinations(others, k):
                s = frozenset(subset)
                out[p] = out[p] + weight * (r2[s | {p}] - r2[s])
    return out, r2[frozenset(players)]


def _covariances(z: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Weighted covariance matrices of the columns of ``z`` for each row of ``counts`` (B, n)."""
    n, q = z.shape
    total = counts.sum(axis=1)[:, None]
    mean = counts @ z / total
    outer = (z[:, :, None] * z[:, None, :]).reshape(n, q * q)
    second = (counts @ outer / total).reshape(-1, q, q)
    return second - mean[:, :, None] * mean[:, None, :]


def _quantiles(values: np.ndarray, alpha: float) -> tuple[float, float]:
    lo, hi = np.quantile(values, [alpha, 1 - alpha])
    return float(lo), float(hi)


def analyse(responses: Sequence[ResponseData], likert: Mapping[str, Mapping[int, float]],
            evidence: Sequence[Evidence] = (), config: Mapping[str, Any] | None = None) -> DriverAnalysis:
    """Driver analysis of one group of respondents (see the module docstring)."""
    cfg = settings(config)
    min_n, n_boot, level, seed = int(cfg["min_n"]), int(cfg["n_boot"]), float(cfg["level"]), int(cfg["seed"])
    y, x, groups, kinds, used = design(responses, likert, evidence, int(cfg["min_comments"]))
    n = len(y)
    base = {"n": n, "min_n": min_n, "n_boot": n_boot, "level": level, "seed": seed, "comments_used": used}
    if n < min_n:
        return DriverAnalysis(verdict=TOO_FEW, **base)
    if y.std() < 1e-9 or x.shape[1] == 0:
        return DriverAnalysis(verdict=NO_VARIATION, **base)
    # Standardise once with the whole sample: R² does not change, the solves stay well conditioned.
    z = np.column_stack([y, x])
    z = (z - z.mean(axis=0)) / np.where(z.std(axis=0) > 0, z.std(axis=0), 1.0)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(n_boot, n), dtype=np.int64)
    draws += n * np.arange(n_boot, dtype=np.int64)[:, None]
    counts = np.bincount(draws.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(float)
    counts = np.vstack([np.ones((1, n)), counts])  # row 0: the sample itself
    cov = _covariances(z, counts)
    parts, total = shapley(cov, groups)
    alpha = (1 - level) / 2
    safe = np.where(total > 1e-12, total, np.nan)
    shares = {c: parts[c] / safe for c in CAUSES}
    corr = np.corrcoef(z.T) if z.shape[1] > 1 else np.eye(1)
    causes: dict[str, CauseDriver] = {}
    for c in CAUSES:
        if not groups[c]:
            causes[c] = CauseDriver(c, 0.0, (0.0, 0.0), 0.0, (0.0, 0.0), None, ())
            continue
        boot = shares[c][1:]
        boot = boot[np.isfinite(boot)]
        iv = _quantiles(boot, alpha) if len(boot) else None
        r2_iv = _quantiles(parts[c][1:], alpha)
        share0 = float(shares[c][0]) if np.isfinite(shares[c][0]) else None
        # Direction: the sign of the first column's correlation with use (both kinds measure a problem).
        first = groups[c][0] + 1
        direction = "less_use" if corr[0, first] < 0 else "more_use"
        causes[c] = CauseDriver(c, share0, iv, float(parts[c][0]), r2_iv, direction, kinds[c])
    r2_iv = _quantiles(total[1:], alpha)
    ranked = sorted(CAUSES, key=lambda c: causes[c].importance or 0.0, reverse=True)
    leader = ranked[0]
    stands = r2_iv[0] >= float(cfg["min_r2"])
    if stands:
        for other in ranked[1:]:
            diff = (shares[leader] - shares[other])[1:]
            diff = diff[np.isfinite(diff)]
            if not len(diff) or np.quantile(diff, alpha) <= 0:
                stands = False
                break
    return DriverAnalysis(verdict=STANDS_OUT if stands else NONE, causes=causes,
                          top=leader if stands else None, leader=leader, r2=float(total[0]),
                          r2_interval=r2_iv, **base)


def group_drivers(responses: Sequence[ResponseData], stats: Any, evidence: Sequence[Evidence],
                  config: Mapping[str, Any] | None = None) -> DriverAnalysis:
    """Driver analysis of a group from its :class:`~.aggregate.GroupStats` (the per-respondent scales)."""
    likert = {c: stats.likert[c].by_respondent for c in CAUSES}
    return analyse(responses, likert, evidence, config)
