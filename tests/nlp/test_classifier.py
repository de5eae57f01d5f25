from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from diagnosis.nlp import LABELS, classify, get_classifier
from diagnosis.nlp.classifier import CauseHead, Classification, safe_model_path


def test_estimator_contract(corpus_sample):
    X, y = corpus_sample
    head = CauseHead(C=2.0, cv=3, random_state=7)
    assert not [k for k in vars(head) if k.endswith("_")]  # __init__ stores params only
    assert clone(head).get_params() == head.get_params()
    assert head.fit(X, y) is head
    assert list(head.classes_) == list(LABELS)
    proba = head.predict_proba(X)
    assert proba.shape == (len(y), len(LABELS))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    # columns follow classes_: predict is the argmax column's class, and training rows of
    # class k get their highest mean probability in column k
    np.testing.assert_array_equal(head.predict(X), head.classes_[proba.argmax(axis=1)])
    for k, label in enumerate(head.classes_):
        rows = np.array(y) == label
        assert proba[rows].mean(axis=0).argmax() == k
    assert 0.25 <= head.threshold_ <= 0.9


def test_random_state_determinism(corpus_sample):
    X, y = corpus_sample
    a = CauseHead(cv=3, random_state=1).fit(X, y)
    b = CauseHead(cv=3, random_state=1).fit(X, y)
    c = CauseHead(cv=3, random_state=2).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.platt_, c.platt_)  # folds depend on random_state


def test_rejects_unknown_label(corpus_sample):
    X, y = corpus_sample
    with pytest.raises(ValueError):
        CauseHead(cv=3).fit(X, ["bogus"] + y[1:])


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("そもそも何の業務に使えばいいのか分かりません", "purpose"),
        ("部長も課長も誰も使っていないし、会社の方針も出ていない", "leadership"),
        ("プロンプトの書き方が分からず、研修もなかった", "support"),
        ("顧客情報が漏れるのが怖いので使えない", "other"),
        ("I have no idea which of my tasks it could help with.", "purpose"),
        ("There was no training and I don't know how to write prompts.", "support"),
        ("I'm worried about confidential data leaking.", "other"),
    ],
)
def test_clear_examples(classifier, text, label):
    result = classifier.classify([text])[0]
    assert result.label == label, result.scores


def test_result_format(classifier):
    (result,) = classify(["研修が一回しかなかった"], backend="use")
    assert isinstance(result, Classification)
    assert set(result.scores) == set(LABELS)
    assert abs(sum(result.scores.values()) - 1) < 1e-3
    assert result.confidence == max(result.scores.values())
    assert result.to_dict()["label"] == result.label
    with pytest.raises(AttributeError):
        result.label = "other"  # frozen


def test_unclear_below_threshold(classifier):
    texts = ["使い方がわからない", "部長が使っていない", "ええと、まあ、なんとも"]
    normal = classifier.classify(texts)
    for r in normal:
        assert (r.label == "unclear") == (r.confidence < classifier.head.threshold_)
    strict = clone(classifier.head)
    vars(strict).update({k: v for k, v in vars(classifier.head).items() if k.endswith("_")})
    strict.threshold_ = 1.01  # above any probability
    from diagnosis.nlp.classifier import CauseClassifier

    picky = CauseClassifier(classifier.encoder, strict, combine=classifier.combine, char=classifier.char)
    assert [r.label for r in picky.classify(texts)] == ["unclear"] * 3


def test_long_text_combined_from_sentences(classifier):
    text = (
        "導入時に一度だけ研修がありました。でもプロンプトの書き方がよく分からないままです。"
        "社内に質問できる人もいません。"
    )
    (result,) = classifier.classify([text])
    assert len(result.sentences) == 3
    assert all(s.label in (*LABELS, "unclear") for s in result.sentences)
    assert result.label == "support"
    assert abs(sum(result.scores.values()) - 1) < 1e-3


def test_get_classifier_is_cached(models_dir):
    assert get_classifier(models_dir, "use") is get_classifier(models_dir, "use")


def test_load_refuses_files_outside_models(tmp_path, models_dir, classifier):
    outside = tmp_path / "head.npz"
    classifier.head.save(outside)
    with pytest.raises(PermissionError):
        CauseHead.load(outside, models_dir)
    with pytest.raises(PermissionError):
        safe_model_path(models_dir / ".." / "pyproject.toml", models_dir)
    link_dir = tmp_path / "models"
    link_dir.mkdir()
    (link_dir / "evil.npz").symlink_to(outside)  # a symlink inside pointing outside
    with pytest.raises(PermissionError):
        CauseHead.load(link_dir / "evil.npz", link_dir)
    assert CauseHead.load(outside, tmp_path).threshold_ == classifier.head.threshold_
