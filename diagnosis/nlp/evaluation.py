"""Measured accuracy: stratified CV on the training corpus and scores on the evaluation sets.

Every choice inside a model (the regularisation C, the long-text combination strategy, the unclear
threshold) is made on the training corpus by cross-validation; the evaluation sets (the wild set,
primary, and the clean held-out sets) are only scored.
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
from diagnosis.nlp.corpus import PRIMARY, Example
from diagnosis.nlp.embeddings import encode_answers
from diagnosis.nlp.labels import LABELS
from diagnosis.nlp.text import normalize, split_sentences

C_GRID = (1.0, 4.0, 16.0, 64.0)
CV_FOLDS = 5
TFIDF = "tfidf-char"


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
            coef, intercept = head.fit_linear(_features(emb, tr, chars), y[tr], classes=LABELS)
            scores_te = np.asarray(_features(emb, te, chars) @ coef.T) + intercept
            pred[te] = np.asarray(LABELS)[scores_te.argmax(axis=1)]
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


EvalSets = dict[str, list[Example]]


def embed_all(encoder: Any, train: list[Example], eval_sets: EvalSets) -> tuple[Embedded, dict[str, Embedded]]:
    """Embeddings of the training rows and of every evaluation set."""
    return embed_examples(encoder, train), {k: embed_examples(encoder, v) for k, v in eval_sets.items() if v}


def score_sets(
    head: CauseHead, emb: dict[str, Embedded], eval_sets: EvalSets, strategy: str, char: CharNgrams | None
) -> dict[str, Any]:
    """Scores of a fitted head on every evaluation set, with coverage at its unclear threshold."""
    out: dict[str, Any] = {}
    for name, rows in eval_sets.items():
        if not rows:
            continue
        every = _predict_all(head, emb[name], np.arange(len(rows)), char)
        probs = every[strategy]
        pred = list(head.classes_[probs.argmax(axis=1)])
        yh = [ex.label for ex in rows]
        res = scores(yh, pred, [ex.lang for ex in rows])
        # what each long-answer combination would have scored (reported, not chosen here)
        res["by_combine"] = {
            s: scores(yh, list(head.classes_[p.argmax(axis=1)]), [ex.lang for ex in rows])["macro_f1"]
            for s, p in every.items()
        }
        covered = probs.max(axis=1) >= head.threshold_
        correct = np.array(pred) == np.array(yh)
        res["coverage"] = round(float(covered.mean()), 4)
        res["unclear_share"] = round(1.0 - res["coverage"], 4)
        res["accuracy_when_not_unclear"] = round(float(correct[covered].mean()), 4) if covered.any() else None
        res["confusion"] = confusion(yh, pred)
        out[name] = res | _by_part(rows, yh, pred)
    return out


def _by_part(rows: list[Example], y_true: list[str], y_pred: list[str]) -> dict[str, Any]:
    """Scores per part of an evaluation set whose rows name their part (empty when it has one)."""
    parts = sorted({ex.part for ex in rows if ex.part})
    if len(parts) < 2:
        return {}
    out = {}
    for part in parts:
        m = [i for i, ex in enumerate(rows) if ex.part == part]
        out[part] = scores([y_true[i] for i in m], [y_pred[i] for i in m], [rows[i].lang for i in m])
    return {"by_part": out}


def primary_of(scored: dict[str, Any]) -> str | None:
    """The name of the primary figure among scored evaluation sets: the wild set, else the first."""
    return PRIMARY if PRIMARY in scored else next(iter(scored), None)


def confusion(y_true: list[str], y_pred: list[str]) -> dict[str, dict[str, int]]:
    """Counts of predicted labels per true label (rows: truth), every label present."""
    out = {t: {p: 0 for p in LABELS} for t in LABELS}
    for t, p in zip(y_true, y_pred, strict=True):
        out[t][p] += 1
    return out


def evaluate_backend(
    encoder: Any,
    train: list[Example],
    eval_sets: EvalSets,
    random_state: int = 0,
    char: bool = False,
    embedded: tuple[Embedded, dict[str, Embedded]] | None = None,
) -> dict[str, Any]:
    """CV and evaluation-set figures for one frozen backend (optionally + char n-grams).

    ``eval_sets`` maps set names to examples (see :func:`corpus.load_eval_sets`); every set is
    scored under ``eval_sets``, and ``primary`` names the primary one.
    """
    if embedded is None:
        embedded = embed_all(encoder, train, eval_sets)
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
    result["eval_sets"] = score_sets(head, emb_h, eval_sets, strategy, chars)
    result["primary"] = primary_of(result["eval_sets"])
    return result


def _tfidf_model(random_state: int) -> Any:
    return (
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=1),
        OneVsRestClassifier(
            LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000, random_state=random_state)
        ),
    )


def evaluate_tfidf(train: list[Example], eval_sets: EvalSets, random_state: int = 0) -> dict[str, Any]:
    """TF-IDF character n-gram (1-3) + one-vs-rest logistic regression baseline, same splits."""
    texts = np.array([normalize(ex.text) for ex in train], dtype=object)
    y = np.array([ex.label for ex in train])
    folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=random_state)
    pred = np.empty(len(y), dtype=object)
    for tr, te in folds.split(texts, y):
        vec, clf = _tfidf_model(random_state)
        clf.fit(vec.fit_transform(texts[tr]), y[tr])
        pred[te] = clf.predict(vec.transform(texts[te]))
    result: dict[str, Any] = {"cv": scores(list(y), list(pred), [ex.lang for ex in train]), "eval_sets": {}}
    if any(eval_sets.values()):
        vec, clf = _tfidf_model(random_state)
        clf.fit(vec.fit_transform(texts), y)
        for name, rows in eval_sets.items():
            if rows:
                ph = list(clf.predict(vec.transform([normalize(ex.text) for ex in rows])))
                yh = [ex.label for ex in rows]
                res = scores(yh, ph, [ex.lang for ex in rows]) | {"confusion": confusion(yh, ph)}
                result["eval_sets"][name] = res | _by_part(rows, yh, ph)
    result["primary"] = primary_of(result["eval_sets"])
    return result


# -- fine-tuned body (tools.finetune) ------------------------------------------------------
def _char_head(
    texts: list[str], y: np.ndarray, C: float, random_state: int
) -> tuple[CharNgrams, np.ndarray, np.ndarray]:
    """A char n-gram-only OvR linear layer: its vocabulary, coefficients and intercepts."""
    chars = CharNgrams().fit(texts)
    head = CauseHead(C=C, random_state=random_state)
    # rows in LABELS order: they are added to the fine-tuned head's, which are
    coef, intercept = head.fit_linear(chars.transform(texts), y, classes=LABELS)
    return chars, coef, intercept


def _char_oof(emb: Embedded, y: np.ndarray, C: float, random_state: int) -> np.ndarray:
    """Out-of-fold OvR scores of a char n-gram-only head, from its own stratified CV folds
    (every answer scored by a char head that never saw it, as the body's logits are)."""
    oof = np.zeros((len(y), len(LABELS)))
    folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=random_state)
    for tr, te in folds.split(np.zeros(len(y)), y):
        chars, coef, intercept = _char_head([emb.texts[i] for i in tr], y[tr], C, random_state)
        oof[te] = np.asarray(chars.transform([emb.texts[i] for i in te]) @ coef.T) + intercept
    return oof


CHAR_WEIGHTS = (0.25, 0.5, 1.0)
CHAR_C = 16.0


def evaluate_finetuned(
    encoder: Any,
    train: list[Example],
    eval_sets: EvalSets,
    adapter: dict[str, np.ndarray],
    oof: np.ndarray,
    random_state: int = 0,
    char: bool = False,
    embedded: tuple[Embedded, dict[str, Embedded]] | None = None,
) -> dict[str, Any]:
    """Figures for a body fine-tuned with its own linear head (``tools.finetune``).

    ``oof`` holds that head's out-of-fold scores for ``train`` (cross-fitted: each answer scored by
    a body trained without it), so CV, Platt scaling and the unclear threshold are honest. With
    ``char``, a char n-gram head is added to the fine-tuned scores with the weight (from
    ``CHAR_WEIGHTS``) that maximises out-of-fold macro-F1; its columns join the head's
    coefficients, so the product path stays ``[embedding | char tf-idf] @ coef.T``.
    """
    if embedded is None:
        embedded = embed_all(encoder, train, eval_sets)
    emb_train, emb_h = embedded
    y = np.array([ex.label for ex in train])
    langs = [ex.lang for ex in train]
    coef, intercept = adapter["head_coef"], adapter["head_intercept"]
    chars, weight, weights_cv = None, 0.0, {}
    scores_oof = oof
    if char:
        char_oof = _char_oof(emb_train, y, CHAR_C, random_state)
        for w in CHAR_WEIGHTS:
            pred = np.asarray(LABELS)[(oof + w * char_oof).argmax(axis=1)]
            weights_cv[str(w)] = scores(list(y), list(pred), langs)["macro_f1"]
        weight = max(CHAR_WEIGHTS, key=lambda w: (weights_cv[str(w)], -w))
        scores_oof = oof + weight * char_oof
        chars, c_coef, c_intercept = _char_head(emb_train.texts, y, CHAR_C, random_state)
        coef = np.hstack([coef, weight * c_coef])
        intercept = intercept + weight * c_intercept
    head = CauseHead.from_linear(coef, intercept, scores_oof, y)
    pred = head.classes_[head.oof_proba_.argmax(axis=1)]
    multi = np.array([s is not None for s in emb_train.sentences])
    whole_cv = {
        "all": scores(list(y), list(pred), langs)["macro_f1"],
        "multi_sentence": round(float((pred[multi] == y[multi]).mean()), 4) if multi.any() else None,
    }
    result: dict[str, Any] = {
        "char_ngrams": char,
        "char_weight": weight,
        "char_weight_cv_macro_f1": weights_cv,
        "C": None,
        "C_cv_macro_f1": {},
        "combine": "whole",
        # the body was trained on pooled whole answers, so "whole" is the only strategy it knows
        "combine_cv": {"whole": whole_cv},
        "n_multi_sentence": int(multi.sum()),
        "cv": scores(list(y), list(pred), langs),
        "embed_seconds_train": round(emb_train.seconds, 2),
        "char": chars,
        "threshold": round(head.threshold_, 4),
        "oof_coverage_at_threshold": round(float((head.oof_proba_.max(axis=1) >= head.threshold_).mean()), 4),
        "head": head,
        "embedded": embedded,
    }
    result["eval_sets"] = score_sets(head, emb_h, eval_sets, "whole", chars)
    result["primary"] = primary_of(result["eval_sets"])
    return result


def format_tables(
    results: dict[str, dict[str, Any]],
    n_train: int,
    eval_sizes: dict[str, int],
    agreement: dict[str, Any] | None = None,
) -> str:
    """Readable tables: every evaluation set (primary first), CV, choices and long answers.

    ``eval_sizes`` maps each evaluation set's name to its size, primary set first; ``agreement``
    is the primary set's labelling-agreement record (its ceiling is printed beside the table).
    """
    lines: list[str] = []
    head = f"{'model':<16}{'macro-F1':>9}{'ja':>7}{'en':>7}" + "".join(f"{lab:>11}" for lab in LABELS)
    tables: list[tuple[str | None, str]] = []
    for name, n in eval_sizes.items():
        if name == PRIMARY:
            what = "PRIMARY: written to be hard, in real registers, labelled blind twice"
        else:
            what = "clean held-out set, secondary"
        tables.append((name, f"{name}.jsonl ({what}), model trained on the whole corpus (n={n})"))
    tables.append((None, f"Stratified {CV_FOLDS}-fold CV on the training corpus (n={n_train})"))
    for name, title in tables:
        lines += ["", title]
        if name == PRIMARY and agreement:
            lines.append(
                f"agreement ceiling: the two blind labellers agree on {agreement['labeller_agreement']:.3f} of "
                f"answers (Cohen's kappa {agreement['labeller_kappa']:.3f}); the final label's agreement with "
                f"each labeller averages {agreement['final_vs_labellers']:.3f}"
            )
        lines += [head, "-" * len(head)]
        for model, res in results.items():
            s = res.get("cv") if name is None else res.get("eval_sets", {}).get(name)
            if not s:
                continue
            lines.append(
                f"{model:<16}{s['macro_f1']:>9.3f}{s['by_lang'].get('ja', 0):>7.3f}"
                f"{s['by_lang'].get('en', 0):>7.3f}" + "".join(f"{s['per_label'][lab]:>11.3f}" for lab in LABELS)
            )
        parts = {p for res in results.values() for p in res.get("eval_sets", {}).get(name or "", {}).get("by_part", {})}
        for part in sorted(parts):
            cells = ", ".join(
                f"{m} {res['eval_sets'][name]['by_part'][part]['macro_f1']:.3f}"
                for m, res in results.items()
                if part in res.get("eval_sets", {}).get(name, {}).get("by_part", {})
            )
            n_part = next(iter(results.values()))["eval_sets"][name]["by_part"][part]["n"]
            lines.append(f"part {part} (n={n_part}): {cells}")
        if name is not None and TFIDF in results:
            base = results[TFIDF].get("eval_sets", {}).get(name)
            if base:
                margins = ", ".join(
                    f"{m} {res['eval_sets'][name]['macro_f1'] - base['macro_f1']:+.3f}"
                    for m, res in results.items()
                    if m != TFIDF and name in res.get("eval_sets", {})
                )
                if margins:
                    lines.append(f"vs {TFIDF}: {margins}")
    primary = next(iter(eval_sizes), None)
    lines += ["", f"Choices made on CV (training corpus only); unclear threshold and coverage on {primary}"]
    lines.append(
        f"{'model':<16}{'C':>6}{'combine':>14}{'threshold':>11}{'OOF cover':>11}"
        f"{'eval cover':>12}{'acc if clear':>14}{'embed s':>9}"
    )
    for name, res in results.items():
        if "combine" not in res:
            continue
        h = res.get("eval_sets", {}).get(primary, {})
        acc = h.get("accuracy_when_not_unclear")
        c = "-" if res.get("C") is None else f"{res['C']:g}"
        lines.append(
            f"{name:<16}{c:>6}{res['combine']:>14}{res['threshold']:>11.3f}"
            f"{res['oof_coverage_at_threshold']:>11.3f}{h.get('coverage', 0):>12.3f}"
            f"{(acc if acc is not None else 0):>14.3f}{res['embed_seconds_train']:>9.1f}"
        )
    if primary:
        lines += ["", f"Long answers: macro-F1 on {primary} per combination (reported; the choice is made on CV)"]
        lines.append(f"{'model':<16}" + "".join(f"{s:>14}" for s in COMBINE_STRATEGIES))
        for name, res in results.items():
            by = res.get("eval_sets", {}).get(primary, {}).get("by_combine")
            if by:
                lines.append(f"{name:<16}" + "".join(f"{by[s]:>14.3f}" for s in COMBINE_STRATEGIES))
    lines += ["", "Long answers: CV accuracy on multi-sentence training answers per combination"]
    strategies = COMBINE_STRATEGIES
    lines.append(f"{'model':<16}" + "".join(f"{s:>14}" for s in strategies))
    for name, res in results.items():
        if "combine_cv" not in res:
            continue
        cells = "".join(
            f"{res['combine_cv'][s]['multi_sentence'] or 0:>14.3f}" if s in res["combine_cv"] else f"{'-':>14}"
            for s in strategies
        )
        lines.append(f"{name:<16}{cells}   (n={res['n_multi_sentence']})")
    if primary:
        lines += ["", f"Confusion on {primary} (rows: true label; columns: predicted)"]
        for name, res in results.items():
            conf = res.get("eval_sets", {}).get(primary, {}).get("confusion")
            if not conf:
                continue
            lines.append(f"{name:<16}" + "".join(f"{lab[:8]:>9}" for lab in LABELS))
            for t in LABELS:
                lines.append(f"  {t:<14}" + "".join(f"{conf[t][p]:>9}" for p in LABELS))
    if any(name.startswith("e5-ft") for name in results):
        lines += [
            "",
            "note: e5-ft's CV row is cross-fitted (each answer scored by a body fine-tuned without it).",
        ]
    return "\n".join(lines)
