"""Scenario benchmark: does the diagnosis name the planted cause, say "mixed", or get it wrong?

    .venv/bin/python bench/bench_diagnosis.py [--campaigns 100] [--backend NAME] [--json FILE]
    .venv/bin/python bench/bench_diagnosis.py --drivers [--responses 2000] [--repeat 5]

``--drivers`` needs no classifier: it times the whole pure diagnosis of a generated campaign
(``service.diagnose``: aggregation, scores, segments, recommendation) with the driver analysis and
without it (``drivers.analyse`` replaced by a stub), and prints the ratio; then the bootstrap of
the driver analysis alone, and a wave comparison with tested change.

Campaigns are drawn from the wild evaluation set (``models/corpus/wild.jsonl``: written to be hard,
labelled blind twice, never trained on), with known cause mixes: 48, 120 and 400 comments, one
planted cause at 35 %, 50 % or 70 % (the rest spread evenly over the other three labels), and an
even mix. Every Likert answer is neutral, so only the comments can decide.

Each campaign goes through the product's own path (``group_stats`` → ``cause_scores`` →
``dominance``) twice: with counted labels (classify and count, the baseline measured in the same
run) and with corrected shares (:mod:`diagnosis.recommend.quantify`). The error model must not see
the comments it corrects, so the wild set is split in two halves stratified by label: campaigns
drawn from one half are corrected with the error model of the other, then the halves swap. (The
product itself uses the whole wild set as its error model.)

A call is *right* when the planted cause is dominant, *mixed* when no cause is, *wrong* when another
cause is dominant. For the even mix, "mixed" is right and any dominant cause is wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from diagnosis.nlp import active_backend, classify  # noqa: E402
from diagnosis.nlp.corpus import load_eval_sets  # noqa: E402
from diagnosis.recommend.aggregate import group_stats  # noqa: E402
from diagnosis.recommend.data import CAUSES, LABELS, Evidence, LikertSpec, ResponseData  # noqa: E402
from diagnosis.recommend.diagnose import MIXED, cause_scores, dominance  # noqa: E402
from diagnosis.recommend.playbook import load_playbook  # noqa: E402
from diagnosis.recommend.quantify import ErrorModel  # noqa: E402

SIZES = (48, 120, 400)
PLANTED = (0.35, 0.5, 0.7)
EVEN = "even"
SPECS = tuple(LikertSpec(f"{c}_{i}", c) for c in CAUSES for i in range(2))
METHODS = ("count", "corrected")


def mix(planted: str | None, share: float) -> np.ndarray:
    """Share of each label in a campaign: one planted label, the rest spread evenly."""
    if planted is None:
        return np.full(len(LABELS), 1.0 / len(LABELS))
    out = np.full(len(LABELS), (1.0 - share) / (len(LABELS) - 1))
    out[LABELS.index(planted)] = share
    return out


def counts_for(n: int, shares: np.ndarray) -> np.ndarray:
    """Whole comment counts per label that sum to n (largest remainders)."""
    raw = shares * n
    out = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - out))[: n - out.sum()]:
        out[i] += 1
    return out


def halves(truth: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two halves of the row indices, stratified by label."""
    a, b = [], []
    for j in range(len(LABELS)):
        idx = rng.permutation(np.flatnonzero(truth == j))
        a.extend(idx[: len(idx) // 2])
        b.extend(idx[len(idx) // 2 :])
    return np.array(sorted(a)), np.array(sorted(b))


def call(planted: str | None, cause: str) -> str:
    """right / mixed / wrong for one diagnosis."""
    if planted is None:
        return "right" if cause == MIXED else "wrong"
    if cause == planted:
        return "right"
    return "mixed" if cause == MIXED else "wrong"


def driver_campaign(n: int, seed: int = 0) -> Any:
    """A campaign of n respondents in six departments; usage driven mostly by support."""
    from diagnosis.recommend.data import USAGE_CODES, CampaignData, OrgContext

    rng = np.random.default_rng(seed)
    specs = tuple(LikertSpec(f"{c}_{i}", c) for c in CAUSES for i in range(4))
    lat = {c: rng.normal(size=n) for c in CAUSES}
    drive = 0.3 * lat["purpose"] + 0.8 * lat["support"] + rng.normal(size=n)
    cuts = np.quantile(drive, [0.2, 0.4, 0.6, 0.8])
    depts = ("sales", "manufacturing", "engineering", "admin", "it", "planning")
    responses, evidence = [], []
    for i in range(n):
        answers: dict[str, Any] = {"usage": USAGE_CODES[int(np.searchsorted(cuts, drive[i]))]}
        for s in specs:
            answers[s.id] = int(np.clip(np.rint(3 + lat[s.cause][i] + 0.6 * rng.normal()), 1, 5))
        seg = {"department": depts[i % len(depts)], "age_band": ("20s", "30s", "40s", "50s")[i % 4]}
        responses.append(ResponseData(i + 1, answers, seg))
        if rng.random() < 0.5:
            label = CAUSES[int(rng.integers(0, 3))]
            evidence.append(Evidence(len(evidence) + 1, "comment", label, 0.9, "survey", response_id=i + 1,
                                     segments=dict(seg)))
    import datetime as dt

    return CampaignData(1, "bench", "bench", 1, "ai-adoption", 1, OrgContext(n, None, dt.date(2026, 11, 1)),
                        specs, tuple(responses), tuple(evidence))


def bench_drivers(n: int, repeat: int) -> int:
    """Time the pure diagnosis of n responses with and without the driver analysis."""
    from unittest import mock

    from diagnosis.recommend import drivers, service
    from diagnosis.recommend.waves import compare

    data = driver_campaign(n)
    service.diagnose(data, "en")  # warm caches (playbook, numpy)

    def timed(fn: Any) -> float:
        best = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        return best

    with_drivers = timed(lambda: service.diagnose(data, "en"))
    stub = drivers.DriverAnalysis(n=0, min_n=30, verdict=drivers.TOO_FEW)
    with mock.patch.object(drivers, "analyse", lambda *a, **k: stub):
        without = timed(lambda: service.diagnose(data, "en"))
    diag = service.diagnose(data, "en")
    a = diag.drivers
    assert a is not None
    st = diag.stats
    likert = {c: st.likert[c].by_respondent for c in CAUSES}
    alone = timed(lambda: drivers.analyse(data.responses, likert, ()))
    later = service.diagnose(driver_campaign(n, seed=1), "en")
    wave = timed(lambda: compare(diag, later))
    shown = sum(1 for views in diag.segments.values() for v in views if v.drivers is not None and v.drivers.available)
    print(f"{n} responses, best of {repeat}: diagnosis {1000 * with_drivers:.0f} ms with driver analysis "
          f"(campaign + {shown} segments), {1000 * without:.0f} ms without "
          f"({with_drivers / without:.2f}x); driver analysis of the campaign alone {1000 * alone:.0f} ms "
          f"({a.n_boot} resamples); wave comparison with tested change {1000 * wave:.1f} ms")
    top = a.top or "none"
    shares = ", ".join(f"{c} {100 * (a.share(c) or 0):.0f}% ({100 * a.causes[c].interval[0]:.0f}–"
                       f"{100 * a.causes[c].interval[1]:.0f}%)" for c in CAUSES)
    print(f"planted: support strongest, purpose weaker; found: {top} stands out; {shares}; R² {a.r2:.2f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run every scenario and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drivers", action="store_true", help="time the driver analysis instead (no classifier)")
    parser.add_argument("--responses", type=int, default=2000, help="responses for --drivers")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions for --drivers (best is shown)")
    parser.add_argument("--campaigns", type=int, default=100, help="campaigns per scenario and planted cause")
    parser.add_argument("--backend", default=None, help="classifier backend (default: the trained default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.drivers:
        return bench_drivers(args.responses, args.repeat)

    rows = load_eval_sets(ROOT / "models" / "corpus")["wild"]
    backend = active_backend(backend=args.backend)
    t0 = time.perf_counter()
    results = classify([r.text for r in rows], backend=backend)
    classify_s = time.perf_counter() - t0
    truth = np.array([LABELS.index(r.label) for r in rows])
    post = np.array([[res.scores[lab] for lab in LABELS] for res in results])
    rng = np.random.default_rng(args.seed)
    half = halves(truth, rng)
    models = [ErrorModel(LABELS, post[h], truth[h], f"wild half {k}") for k, h in enumerate(half)]
    pb = load_playbook()
    neutral = {s.id: 3 for s in SPECS}

    def diagnose_once(idx: np.ndarray, em: ErrorModel | None) -> str:
        evidence = [
            Evidence(k, rows[i].text, results[i].label, results[i].confidence, "survey",
                     scores=dict(results[i].scores))
            for k, i in enumerate(idx)
        ]
        responses = [ResponseData(k, neutral) for k in range(len(idx))]
        stats = group_stats(responses, evidence, SPECS, pb, em)
        return dominance(cause_scores(stats, pb), stats, pb).cause

    scenarios = [(n, s, c) for n in SIZES for s in PLANTED for c in CAUSES] + [(n, 0.0, None) for n in SIZES]
    table: dict[tuple, dict[str, dict[str, int]]] = {}
    seconds = dict.fromkeys(METHODS, 0.0)
    calls = 0
    for n, share, planted in scenarios:
        tally = {m: {"right": 0, "mixed": 0, "wrong": 0} for m in METHODS}
        counts = counts_for(n, mix(planted, share))
        for k in range(args.campaigns):
            pool, em = half[k % 2], models[1 - k % 2]  # campaigns from one half, errors from the other
            idx = np.concatenate([
                rng.choice(pool[truth[pool] == j], size=counts[j], replace=True) for j in range(len(LABELS))
            ])
            for method in METHODS:
                t = time.perf_counter()
                cause = diagnose_once(idx, em if method == "corrected" else None)
                seconds[method] += time.perf_counter() - t
                tally[method][call(planted, cause)] += 1
            calls += 1
        table[(n, share if planted else EVEN, planted or EVEN)] = tally

    def cols(t: dict[str, dict[str, int]]) -> str:
        out = ""
        for m, first in (("count", 13), ("corrected", 17)):
            total = max(sum(t[m].values()), 1)
            pcts = [f"{100 * t[m][r] / total:5.0f}%" for r in ("right", "mixed", "wrong")]
            out += f"  {pcts[0]:>{first}}{pcts[1]:>7}{pcts[2]:>7}"
        return out

    print(f"backend {backend}; wild set n={len(rows)} classified in {classify_s:.1f} s; "
          f"{args.campaigns} campaigns per row and planted cause; seed {args.seed}")
    print(f"{'comments':>8} {'planted':>8} {'cause':<11}  {'count: right  mixed  wrong':>27}"
          f"  {'corrected: right  mixed  wrong':>31}")
    summary: dict[str, dict] = {}
    for n in SIZES:
        for share in (*PLANTED, EVEN):
            keys = [k for k in table if k[0] == n and k[1] == share]
            merged = {m: {r: sum(table[k][m][r] for k in keys) for r in ("right", "mixed", "wrong")} for m in METHODS}
            label = "even mix" if share == EVEN else f"{share:.0%}"
            print(f"{n:>8} {label:>8} {'all' if share != EVEN else '-':<11}{cols(merged)}")
            summary[f"{n}/{label}"] = merged
            if share == 0.5 and n == SIZES[0]:
                for k in keys:
                    print(f"{'':>8} {'':>8} {k[2]:<11}{cols(table[k])}")
    per = {m: 1000 * seconds[m] / max(calls, 1) for m in METHODS}
    print(f"time per campaign diagnosis: count {per['count']:.1f} ms, corrected {per['corrected']:.1f} ms "
          f"({per['corrected'] / max(per['count'], 1e-9):.1f}x)")
    key48 = f"{SIZES[0]}/50%"
    right = summary[key48]["corrected"]
    total = sum(right.values())
    even = summary[f"{SIZES[0]}/even mix"]["corrected"]
    print(f"target 48 comments, 50 % planted: right >= 80 % ({100 * right['right'] / total:.0f} %), "
          f"wrong 0 % ({100 * right['wrong'] / total:.0f} %); even mix 'mixed' >= 90 % "
          f"({100 * even['right'] / sum(even.values()):.0f} %)")
    any_wrong = sum(v["corrected"]["wrong"] for v in summary.values())
    print(f"wrong calls with corrected shares, all scenarios: {any_wrong}")
    if args.json:
        args.json.write_text(json.dumps({"backend": backend, "campaigns": args.campaigns, "seed": args.seed,
                                         "results": summary}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
