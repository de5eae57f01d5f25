"""Whole-answer vectors pooled from the sentence pass, and the fast char n-gram counter."""

from __future__ import annotations

import numpy as np
import pytest

from diagnosis.nlp.classifier import CharNgrams
from diagnosis.nlp.corpus import load_train
from diagnosis.nlp.embeddings import encode_answers, get_encoder
from diagnosis.nlp.text import normalize, split_sentences

ANSWERS = [
    "使い方がわからない",
    "上司が全然使っていない。研修もない。何に使えばいいのかも正直わからない。",
    "I tried it once. The answers were wrong. Nobody to ask.",
    "",
    "ＡＩは便利だと思います！\nでも社内ルールがない",
]


@pytest.fixture(scope="module")
def use(models_dir):
    return get_encoder("use", models_dir)


def test_sentence_vectors_are_exactly_use_encode(use):
    split = [split_sentences(t) for t in ANSWERS]
    sent, whole = encode_answers(use, split)
    flat = [s for parts in split for s in parts]
    assert sent.shape == (len(flat), 512)
    np.testing.assert_allclose(sent, use.encode(flat), atol=1e-5)
    # one-sentence answers: the whole vector is the sentence vector; no sentence: a zero row
    np.testing.assert_allclose(whole[0], use.encode([ANSWERS[0]])[0], atol=1e-5)
    assert not whole[3].any()
    np.testing.assert_allclose(np.linalg.norm(whole[[0, 1, 2, 4]], axis=1), 1.0, atol=1e-5)


def test_pooled_whole_is_close_to_encoding_the_joined_answer(use, models_dir):
    """Pooling differs from re-encoding only at sentence edges: measured on the corpus's long answers."""
    rows = load_train(models_dir / "corpus")
    split = [p for p in (split_sentences(r.text) for r in rows) if len(p) > 1][:120]
    _, whole = encode_answers(use, split)
    joined = use.encode([" ".join(p) for p in split])
    cos = (whole * joined).sum(axis=1)
    assert cos.mean() > 0.85
    # and closer to its own joined text than to any other answer's
    sims = whole @ joined.T
    assert (sims.argmax(axis=1) == np.arange(len(split))).mean() > 0.95


def test_generic_encoders_encode_the_joined_answer(use):
    """Backends without their own encode_answers (sentence-transformers folders) join sentences."""

    class Plain:
        name = "plain"

        def encode(self, texts):
            return use.encode(texts)

    split = [split_sentences(t) for t in ANSWERS]
    sent, whole = encode_answers(Plain(), split)
    np.testing.assert_allclose(whole[1], use.encode([" ".join(split[1])])[0], atol=1e-5)
    np.testing.assert_allclose(whole[0], sent[0], atol=1e-6)
    assert not whole[3].any()


def test_char_ngrams_match_scikit_learn_and_add_up(models_dir):
    texts = [r.text for r in load_train(models_dir / "corpus")]
    char = CharNgrams().fit(texts[:600])
    probe = texts[600:900] + ["ＡＩ  使い方\nわからない", "a", "I  don't KNOW.", "   "]
    ref = char.vectorizer.transform([normalize(t) for t in probe])
    assert abs(char.transform(probe) - ref).max() < 1e-12
    # an answer's counts are the sum of its sentences' (joined by a space)
    parts = split_sentences("研修がない。上司も使っていない。聞ける人もいない。")
    summed = char.counts(parts).sum(axis=0)
    assert np.array_equal(np.asarray(summed).ravel(), char.counts([" ".join(parts)]).toarray().ravel())


@pytest.fixture(scope="module")
def e5_int8(models_dir):
    return get_encoder("e5-int8", models_dir)


def test_int8_onnx_e5_matches_the_sentence_transformers_folder(e5_int8, models_dir):
    """The set-up's int8 export stays close to the fp32 SentenceTransformer it came from."""
    from diagnosis.nlp.embeddings import SentenceTransformerEncoder

    texts = [t for t in ANSWERS if t] + ["研修が一回しかなかった", "My manager never uses it."]
    ref = SentenceTransformerEncoder(models_dir / "embeddings" / "multilingual-e5-small", name="e5").encode(texts)
    ours = e5_int8.encode(texts)
    assert ours.shape == ref.shape == (len(texts), 384)
    cos = (ours * ref).sum(axis=1)
    assert cos.min() > 0.95, cos
    # int8 noise is far smaller than the difference between texts
    assert ((ours @ ref.T).argmax(axis=1) == np.arange(len(texts))).all()


def test_int8_onnx_e5_pools_answers_from_its_sentences(e5_int8):
    split = [split_sentences(t) for t in ANSWERS]
    sent, whole = encode_answers(e5_int8, split)
    flat = [s for parts in split for s in parts]
    # an answer's sentences share one run (one int8 activation scale): each sentence's vector is
    # that of its own tokens, up to quantisation noise; a one-sentence answer is exactly encode()
    assert ((sent * e5_int8.encode(flat)).sum(axis=1) > 0.98).all()
    np.testing.assert_allclose(sent[0], e5_int8.encode([ANSWERS[0]])[0], atol=1e-6)
    np.testing.assert_allclose(whole[0], sent[0], atol=1e-6)
    assert not whole[3].any()
    joined = e5_int8.encode([" ".join(p) for p in split if len(p) > 1])
    assert (whole[[1, 2, 4]] * joined).sum(axis=1).min() > 0.9
    # each pooled answer is nearest to its own re-encoded text, not to a neighbour's
    assert ((whole[[1, 2, 4]] @ joined.T).argmax(axis=1) == np.arange(3)).all()


@pytest.mark.parametrize("encoder", ["e5-int8", "use"])
def test_results_do_not_depend_on_the_other_answers_in_the_call(encoder, models_dir):
    """An answer gets the same scores and label alone or in any batch (int8 activations are per run)."""
    from diagnosis.nlp import get_classifier

    clf = get_classifier(models_dir, encoder)
    texts = [r.text for r in load_train(models_dir / "corpus")][::40][:30] + ANSWERS
    together = clf.classify(texts)
    alone = [clf.classify([t])[0] for t in texts]
    reversed_ = clf.classify(texts[::-1])[::-1]
    for a, b, c in zip(together, alone, reversed_, strict=True):
        assert a.label == b.label == c.label
        for k in a.scores:
            assert abs(a.scores[k] - b.scores[k]) < 1e-3
            assert abs(a.scores[k] - c.scores[k]) < 1e-3


def test_all_empty_answers_keep_the_vector_width(use, e5_int8):
    for enc, dim in ((use, 512), (e5_int8, 384)):
        sent, whole = encode_answers(enc, [[], []])
        assert sent.shape == (0, dim)
        assert whole.shape == (2, dim)
        assert not whole.any()


def test_summed_sentence_counts_give_the_same_scores_as_recounting(models_dir, monkeypatch):
    """classify() reuses its sentences' n-gram counts for whole answers; recounting must agree."""
    import diagnosis.nlp.classifier as classifier_module
    from diagnosis.nlp import get_classifier

    clf = get_classifier(models_dir, "use")
    texts = [r.text for r in load_train(models_dir / "corpus") if len(split_sentences(r.text)) > 1][:40] + ANSWERS
    fast = clf.classify(texts)
    original = classifier_module.build_features
    monkeypatch.setattr(
        classifier_module, "build_features", lambda emb, txt, char, counts=None: original(emb, txt, char, None)
    )
    slow = clf.classify(texts)
    for a, b in zip(fast, slow, strict=True):
        assert a.label == b.label
        assert a.scores == b.scores
