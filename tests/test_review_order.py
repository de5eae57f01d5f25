"""The review queue's order: unsure comments first, near-duplicates spread out, reasons given."""

from __future__ import annotations

from diagnosis.review import Candidate, agreement, margin, order


def cand(i, text, scores, label=None, sentences=None):
    label = label or max(scores, key=scores.get)
    return Candidate(i, text, label, scores, sentences)


SURE = {"purpose": 0.94, "leadership": 0.02, "support": 0.02, "other": 0.02}
TORN = {"purpose": 0.41, "leadership": 0.39, "support": 0.1, "other": 0.1}
EDGE = {"purpose": 0.53, "leadership": 0.27, "support": 0.1, "other": 0.1}


def test_unsure_and_borderline_comments_come_first_with_their_reasons():
    picks = order([cand(1, "使い道がない", SURE), cand(2, "部長次第かな", TORN),
                   cand(3, "研修はあったけど", EDGE)], threshold=0.58)
    assert [p.id for p in picks] == [2, 3, 1]
    assert "low_confidence" in picks[0].reasons and "near_threshold" in picks[1].reasons
    assert picks[2].reasons == ()
    assert margin(None) == 0.0


def test_sentences_that_disagree_raise_a_comment():
    plain = cand(1, "使い方がわからない", SURE)
    mixed = cand(2, "使い方がわからない。上司も使わない。", SURE, sentences=["support", "leadership"])
    picks = order([plain, mixed], threshold=0.5)
    assert picks[0].id == 2 and "sentences_disagree" in picks[0].reasons


def test_near_duplicates_are_spread_out():
    dupes = [cand(i, f"よろず相談に投げても返事がない{'。' * i}", TORN) for i in range(1, 6)]
    other = cand(9, "道場が平日の昼なので出られない", {**TORN, "purpose": 0.40})
    picks = order([*dupes, other], threshold=0.5, limit=3)
    assert 9 in [p.id for p in picks[:2]]  # without diversity it would come sixth
    assert [p.id for p in order([*dupes, other], threshold=0.5, diversity=0)][-1] == 9


def test_order_is_stable_and_limited():
    cands = [cand(i, f"コメント{i}", TORN) for i in range(10)]
    assert order(cands, 0.5, limit=4) == order(list(reversed(cands)), 0.5, limit=4)
    assert len(order(cands, 0.5, limit=4)) == 4 and len(order(cands, 0.5, pool=3)) == 10


def test_agreement_counts_reviews_only():
    assert agreement([]) == (0, None)
    assert agreement([("support", "support"), ("purpose", "leadership"), ("other", None)]) == (2, 0.5)
    # a correction made before the queue recorded the model's label counts, but not in the share
    assert agreement([(None, "support"), ("purpose", "purpose")]) == (2, 1.0)
