"""Property-based tests (hypothesis) for the questionnaire loader and the form builder."""

from __future__ import annotations

import string

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from diagnosis.questionnaire import CAUSES, DONT_KNOW, PREFER_NOT, QuestionnaireError, parse_questionnaire
from diagnosis.survey.forms import build_form

RESERVED = {DONT_KNOW, PREFER_NOT}  # codes the loader adds itself (tested in test_questionnaire)
ids = st.text(string.ascii_lowercase, min_size=1, max_size=8).map(lambda s: "q_" + s)
# Label text: anything a person types. Control characters and the Unicode line/paragraph
# separators are left out: PyYAML's own dump writes NEL (U+0085) or U+2028 raw inside a plain
# scalar and its loader then folds them to a space, so the round trip through safe_dump is not an
# identity for them (a PyYAML quirk, not the questionnaire loader's).
label_text = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=20)
labels = st.fixed_dictionaries({"ja": label_text.filter(str.strip), "en": label_text.filter(str.strip)})


@st.composite
def items(draw, item_id):
    kind = draw(st.sampled_from(["choice", "likert", "text", "segment"]))
    item = {"id": item_id, "type": kind, "label": draw(labels)}
    if kind in ("choice", "segment"):
        codes = draw(st.lists(st.text(string.ascii_lowercase, min_size=1, max_size=6)
                              .filter(lambda c: c not in RESERVED),
                              min_size=2, max_size=5, unique=True))
        item["options"] = [{"code": c, "label": draw(labels)} for c in codes]
    if kind == "likert":
        item["cause"] = draw(st.sampled_from(CAUSES))
        item["reverse"] = draw(st.booleans())
        item["dont_know"] = draw(st.booleans())
    if kind == "text":
        item["max_length"] = draw(st.integers(1, 5000))
    if kind != "segment":
        item["required"] = draw(st.booleans())
    return item


@st.composite
def questionnaires(draw):
    item_ids = draw(st.lists(ids, min_size=1, max_size=6, unique=True))
    return {"id": "prop", "version": draw(st.integers(1, 50)),
            "title": draw(labels),
            "sections": [{"id": "s1", "title": draw(labels),
                          "items": [draw(items(i)) for i in item_ids]}]}


@given(questionnaires())
@settings(max_examples=60, deadline=None)
def test_valid_documents_load_with_every_item(doc):
    q = parse_questionnaire(yaml.safe_dump(doc, allow_unicode=True), "prop.yaml")
    assert [i.id for i in q.items] == [i["id"] for i in doc["sections"][0]["items"]]
    for raw, item in zip(doc["sections"][0]["items"], q.items, strict=True):
        assert item.type == raw["type"]
        assert item.label.ja == raw["label"]["ja"].strip()


@given(questionnaires(), st.data())
@settings(max_examples=60, deadline=None)
def test_breaking_any_item_names_that_item(doc, data):
    items_ = doc["sections"][0]["items"]
    victim = data.draw(st.sampled_from(items_))
    breakage = data.draw(st.sampled_from(["type", "label", "extra", "max_length", "cause"]))
    if breakage == "type":
        victim["type"] = "slider"
    elif breakage == "label":
        victim["label"] = {"ja": "だけ"}
    elif breakage == "extra":
        victim["colour"] = "red"
    elif breakage == "max_length":
        victim["max_length"] = -1
    else:
        victim["cause"] = "budget"
    try:
        parse_questionnaire(yaml.safe_dump(doc, allow_unicode=True), "prop.yaml")
    except QuestionnaireError as exc:
        assert exc.source == "prop.yaml" and exc.item == victim["id"] and exc.reason
    else:
        raise AssertionError(f"{breakage} on {victim} was accepted")


@given(st.text(max_size=300))
@settings(max_examples=150, deadline=None)
def test_arbitrary_text_never_crashes_the_loader(text):
    try:
        parse_questionnaire(text, "fuzz.yaml")
    except QuestionnaireError as exc:
        assert str(exc).startswith("fuzz.yaml: ")


@given(questionnaires(), st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_form_accepts_own_codes_and_rejects_anything_else(app, doc, data):
    q = parse_questionnaire(yaml.safe_dump(doc, allow_unicode=True), "prop.yaml")
    form_cls = build_form(q, "ja")
    assert build_form(q, "ja") is form_cls  # built once, never mutated
    good, bad = MultiDict(), MultiDict()
    expect_bad = set()
    for item in q.items:
        if item.type == "text":
            good[item.id] = data.draw(st.text(max_size=item.max_length, alphabet="あいうabc \n"))
            if good[item.id].strip() == "" and item.required:
                good[item.id] = "あ"
            bad[item.id] = "x" * (item.max_length + 1)
        else:
            good[item.id] = data.draw(st.sampled_from(item.option_codes()))
            bad[item.id] = data.draw(st.text(min_size=1, max_size=5).filter(
                lambda v, it=item: v.strip() and v not in it.option_codes()))
        expect_bad.add(item.id)
    with app.test_request_context(method="POST", data=good):
        form = form_cls()
        assert form.validate(), form.errors
    with app.test_request_context(method="POST", data=bad):
        form = form_cls()
        assert not form.validate()
        assert set(form.errors) == expect_bad
