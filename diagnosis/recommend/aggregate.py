"""Aggregation of responses and evidence: usage funnel, Likert scores per cause, comment shares."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..vocabulary import SPLIT_REMEDIES
from .data import CAUSES, LABELS, USAGE_CODES, Evidence, LikertSpec, ReasonSpec, ResponseData
from .playbook import Playbook
from .quantify import ErrorModel, ShareEstimate, estimate
from .stats import effective_n, mean_se, wilson

DONT_KNOW = "dk"
EVER_USED = ("tried_once", "monthly", "weekly", "daily")
HABIT = ("weekly", "daily")


@dataclass(frozen=True)
class Usage:
    """The usage funnel of a group."""

    counts: dict[str, int]
    n: int
    adoption_rate: float | None  # ever used
    habit_rate: float | None  # weekly or more

    def to_dict(self) -> dict:
        """JSON-ready form (rates as fractions 0-1)."""
        return {"counts": dict(self.counts), "n": self.n,
                "adoption_rate": _r3(self.adoption_rate), "habit_rate": _r3(self.habit_rate)}


@dataclass(frozen=True)
class LikertStats:
    """Likert results of one cause: 0-100 score (higher = more favourable), favourable %."""

    cause: str
    score: float | None
    se: float
    favourable: float | None
    n: int  # respondents with at least one non-"don't know" answer
    n_answers: int
    by_respondent: dict[int, float] = field(default_factory=dict, repr=False)

    @property
    def problem(self) -> float | None:
        """100 minus the score: how much of a problem this cause is on the rated questions."""
        return None if self.score is None else 100.0 - self.score

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"score": _r1(self.score), "favourable": _r3(self.favourable), "n": self.n,
                "n_answers": self.n_answers}


@dataclass(frozen=True)
class TextStats:
    """Shares of classified evidence per label (weighted by source).

    With an ``estimate`` (see :mod:`.quantify`) the shares are corrected for the classifier's
    known errors and their intervals come from its bootstrap; the counted shares stay available
    as :meth:`share_raw`. Without one, shares are counted labels with Wilson intervals.
    """

    counts: dict[str, int]
    weights: dict[str, float]
    total: int
    total_weight: float
    n_eff: float
    z: float = 1.96
    estimate: ShareEstimate | None = None

    def share_raw(self, label: str) -> float | None:
        """Weighted share of the label among classified evidence ("classify and count")."""
        if self.total_weight <= 0:
            return None
        return self.weights.get(label, 0.0) / self.total_weight

    def share(self, label: str) -> float | None:
        """The share used by the diagnosis: corrected when estimated, else counted."""
        if self.estimate is not None and self.total_weight > 0:
            return self.estimate.of(label)
        return self.share_raw(label)

    def interval(self, label: str) -> tuple[float, float]:
        """Bootstrap interval of the corrected share, or the Wilson interval of the counted one."""
        p = self.share(label)
        if p is None:
            return (0.0, 1.0)
        if self.estimate is not None:
            lo, hi = self.estimate.interval[self.estimate.labels.index(label)]
            return (float(lo), float(hi))
        return wilson(p * self.n_eff, self.n_eff, self.z)

    def share_variance(self, label: str) -> float:
        """Variance of the share: bootstrap when estimated, binomial at the effective n otherwise."""
        p = self.share(label)
        if p is None:
            return 0.0
        if self.estimate is not None:
            return self.estimate.se(label) ** 2
        return p * (1 - p) / max(self.n_eff, 1.0)

    def difference_variance(self, a: str, b: str) -> float:
        """Variance of share(a) - share(b): bootstrap when estimated, multinomial otherwise."""
        p1, p2 = self.share(a), self.share(b)
        if p1 is None or p2 is None:
            return 0.0
        if self.estimate is not None:
            return self.estimate.difference_se(a, b) ** 2
        return max(p1 + p2 - (p1 - p2) ** 2, 0.0) / max(self.n_eff, 1.0)


@dataclass(frozen=True)
class SelfReport:
    """What a group said in the reason checklist: option counts and self-reported cause shares.

    Each respondent who ticked options naming a cause spreads one unit over the causes of those
    options (two support options and one purpose option: 2/3 support, 1/3 purpose), so the
    shares over purpose, leadership, support and other add up to 1 like the comment shares and
    can be set beside them. A share is the mean of these per-respondent fractions; its variance
    (and that of a difference of two shares) is the sample variance of the per-respondent values
    over n, paired, so it needs no assumption about how the causes correlate.
    """

    spec: ReasonSpec
    n: int  # respondents who ticked at least one option
    option_counts: dict[str, int]
    allocations: dict[int, dict[str, float]] = field(repr=False)
    named: dict[str, int]  # respondents who ticked at least one option of each label
    remedy_counts: dict[str, int]  # ticks of options pointing to training / help_desk
    z: float = 1.96

    @property
    def n_mapped(self) -> int:
        """Respondents whose ticks name at least one cause (the base of the shares)."""
        return len(self.allocations)

    def _values(self, label: str) -> list[float]:
        return [a.get(label, 0.0) for a in self.allocations.values()]

    def share(self, label: str) -> float | None:
        """Self-reported share of a cause (None when nobody's ticks name a cause)."""
        if not self.allocations:
            return None
        return sum(self._values(label)) / len(self.allocations)

    def share_variance(self, label: str) -> float:
        """Variance of the share: sample variance of the per-respondent fractions over n."""
        return mean_se(self._values(label))[1] ** 2 if self.allocations else 0.0

    def difference_variance(self, a: str, b: str) -> float:
        """Variance of share(a) - share(b), paired per respondent."""
        if not self.allocations:
            return 0.0
        return mean_se([x.get(a, 0.0) - x.get(b, 0.0) for x in self.allocations.values()])[1] ** 2

    def interval(self, label: str) -> tuple[float, float] | None:
        """Wilson interval of the share at the number of respondents behind it."""
        p = self.share(label)
        if p is None:
            return None
        return wilson(p * self.n_mapped, self.n_mapped, self.z)

    def option_share(self, code: str) -> float | None:
        """Share of checklist respondents who ticked an option."""
        return self.option_counts.get(code, 0) / self.n if self.n else None

    def top_option(self, codes: Iterable[str]) -> str | None:
        """The most ticked option among ``codes`` (None when none of them was ticked)."""
        ticked = [(self.option_counts.get(c, 0), c) for c in codes if self.option_counts.get(c)]
        return max(ticked)[1] if ticked else None

    def causes_dict(self, label: str) -> dict:
        """JSON-ready ``self_reported`` entry of one cause."""
        p, iv = self.share(label), self.interval(label)
        return {"share": _r3(p), "interval": None if iv is None else [round(iv[0], 3), round(iv[1], 3)],
                "n": self.n_mapped, "named": self.named.get(label, 0)}

    def options_dict(self, lang: str) -> dict:
        """JSON-ready ``reason_choices``: per option counts and shares, in questionnaire order."""
        return {"item": self.spec.item_id, "n": self.n, "max_choices": self.spec.max_choices,
                "options": [{"code": o.code, "label": o.name(lang), "cause": o.cause,
                             "remedy": o.remedy, "count": self.option_counts.get(o.code, 0),
                             "share": _r3(self.option_share(o.code))}
                            for o in self.spec.options]}


def chosen_reasons(response: ResponseData, spec: ReasonSpec) -> list[str]:
    """The checklist codes a respondent ticked that the questionnaire knows, without repeats."""
    raw = response.answers.get(spec.item_id)
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple):
        return []
    known = {o.code for o in spec.options}
    return [c for c in dict.fromkeys(str(x) for x in raw) if c in known]


def self_report(responses: Sequence[ResponseData], spec: ReasonSpec | None,
                z: float = 1.96) -> SelfReport | None:
    """The reason checklist of a group (None when the questionnaire has no checklist)."""
    if spec is None:
        return None
    counts = {o.code: 0 for o in spec.options}
    named = dict.fromkeys(LABELS, 0)
    remedies = dict.fromkeys(SPLIT_REMEDIES, 0)
    alloc: dict[int, dict[str, float]] = {}
    n = 0
    for r in responses:
        chosen = chosen_reasons(r, spec)
        if not chosen:
            continue
        n += 1
        causes = []
        for code in chosen:
            counts[code] += 1
            opt = spec.option(code)
            if opt is not None and opt.cause in LABELS:
                causes.append(opt.cause)
            if opt is not None and opt.remedy in remedies:
                remedies[opt.remedy] += 1
        for label in set(causes):
            named[label] += 1
        if causes:
            alloc[r.id] = {lab: causes.count(lab) / len(causes) for lab in set(causes)}
    return SelfReport(spec, n, counts, alloc, named, remedies, z)


def item_value(response: ResponseData, spec: LikertSpec) -> int | None:
    """The 1-5 answer of a Likert item with reverse wording undone; None for missing or 'dk'."""
    raw = response.answers.get(spec.id)
    if raw is None or raw == DONT_KNOW or isinstance(raw, bool):
        return None
    try:
        v = int(raw)
    except (TypeError, ValueError):
        return None
    if not 1 <= v <= 5:
        return None
    return 6 - v if spec.reverse else v


def usage_funnel(responses: Sequence[ResponseData]) -> Usage:
    """Counts per usage code, adoption rate (ever used) and habit rate (weekly or more)."""
    counts = dict.fromkeys(USAGE_CODES, 0)
    for r in responses:
        if r.usage:
            counts[r.usage] += 1
    n = sum(counts.values())
    if n == 0:
        return Usage(counts, 0, None, None)
    return Usage(counts, n, sum(counts[c] for c in EVER_USED) / n,
                 sum(counts[c] for c in HABIT) / n)


def likert_stats(responses: Sequence[ResponseData], specs: Iterable[LikertSpec],
                 cause: str) -> LikertStats:
    """Score of one cause: the mean over respondents of their mean item answer, on 0-100."""
    specs = [s for s in specs if s.cause == cause]
    per: dict[int, float] = {}
    favourable = answers = 0
    for r in responses:
        values = [v for s in specs if (v := item_value(r, s)) is not None]
        if not values:
            continue
        per[r.id] = (sum(values) / len(values) - 1) / 4 * 100
        answers += len(values)
        favourable += sum(1 for v in values if v >= 4)
    mean, se = mean_se(list(per.values()))
    return LikertStats(cause, mean, se, favourable / answers if answers else None, len(per),
                       answers, per)


def likert_items_problem(responses: Sequence[ResponseData], specs: Iterable[LikertSpec],
                         item_ids: Iterable[str]) -> tuple[float | None, int]:
    """Mean problem level (0-100, 100 = all strongly unfavourable) of chosen items, and answers."""
    wanted = set(item_ids)
    values = [v for r in responses for s in specs if s.id in wanted
              if (v := item_value(r, s)) is not None]
    if not values:
        return None, 0
    return 100 - (sum(values) / len(values) - 1) / 4 * 100, len(values)


def usable(evidence: Iterable[Evidence], pb: Playbook) -> list[Evidence]:
    """Classified evidence with a known label and enough confidence."""
    min_conf = pb.section("scoring")["min_confidence"]
    return [e for e in evidence if e.label in LABELS and e.confidence >= min_conf]


def text_stats(evidence: Iterable[Evidence], pb: Playbook, error_model: ErrorModel | None = None) -> TextStats:
    """Weighted label shares of classified evidence (interview sentences weigh less).

    With an ``error_model``, the shares are also estimated with the classifier's errors corrected
    (:func:`.quantify.estimate`): every machine-labelled comment contributes its calibrated
    probabilities (an ``unclear`` one included, it still says something; a label stored without
    scores counts as certain of that label), and every human-corrected comment counts as certain.
    """
    sc = pb.section("scoring")
    source_weights = sc["source_weights"]
    evidence = list(evidence)
    counts = dict.fromkeys(LABELS, 0)
    weights = dict.fromkeys(LABELS, 0.0)
    ws = []
    for e in usable(evidence, pb):
        w = float(source_weights.get(e.source, 1.0))
        if w <= 0:
            continue
        counts[e.label] += 1
        weights[e.label] += w
        ws.append(w)
    est = None
    if error_model is not None and ws:
        est = estimate_shares(evidence, error_model, source_weights)
    return TextStats(counts, weights, sum(counts.values()), sum(ws), effective_n(ws), sc["z"], est)


def estimate_shares(evidence: Sequence[Evidence], error_model: ErrorModel,
                    source_weights: dict[str, float]) -> ShareEstimate | None:
    """Corrected shares of the evidence, None when no comment has scores or a correction."""
    labels = error_model.labels
    post, w_m, known, w_c = [], [], [], []
    for e in evidence:
        w = float(source_weights.get(e.source, 1.0))
        if w <= 0:
            continue
        if e.corrected and e.label in labels:
            known.append(labels.index(e.label))
            w_c.append(w)
        elif e.scores and all(lab in e.scores for lab in labels):
            row = np.array([float(e.scores[lab]) for lab in labels])
            if row.sum() > 0:
                post.append(row / row.sum())
                w_m.append(w)
        elif e.label in labels:  # a machine label stored without scores: its label is all we know
            post.append(np.eye(len(labels))[labels.index(e.label)])
            w_m.append(w)
    if not post and not known:
        return None
    return estimate(np.array(post).reshape(-1, len(labels)), np.array(w_m + w_c),
                    np.array(known, dtype=int), error_model)


def theme_of(text: str, pb: Playbook) -> str | None:
    """The first 'other' theme whose patterns match the text."""
    for theme, patterns in pb.theme_patterns.items():
        if any(p.search(text) for p in patterns):
            return theme
    return None


def other_themes(evidence: Iterable[Evidence], pb: Playbook) -> dict[str, int]:
    """Counts of the 'other' evidence per recognisable theme ('unthemed' for the rest)."""
    out = dict.fromkeys(pb.theme_patterns, 0)
    out["unthemed"] = 0
    for e in usable(evidence, pb):
        if e.label == "other":
            out[theme_of(e.text, pb) or "unthemed"] += 1
    return out


@dataclass(frozen=True)
class GroupStats:
    """All aggregates of one group (the whole campaign or one segment value)."""

    n: int
    usage: Usage
    likert: dict[str, LikertStats]
    text: TextStats
    themes: dict[str, int]
    self_report: SelfReport | None = None


def group_stats(responses: Sequence[ResponseData], evidence: Sequence[Evidence],
                specs: Sequence[LikertSpec], pb: Playbook,
                error_model: ErrorModel | None = None,
                reasons: ReasonSpec | None = None) -> GroupStats:
    """Aggregate one group of responses and the evidence that belongs to it."""
    return GroupStats(
        n=len(responses),
        usage=usage_funnel(responses),
        likert={c: likert_stats(responses, specs, c) for c in CAUSES},
        text=text_stats(evidence, pb, error_model),
        themes=other_themes(evidence, pb),
        self_report=self_report(responses, reasons, float(pb.section("scoring")["z"])),
    )


def _r1(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _r3(x: float | None) -> float | None:
    return None if x is None else round(x, 3)
