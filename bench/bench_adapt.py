"""Adaptation benchmark: how much a client's reviewed comments teach the classifier, with the
review queue's picks against random picks.

    .venv/bin/python bench/bench_adapt.py [--seeds 5] [--sizes 25,50,100] [--C 2.0] [--json FILE]

Data: ``models/corpus/clients/*.jsonl``, three fictional clients' comments written in each
client's own vocabulary (see ``models/corpus/clients/README.md``), never used to train the base
model. Each client is simulated alone, as the product would meet it: its comments are split
(stratified by label, ``--seeds`` different splits) into a *pool* of two thirds, the comments a
consultant could review, and a *test* third, the client's remaining comments.

- **queue**: the product's review order (``diagnosis.review.order``: low margin, near the
  unclear line, sentences disagreeing, with a diversity penalty) picks from the pool in rounds of
  ``--round`` (25), using the current model's scores; after each round the model is adapted on
  everything reviewed so far, and the next round is picked with the adapted model, as a reviewer
  using the product would see it. The reviewer's label is the gold label.
- **random**: the same number of pool comments drawn at random, adapted once.

Scored: macro-F1 of the most probable cause (``unclear`` is a display decision and is not applied)
on the test third: the base model (measured in the same run) against the adapted one. ``ALL``
adds the three clients pooled as one organisation, which is the only way to reach 200 reviewed
comments with sets of 240. Time: the product path for one adaptation of 200 examples (encoding
the examples, 5-fold cross-validated figures, the final fit, the wild-set error model from cached
features) on this machine's cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from sklearn.metrics import f1_score  # noqa: E402
from sklearn.model_selection import StratifiedShuffleSplit  # noqa: E402

from diagnosis.nlp import get_classifier  # noqa: E402
from diagnosis.nlp.adapt import DEFAULT_C, AdaptedHead, answer_features, cross_validate  # noqa: E402
from diagnosis.nlp.classifier import decide  # noqa: E402
from diagnosis.nlp.corpus import load_eval_sets  # noqa: E402
from diagnosis.nlp.embeddings import cpu_count  # noqa: E402
from diagnosis.review import Candidate, order  # noqa: E402

CLIENTS_DIR = ROOT / "models" / "corpus" / "clients"


def load_clients() -> dict[str, list[dict]]:
    """Each client's rows ``{"id", "text", "label"}`` from models/corpus/clients/*.jsonl."""
    out = {}
    for path in sorted(CLIENTS_DIR.glob("*.jsonl")):
        out[path.stem] = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


def macro_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    return float(f1_score(truth, pred, labels=sorted(set(truth)), average="macro", zero_division=0))


def candidates(clf, head, texts: list[str], ids: np.ndarray, X) -> list[Candidate]:
    """Pool comments as the queue sees them: the current model's scores and sentence labels."""
    proba = head.predict_proba(X[ids])
    classes = [str(c) for c in head.classes_]
    labels = decide(proba, head.classes_, head.threshold_)
    out = []
    for k, i in enumerate(ids):
        sentences = SENTENCES[texts[i]]
        sent_labels = None
        if len(sentences) > 1:
            sp = head.predict_proba(SENT_X[texts[i]])
            sent_labels = decide(sp, head.classes_, head.threshold_)
        scores = dict(zip(classes, map(float, proba[k]), strict=True))
        out.append(Candidate(int(i), texts[i], labels[k], scores, sent_labels))
    return out


SENTENCES: dict[str, list[str]] = {}
SENT_X: dict[str, object] = {}


def prepare_sentences(clf, texts: list[str]) -> None:
    """Each text's sentences and their features (for the queue's disagreement signal)."""
    from diagnosis.nlp.classifier import build_features
    from diagnosis.nlp.embeddings import encode_answers
    from diagnosis.nlp.text import split_sentences

    split = [split_sentences(t) for t in texts]
    flat_vecs, _ = encode_answers(clf.encoder, split)
    start = 0
    for t, parts in zip(texts, split, strict=True):
        SENTENCES[t] = parts
        if len(parts) > 1:
            SENT_X[t] = build_features(flat_vecs[start:start + len(parts)], parts, clf.char)
        start += len(parts)


def simulate(clf, rows: list[dict], X, sizes: list[int], seeds: int, round_size: int, C: float) -> dict:
    texts = [r["text"] for r in rows]
    y = np.array([r["label"] for r in rows])
    base = clf.head
    out: dict = {"n": len(rows), "base": [], "queue": {k: [] for k in sizes}, "random": {k: [] for k in sizes},
                 "product": {k: [] for k in sizes}, "kept_base": {k: 0 for k in sizes}}
    for seed in range(seeds):
        split = StratifiedShuffleSplit(n_splits=1, test_size=1 / 3, random_state=seed)
        pool, test = next(split.split(np.zeros(len(y)), y))
        base_pred = np.asarray(base.predict(X[test])).astype(str)
        out["base"].append(macro_f1(y[test], base_pred))
        # queue: rounds of round_size, re-ranked by the model adapted so far
        reviewed: list[int] = []
        head = base
        for k in sorted(sizes):
            k = min(k, len(pool))
            while len(reviewed) < k:
                left = np.array([i for i in pool if i not in set(reviewed)])
                take = min(round_size, k - len(reviewed))
                picks = order(candidates(clf, head, texts, left, X), base.threshold_, limit=take)
                reviewed.extend(p.id for p in picks)
                head = AdaptedHead(base=base, C=C).fit(X[reviewed], y[reviewed])
            pred = np.asarray(head.predict(X[test])).astype(str)
            out["queue"][k].append(macro_f1(y[test], pred))
            # the product keeps the base model when cross-validation on the reviewed comments
            # measures the adapted one lower (adaptation.adapt_organisation)
            figures, _ = cross_validate(base, X[reviewed], y[reviewed], C=C)
            worse = figures.measured and figures.adapted_accuracy < figures.base_accuracy
            out["kept_base"][k] += int(worse)
            out["product"][k].append(out["base"][-1] if worse else out["queue"][k][-1])
        rng = np.random.default_rng(seed)
        for k in sizes:
            chosen = rng.choice(pool, size=min(k, len(pool)), replace=False)
            head = AdaptedHead(base=base, C=C).fit(X[chosen], y[chosen])
            out["random"][k].append(macro_f1(y[test], np.asarray(head.predict(X[test])).astype(str)))
    return out


def product_time(clf, rows: list[dict], wild_X, n: int, C: float) -> dict:
    """One adaptation as ``adaptation.adapt_organisation`` runs it, on n examples."""
    take = rows[:n]
    start = time.perf_counter()
    X = answer_features(clf, [r["text"] for r in take])
    encoded = time.perf_counter()
    y = [r["label"] for r in take]
    figures, _ = cross_validate(clf.head, X, y, C=C)
    head = AdaptedHead(base=clf.head, C=C).fit(X, y)
    fitted = time.perf_counter()
    if wild_X is not None:
        head.predict_proba(wild_X)
    done = time.perf_counter()
    return {"n": len(take), "encode_s": round(encoded - start, 2), "cv_and_fit_s": round(fitted - encoded, 2),
            "error_model_s": round(done - fitted, 2), "total_s": round(done - start, 2),
            "figures": figures.to_dict()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--sizes", default="25,50,100")
    ap.add_argument("--round", type=int, default=25)
    ap.add_argument("--C", type=float, default=DEFAULT_C)
    ap.add_argument("--clients", default="", help="Comma-separated client names (default: all).")
    ap.add_argument("--no-pooled", action="store_true", help="Skip the three clients pooled as one.")
    ap.add_argument("--backend", default=None, help="Embedding backend (default: the trained default).")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    clients = load_clients()
    if args.clients:
        clients = {k: v for k, v in clients.items() if k in args.clients.split(",")}
    if not clients:
        print(f"no client sets in {CLIENTS_DIR}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    clf = get_classifier(backend=args.backend)
    print(f"classifier {clf.version_} ({cpu_count()} cores), C={args.C}, {args.seeds} splits, "
          f"pool 2/3 / test 1/3, queue rounds of {args.round}")
    features = {}
    for name, rows in clients.items():
        texts = [r["text"] for r in rows]
        features[name] = answer_features(clf, texts)
        prepare_sentences(clf, texts)
    print(f"features of {sum(len(r) for r in clients.values())} comments in {time.perf_counter() - t0:.0f} s\n")
    results = {}
    header = f"{'client':10} {'n':>4} {'base':>6} " + " ".join(
        f"{'q' + str(k):>6} {'r' + str(k):>6} {'p' + str(k):>6}" for k in sizes)
    print("macro-F1 on the client's remaining third (mean over splits); q = queue picks, r = random picks,\n"
          "p = the product: queue picks, adapted model kept only when cross-validation does not measure it lower")
    print(header)
    runs = list(clients.items())
    if not args.no_pooled and len(clients) > 1:
        runs.append(("ALL", [r for rows in clients.values() for r in rows]))
        import scipy.sparse as sp

        features["ALL"] = sp.vstack([features[n] for n in clients], format="csr")
    for name, rows in runs:
        run_sizes = sizes + ([200] if name == "ALL" and 200 not in sizes else [])
        res = simulate(clf, rows, features[name], run_sizes, args.seeds, args.round, args.C)
        results[name] = res
        line = f"{name:10} {res['n']:>4} {np.mean(res['base']):6.3f} " + " ".join(
            f"{np.mean(res['queue'][k]):6.3f} {np.mean(res['random'][k]):6.3f} {np.mean(res['product'][k]):6.3f}"
            for k in sizes)
        if name == "ALL":
            line += f"   q200 {np.mean(res['queue'][200]):.3f} r200 {np.mean(res['random'][200]):.3f}"
        print(line, flush=True)
    print("\ngain over base (adapted − base), mean over splits")
    for name, res in results.items():
        b = np.mean(res["base"])
        gains = (f"q{k} {np.mean(res['queue'][k]) - b:+.3f} r{k} {np.mean(res['random'][k]) - b:+.3f} "
                 f"p{k} {np.mean(res['product'][k]) - b:+.3f}" for k in sizes)
        print(f"{name:10} " + " ".join(gains))
    # the product path's time for 200 examples
    wild = load_eval_sets(ROOT / "models" / "corpus").get("wild") or []
    t = time.perf_counter()
    wild_X = answer_features(clf, [r.text for r in wild]) if wild else None
    wild_s = time.perf_counter() - t
    pooled = [r for rows in clients.values() for r in rows]
    timing = product_time(clf, pooled, wild_X, 200, args.C)
    print(f"\none adaptation, 200 reviewed comments, {cpu_count()} cores: {timing['total_s']:.1f} s "
          f"(encode {timing['encode_s']:.1f} s, 5-fold figures + fit {timing['cv_and_fit_s']:.1f} s, "
          f"error model {timing['error_model_s']:.2f} s); first adaptation also encodes the wild set once "
          f"({len(wild)} statements, {wild_s:.0f} s, then cached)")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "timing": timing, "C": args.C},
                                              indent=1, default=float), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
