"""Measured accuracy: stratified CV on the training corpus and scores on the held-out file.

Every choice (the regularisation C, the long-text combination strategy, the unclear threshold)
is made on the training corpus by cross-validation; the held-out file is only scored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier

from diagnosis.nlp.classifier import COMBINE_STRATEGIES, CauseHead, CharNgrams, build_features, combine
from diagnosis.nlp.corpus import Example
from diagnosis.nlp.embeddings import encode_answers
from diagnosis.nlp.labels import LABELS
from diagnosis.nlp.text import normalize, split_sentences

C_GRID = (1.0, 4.0, 16.0, 64.0)
CV_FOLDS = 5
TFIDF = "tfidf-char"
HELDOUT = "heldout"  # the primary held-out set: written last (see models/corpus/GUIDE.md)


def scores(y_true: list[str], y_pred: list[str], langs: list[str]) -> dict[str, Any]:
    """Macro-F1, per-label F1 and per-language macro-F1."""
    yt, yp, lg = np.asarray(y_true), np.asarray(y_pred), np.asarray(langs)
    per = f1_score(yt, yp, labels=list(LABELS), average=None, zero_division=0)
    out: dict[str, Any] = {
        "n": len(yt),
        "macro_f1": round(float(per.mean()), 4),
        "per_label": {lab: round(float(f), 4) for lab, f in zip(LABELS, per, strict=True)},
        "by_lang": {},
    }
    for lang in ("ja", "en"):
        m = lg == lang
        if m.any():
            f = f1_score(yt[m], yp[m], labels=list(LABELS), average="macro", zero_division=0)
            out["by_lang"][lang] = round(float(f), 4)
    return out


@dataclass
class Embedded:
    """Whole-text embeddings plus per-sentence embeddings of multi-sentence texts."""

    whole: np.ndarray
    sentences: list[np.ndarray | None]  # None for single-sentence texts
    lengths: list[np.ndarray | None]
    seconds: float
    texts: list[str]
    sentence_texts: list[list[str]]


def embed_examples(encoder: Any, rows: list[Example]) -> Embedded:
    """Embed each example's sentences and whole answer exactly as the product does."""
    t0 = time.perf_counter()
    split = [split_sentences(ex.text) for ex in rows]
    sent, whole = encode_answers(encoder, split)
    texts = [" ".join(parts) for parts in split]
    sentences: list[np.ndarray | None] = []
    lengths: list[np.ndarray | None] = []
    pos = 0
    for parts in split:
        if len(parts) > 1:
            sentences.append(sent[pos : pos + len(parts)])
            lengths.append(np.array([len(s) for s in parts], dtype=float))
        else:
            sentences.append(None)
            lengths.append(None)
        pos += len(parts)
    return Embedded(whole, sentences, lengths, time.perf_counter() - t0, texts, split)


def _features(emb: Embedded, idx: np.ndarray, char: CharNgrams | None) -> Any:
    return build_features(emb.whole[idx], [emb.texts[i] for i in idx], char)


def _fit_head(emb: Embedded, y: np.ndarray, idx: np.ndarray, C: float, char: bool, cv: int, rs: int):
    """Fit char n-grams (if enabled) and the head on rows idx only."""
    chars = CharNgrams().fit([emb.texts[i] for i in idx]) if char else None
    head = CauseHead(C=C, cv=cv, random_state=rs).fit(_features(emb, idx, chars), y[idx])
    return head, chars


def _predict_all(
    head: CauseHead, emb: Embedded, idx: np.ndarray, char: CharNgrams | None = None
) -> dict[str, np.ndarray]:
    """Combined probabilities for rows idx under every combination strategy."""
    whole = head.predict_proba(_features(emb, idx, char))
    out = {s: whole.copy() for s in COMBINE_STRATEGIES}
    for j, i in enumerate(idx):
        sent = emb.sentences[i]
        if sent is None:
            continue
        sp = head.predict_proba(build_features(sent, emb.sentence_texts[i], char))
        for s in COMBINE_STRATEGIES:
            out[s][j] = combine(sp, emb.lengths[i], whole[j], s)
    return out


def cross_validate(
    emb: Embedded, rows: list[Example], C: float, random_state: int = 0, char: bool = False
) -> dict[str, Any]:
    """Stratified k-fold CV of the product path; scores per combination strategy."""
    y = np.array([ex.label for ex in rows])
    langs = [ex.lang for ex in rows]
    folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=random_state)
    pred = {s: np.empty(len(y), dtype=object) for s in COMBINE_STRATEGIES}
    conf = np.zeros(len(y))
    for train_idx, test_idx in folds.split(emb.whole, y):
        head, chars = _fit_head(emb, y, train_idx, C, char, CV_FOLDS, random_state)
        probs = _predict_all(head, emb, test_idx, chars)
        for s, p in probs.items():
            pred[s][test_idx] = head.classes_[p.argmax(axis=1)]
        conf[test_idx] = probs["length"].max(axis=1)
    multi = np.array([s is not None for s in emb.sentences])
    by_strategy = {}
    for s in COMBINE_STRATEGIES:
        by_strategy[s] = {
            "all": scores(list(y), list(pred[s]), langs)["macro_f1"],
            "multi_sentence": round(float((pred[s][multi] == y[multi]).mean()), 4) if multi.any() else None,
        }
    return {"pred": pred, "by_strategy": by_strategy, "n_multi": int(multi.sum())}


def choose_c(emb: Embedded, rows: list[Example], random_state: int = 0, char: bool = False) -> tuple[float, dict]:
    """Pick C from C_GRID by CV macro-F1 of whole-text predictions (training corpus only)."""
    y = np.array([ex.label for ex in rows])
    folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=random_state + 1)
    results = {}
    for C in C_GRID:
        pred = np.empty(len(y), dtype=object)
        for tr, te in folds.split(emb.whole, y):
            # Raw OvR argmax (no calibration folds): C only needs a ranking, and this is 4x cheaper.
            chars = CharNgrams().fit([emb.texts[i] for i in tr]) if char else None
            head = CauseHead(C=C, random_state=random_state)
            head.classes_ = np.asarray(LABELS)
            coef, intercept = head._fit_ovr(_features(emb, tr, chars), y[tr])
            scores_te = np.asarray(_features(emb, te, chars) @ coef.T) + intercept
            pred[te] = head.classes_[scores_te.argmax(axis=1)]
        results[C] = round(float(f1_score(y, pred, labels=list(LABELS), average="macro")), 4)
    best = max(C_GRID, key=lambda c: (results[c], -c))
    return best, results


def choose_combine(cv: dict[str, Any]) -> str:
    """Best strategy by multi-sentence CV accuracy, then overall macro-F1; ties -> listed first."""
    by = cv["by_strategy"]
    return max(
        COMBINE_STRATEGIES,
        key=lambda s: (by[s]["multi_sentence"] or 0, by[s]["all"], -COMBINE_STRATEGIES.index(s)),
    )


HeldoutSets = dict[str, list[Example]]


def evaluate_backend(
    encoder: Any,
    train: list[Example],
    heldout: HeldoutSets,
    random_state: int = 0,
    char: bool = False,
    embedded: tuple[Embedded, dict[str, Embedded]] | None = None,
) -> dict[str, Any]:
    """CV and held-out figures for one backend (optionally + char n-grams), choices made on CV.

    ``heldout`` maps set names to examples (see :func:`corpus.load_heldout_sets`); every set is
    scored under ``heldout_sets`` and the primary one (``heldout``) also under ``heldout``.
    """
    if embedded is None:
        embedded = (embed_examples(encoder, train), {k: embed_examples(encoder, v) for k, v in heldout.items() if v})
    emb_train, emb_h = embedded
    C, c_scores = choose_c(emb_train, train, random_state, char)
    cv = cross_validate(emb_train, train, C, random_state, char)
    strategy = choose_combine(cv)
    y = [ex.label for ex in train]
    langs = [ex.lang for ex in train]
    result: dict[str, Any] = {
        "char_ngrams": char,
        "C": C,
        "C_cv_macro_f1": {str(k): v for k, v in c_scores.items()},
        "combine": strategy,
        "combine_cv": cv["by_strategy"],
        "n_multi_sentence": cv["n_multi"],
        "cv": scores(y, list(cv["pred"][strategy]), langs),
        "embed_seconds_train": round(emb_train.seconds, 2),
    }
    everything = np.arange(len(train))
    head, chars = _fit_head(emb_train, np.array(y), everything, C, char, CV_FOLDS, random_state)
    result["char"] = chars
    result["threshold"] = round(head.threshold_, 4)
    oof_conf = head.oof_proba_.max(axis=1)
    result["oof_coverage_at_threshold"] = round(float((oof_conf >= head.threshold_).mean()), 4)
    result["head"] = head
    result["embedded"] = embedded
    result["heldout_sets"] = {}
    for name, rows in heldout.items():
        if not rows:
            continue
        probs = _predict_all(head, emb_h[name], np.arange(len(rows)), chars)[strategy]
        pred = list(head.classes_[probs.argmax(axis=1)])
        yh = [ex.label for ex in rows]
        res = scores(yh, pred, [ex.lang for ex in rows])
        covered = probs.max(axis=1) >= head.threshold_
        correct = np.array(pred) == np.array(yh)
        res["coverage"] = round(float(covered.mean()), 4)
        res["accuracy_when_not_unclear"] = round(float(correct[covered].mean()), 4) if covered.any() else None
        result["heldout_sets"][name] = res
    if HELDOUT in result["heldout_sets"]:
        result["heldout"] = result["heldout_sets"][HELDOUT]
    return result


def _tfidf_model(random_state: int) -> Any:
    return (
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=1),
        OneVsRestClassifier(
            LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000, random_state=random_state)
        ),
    )


def evaluate_tfidf(train: list[Example], heldout: HeldoutSets, random_state: int = 0) -> dict[str, Any]:
    """TF-IDF character n-gram (1-3) + one-vs-rest logistic regression baseline, same splits."""
    texts = np.array([normalize(ex.text) for ex in train], dtype=object)
    y = np.array([ex.label for ex in train])
    folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=random_state)
    pred = np.empty(len(y), dtype=object)
    for tr, te in folds.split(texts, y):
        vec, clf = _tfidf_model(random_state)
        clf.fit(vec.fit_transform(texts[tr]), y[tr])
        pred[te] = clf.predict(vec.transform(texts[te]))
    result: dict[str, Any] = {"cv": scores(list(y), list(pred), [ex.lang for ex in train]), "heldout_sets": {}}
    if any(heldout.values()):
        vec, clf = _tfidf_model(random_state)
        clf.fit(vec.fit_transform(texts), y)
        for name, rows in heldout.items():
            if rows:
                ph = clf.predict(vec.transform([normalize(ex.text) for ex in rows]))
                result["heldout_sets"][name] = scores([ex.label for ex in rows], list(ph), [ex.lang for ex in rows])
        if HELDOUT in result["heldout_sets"]:
            result["heldout"] = result["heldout_sets"][HELDOUT]
    return result


def format_tables(results: dict[str, dict[str, Any]], n_train: int, heldout: dict[str, int]) -> str:
    """Readable tables of CV and held-out scores for every evaluated model.

    ``heldout`` maps each held-out set's name to its size, primary set first.
    """
    lines: list[str] = []
    head = f"{'model':<14}{'macro-F1':>9}{'ja':>7}{'en':>7}" + "".join(f"{lab:>11}" for lab in LABELS)
    cv_title = f"Stratified {CV_FOLDS}-fold CV on the training corpus (n={n_train})"
    tables: list[tuple[str | None, str]] = [(None, cv_title)]
    for name, n in heldout.items():
        what = "written last, primary" if name == HELDOUT else "earlier set, evaluation only"
        tables.append((name, f"Held-out {name}.jsonl ({what}), model trained on the whole corpus (n={n})"))
    for name, title in tables:
        lines += ["", title, head, "-" * len(head)]
        for model, res in results.items():
            s = res.get("cv") if name is None else res.get("heldout_sets", {}).get(name)
            if not s:
                continue
            lines.append(
                f"{model:<14}{s['macro_f1']:>9.3f}{s['by_lang'].get('ja', 0):>7.3f}"
                f"{s['by_lang'].get('en', 0):>7.3f}" + "".join(f"{s['per_label'][lab]:>11.3f}" for lab in LABELS)
            )
        if name is not None and TFIDF in results:
            base = results[TFIDF].get("heldout_sets", {}).get(name)
            if base:
                margins = ", ".join(
                    f"{m} {res['heldout_sets'][name]['macro_f1'] - base['macro_f1']:+.3f}"
                    for m, res in results.items()
                    if m != TFIDF and name in res.get("heldout_sets", {})
                )
                lines.append(f"vs {TFIDF}: {margins}")
    lines += ["", "Choices made on CV (training corpus only) and unclear threshold"]
    lines.append(
        f"{'model':<14}{'C':>6}{'combine':>14}{'threshold':>11}{'OOF cover':>11}"
        f"{'held-out cover':>16}{'acc if clear':>14}{'embed s':>9}"
    )
    for name, res in results.items():
        if "C" not in res:
            continue
        h = res.get("heldout", {})
        acc = h.get("accuracy_when_not_unclear")
        lines.append(
            f"{name:<14}{res['C']:>6g}{res['combine']:>14}{res['threshold']:>11.3f}"
            f"{res['oof_coverage_at_threshold']:>11.3f}{h.get('coverage', 0):>16.3f}"
            f"{(acc if acc is not None else 0):>14.3f}{res['embed_seconds_train']:>9.1f}"
        )
    lines += ["", "Long answers: CV accuracy on multi-sentence training answers per combination"]
    strategies = COMBINE_STRATEGIES
    lines.append(f"{'model':<14}" + "".join(f"{s:>14}" for s in strategies))
    for name, res in results.items():
        if "combine_cv" not in res:
            continue
        cells = "".join(f"{res['combine_cv'][s]['multi_sentence'] or 0:>14.3f}" for s in strategies)
        lines.append(f"{name:<14}{cells}   (n={res['n_multi_sentence']})")
    if any(name.startswith("e5-setfit") for name in results):
        lines += [
            "",
            "note: e5-setfit's body was fine-tuned on the whole training corpus, so its CV row is",
            "optimistic (not nested); only its held-out row is an honest estimate.",
        ]
    return "\n".join(lines)
