"""Questionnaire YAML validation and the shipped questionnaires."""

from __future__ import annotations

import textwrap

import pytest

from diagnosis.config import QUESTIONNAIRE_DIR
from diagnosis.questionnaire import (
    CAUSES,
    DONT_KNOW,
    PREFER_NOT,
    QuestionnaireError,
    load_directory,
    load_questionnaire,
    parse_questionnaire,
)

HEAD = """\
id: t
version: 1
title: {ja: テスト, en: Test}
sections:
  - id: s
    title: {ja: 節, en: Section}
    items:
"""


def parse_items(items_yaml: str):
    return parse_questionnaire(HEAD + textwrap.indent(textwrap.dedent(items_yaml), " " * 6),
                               "t.yaml")


def test_shipped_questionnaires_load():
    qs = load_directory(QUESTIONNAIRE_DIR)
    q = qs["ai-adoption"]
    assert q.kind == "survey"
    usage = q.item("usage")
    assert usage.type == "choice"
    assert usage.option_codes() == ("never", "tried_once", "monthly", "weekly", "daily")
    for cause in CAUSES:
        items = [i for i in q.items_of_type("likert") if i.cause == cause]
        assert len(items) >= 3, cause
        assert any(i.reverse for i in items), f"{cause} needs a reverse-worded item"
    assert q.item("reasons").type == "text" and q.item("help_wanted").type == "text"
    for seg in ("department", "role", "age_band", "tenure"):
        item = q.item(seg)
        assert item.type == "segment" and not item.required
        assert item.options[-1].code == PREFER_NOT
    for item in q.items:
        assert item.label.ja and item.label.en
        for o in item.options:
            assert o.label.ja and o.label.en
    guide = qs["interview-guide"]
    assert guide.kind == "interview_guide" and len(guide.items) >= 5


def test_every_item_type():
    q = parse_items("""\
    - id: c
      type: choice
      required: true
      label: {ja: 選択, en: Choice}
      options:
        - {code: a, label: {ja: あ, en: A}}
        - {code: b, label: {ja: い, en: B}}
    - id: l
      type: likert
      cause: support
      reverse: true
      dont_know: true
      label: {ja: 評価, en: Rating}
    - id: x
      type: text
      max_length: 200
      label: {ja: 自由記述, en: Free text}
    - id: department
      type: segment
      label: {ja: 部門, en: Department}
      options:
        - {code: sales, label: {ja: 営業, en: Sales}}
        - {code: it, label: {ja: IT, en: IT}}
    """)
    c, lik, x, d = q.items
    assert c.required and c.option_codes() == ("a", "b")
    assert lik.reverse and lik.cause == "support"
    assert lik.option_codes() == ("1", "2", "3", "4", "5", DONT_KNOW)
    assert x.max_length == 200
    assert d.option_codes() == ("sales", "it", PREFER_NOT)
    with pytest.raises(AttributeError):
        c.required = False  # frozen


@pytest.mark.parametrize("items, item, reason", [
    ("- id: l\n  type: likert\n  label: {ja: あ, en: A}\n", "l", "cause"),
    ("- id: l\n  type: likert\n  cause: money\n  label: {ja: あ, en: A}\n", "l", "cause must be"),
    ("- id: x\n  type: text\n  label: {ja: あ, en: A}\n", "x", "max_length"),
    ("- id: x\n  type: text\n  max_length: 99999\n  label: {ja: あ, en: A}\n", "x", "max_length"),
    ("- id: x\n  type: text\n  max_length: 10\n  label: {ja: あ}\n", "x", "'en'"),
    ("- id: x\n  type: slider\n  label: {ja: あ, en: A}\n", "x", "type must be"),
    ("- id: c\n  type: choice\n  label: {ja: あ, en: A}\n  options: [{code: a, label: {ja: あ, en: A}}]\n",
     "c", "at least 2"),
    ("- id: s\n  type: segment\n  required: true\n  label: {ja: あ, en: A}\n"
     "  options: [{code: a, label: {ja: あ, en: A}}, {code: b, label: {ja: い, en: B}}]\n",
     "s", "always optional"),
    ("- id: x\n  type: text\n  max_length: 10\n  label: {ja: あ, en: A}\n"
     "- id: x\n  type: text\n  max_length: 10\n  label: {ja: い, en: B}\n", "x", "duplicate"),
    ("- id: x\n  type: text\n  max_length: 10\n  colour: red\n  label: {ja: あ, en: A}\n",
     "x", "unknown key"),
    ("- id: c\n  type: choice\n  label: {ja: あ, en: A}\n"
     "  options: [{code: a, label: {ja: あ, en: A}}, {code: dk, label: {ja: い, en: B}}]\n",
     "c", "reserved"),
])
def test_invalid_items_name_file_item_and_reason(items, item, reason):
    with pytest.raises(QuestionnaireError) as err:
        parse_items(items)
    assert err.value.source == "t.yaml"
    assert err.value.item == item
    assert reason in str(err.value)


def test_invalid_yaml_and_top_level(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\n  version: [", encoding="utf-8")
    with pytest.raises(QuestionnaireError, match=r"bad\.yaml: top level: invalid YAML at line"):
        load_questionnaire(bad)
    bad.write_bytes(b"id: \xff\xfe")
    with pytest.raises(QuestionnaireError, match="UTF-8"):
        load_questionnaire(bad)
    with pytest.raises(QuestionnaireError, match="version"):
        parse_questionnaire("id: t\nversion: 0\ntitle: {ja: あ, en: A}\nsections: []\n")
