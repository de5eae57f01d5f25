from __future__ import annotations

import pytest

from diagnosis.nlp import split_sentences
from diagnosis.nlp.text import guess_lang, normalize


def test_japanese_terminators_and_line_breaks():
    text = "使い方がわからない。研修が一回しかなかった！誰に聞けばいいの？\n上司も使っていない"
    assert split_sentences(text) == [
        "使い方がわからない。",
        "研修が一回しかなかった!",
        "誰に聞けばいいの?",
        "上司も使っていない",
    ]


def test_japanese_quotes_keep_inner_full_stop():
    text = "部長は「AIは遊びだ。」と言っている。だから使いにくい。"
    assert split_sentences(text) == ["部長は「AIは遊びだ。」と言っている。", "だから使いにくい。"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "I tried v1.5 of the tool, e.g. for emails. It was 3.5 times slower... Who do I ask?",
            ["I tried v1.5 of the tool, e.g. for emails.", "It was 3.5 times slower...", "Who do I ask?"],
        ),
        (
            "Mr. Tanaka never uses it. Nobody else does either.",
            ["Mr. Tanaka never uses it.", "Nobody else does either."],
        ),
        ('"It is useless." she said. We stopped.', ['"It is useless." she said.', "We stopped."]),
    ],
)
def test_english_decimals_abbreviations_quotes(text, expected):
    assert split_sentences(text) == expected


def test_mixed_languages_and_fullwidth():
    text = "ＡＩの研修がない。There is no manual either! 誰にも聞けない"
    assert split_sentences(text) == ["AIの研修がない。", "There is no manual either!", "誰にも聞けない"]


def test_fragments_are_glued_and_empty_is_empty():
    assert split_sentences("はい。特になし") == ["はい。 特になし"]
    assert split_sentences("  \n ") == []


def test_normalize_and_lang():
    assert normalize("ｾｷｭﾘﾃｨ　が  不安\r\n") == "セキュリティ が 不安"
    assert guess_lang("研修がない") == "ja"
    assert guess_lang("no training") == "en"
