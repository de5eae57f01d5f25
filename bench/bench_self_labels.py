"""How far the classifier agrees with the labels respondents give their own comments.

    .venv/bin/python bench/bench_self_labels.py [--consistency 0.8] [--seed 0] [--json FILE]

A respondent who ticks reasons naming one cause in the reason checklist has labelled their own
comment (``Comment.self_label``, see ``diagnosis.store.responses.self_label``). This benchmark reports
the agreement between the classifier and those self-labels in two places:

* **demo**: the demo workspace built into a temporary SQLite file by the product's own code
  (``teichaku demo``) and classified by the deployed classifier; the demo's ticks follow each
  invented person's cause, with a share of deliberately inconsistent ones.
* **generated**: one campaign per statement of the wild evaluation set (real registers, labelled
  blind twice, never trained on). Each writer ticks 1-3 options: with probability
  ``--consistency`` the first from their own cause, otherwise from another; further ticks stay
  with the first tick's cause 70 % of the time. The self-label comes from the product's rule.

For each, the table gives the share of self-labelled comments, the agreement of classifier and
self-label, Cohen's kappa, and (generated only, where the truth is known) how often the
self-label and the classifier are right. The baseline, measured in the same run, is the chance
agreement of the two label distributions: kappa is agreement above it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from diagnosis.nlp import active_backend, classify  # noqa: E402
from diagnosis.nlp.corpus import load_eval_sets  # noqa: E402
from diagnosis.questionnaire import load_directory  # noqa: E402
from diagnosis.store.responses import self_label  # noqa: E402

LABELS = ("purpose", "leadership", "support", "other")


def agreement(pairs: list[tuple[str, str]]) -> dict:
    """Observed agreement, chance agreement and Cohen's kappa of (a, b) label pairs."""
    n = len(pairs)
    if not n:
        return {"n": 0, "agreement": None, "chance": None, "kappa": None}
    observed = sum(a == b for a, b in pairs) / n
    ca, cb = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    chance = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    kappa = (observed - chance) / (1 - chance) if chance < 1 else None
    return {"n": n, "agreement": round(observed, 3), "chance": round(chance, 3),
            "kappa": None if kappa is None else round(kappa, 3)}


def confusion(pairs: list[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """Rows: self-label; columns: classifier label."""
    out = {a: dict.fromkeys(LABELS, 0) for a in LABELS}
    for a, b in pairs:
        if a in out and b in out[a]:
            out[a][b] += 1
    return out


def demo_pairs() -> tuple[list[tuple[str, str]], int]:
    """(self-label, classifier label) of the demo's current wave, and its number of comments."""
    from diagnosis import create_app
    from diagnosis.demo import build_demo
    from diagnosis.extensions import db
    from diagnosis.store.models import Campaign, Comment

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SECRET_KEY": "bench-only-not-a-secret-" + "x" * 16, "TESTING": True,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3",
                          "CLASSIFY_ON_SUBMIT": "off"})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            build_demo(classify=True, echo=lambda _msg: None)
            camp = db.session.scalar(db.select(Campaign).where(Campaign.slug == "demo"))
            rows = db.session.scalars(db.select(Comment).where(
                Comment.campaign_id == camp.id, Comment.source == "survey")).all()
            pairs = [(c.self_label, c.label) for c in rows if c.self_label and c.label in LABELS]
            total = len(rows)
            db.session.remove()
            db.engine.dispose()
    return pairs, total


def ticks(cause: str, by_cause: dict[str, list[str]], rng: random.Random, consistency: float) -> list[str]:
    """A simulated respondent's checklist ticks."""
    first_cause = cause if rng.random() < consistency else rng.choice([c for c in by_cause if c != cause])
    chosen = [rng.choice(by_cause[first_cause])]
    for p in (0.5, 0.2):
        if rng.random() > p:
            break
        c = first_cause if rng.random() < 0.7 else rng.choice(list(by_cause))
        rest = [o for o in by_cause[c] if o not in chosen]
        if rest:
            chosen.append(rng.choice(rest))
    return chosen


def main(argv: list[str] | None = None) -> int:
    """Run both parts and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consistency", type=float, default=0.8,
                        help="probability that a generated respondent's first tick is their own cause")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    backend = active_backend()
    item = load_directory(ROOT / "questionnaires")["ai-adoption"].reason_item
    by_cause: dict[str, list[str]] = {}
    for o in item.options:
        if o.cause and not o.exclusive:
            by_cause.setdefault(o.cause, []).append(o.code)

    pairs, total = demo_pairs()
    demo = {"comments": total, "self_labelled": len(pairs), **agreement(pairs),
            "confusion": confusion(pairs)}

    rows = load_eval_sets(ROOT / "models" / "corpus")["wild"]
    results = classify([r.text for r in rows], backend=backend)
    rng = random.Random(args.seed)
    triples = []
    for r, res in zip(rows, results, strict=True):
        weak = self_label(item, ticks(r.label, by_cause, rng, args.consistency))
        if weak and res.label in LABELS:
            triples.append((weak, res.label, r.label))
    generated = {"comments": len(rows), "self_labelled": len(triples),
                 **agreement([(w, p) for w, p, _ in triples]),
                 "self_label_right": round(sum(w == t for w, _, t in triples) / len(triples), 3),
                 "classifier_right": round(sum(p == t for _, p, t in triples) / len(triples), 3),
                 "confusion": confusion([(w, p) for w, p, _ in triples])}

    print(f"classifier {backend}; generated respondents' consistency {args.consistency}")
    print(f"{'set':<10}{'comments':>9}{'self-lab.':>10}{'agree':>8}{'chance':>8}{'ratio':>7}{'kappa':>7}")
    for name, r in (("demo", demo), ("generated", generated)):
        ratio = r["agreement"] / r["chance"] if r["chance"] else float("nan")
        print(f"{name:<10}{r['comments']:>9}{r['self_labelled']:>10}{r['agreement']:>8.3f}"
              f"{r['chance']:>8.3f}{ratio:>7.2f}{r['kappa']:>7.3f}")
    print(f"generated: self-label right {generated['self_label_right']:.3f}, "
          f"classifier right {generated['classifier_right']:.3f} (on the self-labelled comments)")
    if args.json:
        args.json.write_text(json.dumps({"backend": backend, "consistency": args.consistency,
                                         "demo": demo, "generated": generated},
                                        ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
