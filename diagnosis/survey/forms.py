"""Survey forms composed per questionnaire (WTForms dynamic form composition)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, RadioField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import InputRequired, Optional, StopValidation, ValidationError

from ..i18n import translate
from ..questionnaire import Item, Questionnaire
from ..store.responses import has_control_chars


class _OneOf:
    """Accept only the item's own codes, with a localised message (tampered values fail)."""

    def __init__(self, codes: tuple[str, ...], lang: str) -> None:
        self.codes, self.lang = codes, lang

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if field.data not in self.codes:
            raise ValidationError(translate("validation.choice", self.lang))


class _Checklist:
    """A multi-select: only the item's codes, at most ``max_choices``, exclusive options alone."""

    def __init__(self, item: Item, lang: str) -> None:
        self.item, self.lang = item, lang

    def __call__(self, form: FlaskForm, field: Field) -> None:
        chosen = list(dict.fromkeys(field.data or ()))
        problem = self.item.choices_problem(chosen)
        if problem is None:
            return
        kind, code = problem
        if kind == "too_many":
            raise StopValidation(translate("validation.max_choices", self.lang,
                                         max=self.item.max_choices, n=len(chosen)))
        if kind == "exclusive" and code is not None:
            raise StopValidation(translate("validation.exclusive", self.lang,
                                         option=self.item.option(code).label.get(self.lang)))
        raise StopValidation(translate("validation.choice", self.lang))


class _TextRules:
    """Length and character checks for free text, counted in characters as people see them."""

    def __init__(self, max_length: int, lang: str) -> None:
        self.max_length, self.lang = max_length, lang

    def __call__(self, form: FlaskForm, field: Field) -> None:
        text = (field.data or "").replace("\r\n", "\n").strip()
        if len(text) > self.max_length:
            raise StopValidation(
                translate("validation.too_long", self.lang, max=self.max_length, n=len(text))
            )
        if has_control_chars(text):
            raise StopValidation(translate("validation.control_chars", self.lang))


def _presence(item: Item, lang: str) -> list:
    if item.required:
        return [InputRequired(message=translate("validation.required", lang))]
    return [Optional()]


def _make_field(item: Item, lang: str) -> Field:
    label = item.label.get(lang)
    description = item.help.get(lang) if item.help else ""
    choices = [(o.code, o.label.get(lang)) for o in item.options]
    codes = item.option_codes()
    if item.type in ("choice", "likert"):
        return RadioField(
            label,
            choices=choices,
            validators=[*_presence(item, lang), _OneOf(codes, lang)],
            validate_choice=False,
            description=description,
        )
    if item.type == "multi_choice":
        # Rendered option by option in the respondent's shuffled order (see the template).
        return SelectMultipleField(
            label,
            choices=choices,
            validators=[*_presence(item, lang), _Checklist(item, lang)],
            validate_choice=False,
            description=description,
        )
    if item.type == "segment":
        return SelectField(
            label,
            choices=[("", "—")] + choices,
            validators=[Optional(), _OneOf(codes, lang)],
            validate_choice=False,
            description=description,
        )
    return TextAreaField(
        label,
        validators=[*_presence(item, lang), _TextRules(item.max_length or 1000, lang)],
        description=description,
        render_kw={"rows": 4, "maxlength": item.max_length},
    )


@lru_cache(maxsize=64)
def build_form(questionnaire: Questionnaire, lang: str = "ja") -> type[FlaskForm]:
    """A FlaskForm subclass for this questionnaire and language (a new class, never mutated)."""
    attrs: dict[str, object] = {"nonce": HiddenField()}
    for item in questionnaire.items:
        attrs[item.id] = _make_field(item, lang)
    return type(f"SurveyForm_{questionnaire.id}_{questionnaire.version}_{lang}",
                (FlaskForm,), attrs)


def answers_from_form(form: FlaskForm, questionnaire: Questionnaire) -> dict[str, Any]:
    """The validated answers of a form, keyed by item id (a checklist as a list of codes in the
    questionnaire's order, whatever order the respondent saw)."""
    out: dict[str, Any] = {}
    for item in questionnaire.items:
        value = form[item.id].data
        if item.type == "multi_choice":
            chosen = set(value or ())
            value = [c for c in item.option_codes() if c in chosen]
        out[item.id] = value
    return out
