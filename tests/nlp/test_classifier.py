from __future__ import annotations

import json

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from diagnosis.nlp import LABELS, classify, get_classifier
from diagnosis.nlp.classifier import CauseHead, Classification, safe_model_path


def test_estimator_contract(corpus_sample):
    X, y = corpus_sample
    head = CauseHead(C=2.0, cv=3, random_state=7)
    assert not [k for k in vars(head) if k.endswith("_")]  # __init__ stores params only
    assert clone(head).get_params() == head.get_params()
    assert head.fit(X, y) is head
    assert list(head.classes_) == sorted(LABELS)  # scikit-learn's order; the wrapper shows LABELS order
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


@parametrize_with_checks([CauseHead(cv=3)])
def test_the_head_is_a_scikit_learn_classifier(estimator, check):
    """Every scikit-learn estimator check passes, none excused."""
    check(estimator)


def test_the_wrapper_shows_labels_in_display_order(classifier):
    """The head's columns are sorted; scores, probabilities and the labels of a classification
    come in the product's order (LABELS), whatever the head's."""
    assert list(classifier.head.classes_) == sorted(LABELS)
    assert classifier.labels_ == list(LABELS)
    (result,) = classifier.classify(["研修がなくて使い方がわからない"])
    assert list(result.scores) == list(LABELS)
    p = classifier.predict_proba("研修がなくて使い方がわからない")[0]
    assert LABELS[int(p.argmax())] == result.label == "support"


def test_saved_heads_carry_their_format_and_library_versions(corpus_sample, tmp_path, caplog):
    X, y = corpus_sample
    head = CauseHead(cv=3).fit(X, y)
    head.save(tmp_path / "h.npz")
    with np.load(tmp_path / "h.npz") as z:
        versions = json.loads(str(z["versions"]))
    assert versions["format"] == 2 and versions["scikit-learn"] == sklearn.__version__
    again = CauseHead.load(tmp_path / "h.npz", tmp_path)
    np.testing.assert_array_equal(again.predict_proba(X), head.predict_proba(X))
    # a format-1 head (rows in display order, no versions) loads reordered to the same model
    order = [list(head.classes_).index(c) for c in LABELS]
    np.savez(tmp_path / "old.npz", classes=np.array(LABELS), coef=head.coef_[order],
             intercept=head.intercept_[order], platt=head.platt_[order], threshold=np.array([head.threshold_]),
             params=np.array(json.dumps({**head.get_params(), "labels": list(LABELS)})))
    old = CauseHead.load(tmp_path / "old.npz", tmp_path)
    np.testing.assert_allclose(old.predict_proba(X), head.predict_proba(X))
    # another release of scikit-learn: loaded with a warning; an unknown format: refused
    with np.load(tmp_path / "h.npz") as z:
        arrays = dict(z)
    np.savez(tmp_path / "v.npz", **{**arrays, "versions": np.array(json.dumps({**versions, "scikit-learn": "0.1"}))})
    CauseHead.load(tmp_path / "v.npz", tmp_path)
    assert "made with scikit-learn 0.1" in caplog.text
    np.savez(tmp_path / "f.npz", **{**arrays, "versions": np.array(json.dumps({**versions, "format": 9}))})
    with pytest.raises(ValueError, match="model format 9 is newer"):
        CauseHead.load(tmp_path / "f.npz", tmp_path)


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
