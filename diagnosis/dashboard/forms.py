"""Forms of the dashboard and the consultant workspace."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from ..i18n import LazyText, translate
from ..passwords import MIN_LENGTH, password_problem
from ..vocabulary import LABELS


def _req():
    return InputRequired(message=LazyText("This field is required."))


class StrongPassword:
    """Validator: the password policy, with the form's e-mail and name as words to avoid."""

    def __call__(self, form: FlaskForm, field) -> None:
        context = [getattr(form, f).data for f in ("email", "name") if hasattr(form, f)]
        problem = password_problem(field.data, context)
        if problem is not None:
            raise ValidationError(translate(problem, n=MIN_LENGTH))


class LoginForm(FlaskForm):
    email = EmailField("email", validators=[_req(), Length(max=254)])
    password = PasswordField("password", validators=[_req(), Length(max=200)])


class CodeForm(FlaskForm):
    """The second login step: a 6-digit authenticator code (may be left empty)."""

    code = StringField("code", validators=[Optional(), Length(max=20)])


class OrganisationForm(FlaskForm):
    name = StringField("name", validators=[_req(), Length(max=200)])
    name_en = StringField("name_en", validators=[Optional(), Length(max=200)])
    employee_count = IntegerField("employee_count", validators=[_req(), NumberRange(1, 1_000_000)])
    rollout_date = DateField("rollout_date", validators=[Optional()])
    ai_tool = StringField("ai_tool", validators=[Optional(), Length(max=100)])


class CampaignForm(FlaskForm):
    name = StringField("name", validators=[_req(), Length(max=200)])
    slug = StringField("slug", validators=[
        _req(), Regexp(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$",
                       message=LazyText("3–64 characters: a-z, 0-9, -"))])
    questionnaire_id = SelectField("questionnaire_id", choices=[])
    opens_on = DateField("opens_on", validators=[_req()])
    closes_on = DateField("closes_on", validators=[Optional()])
    languages = SelectField("languages", choices=[("ja,en", "日本語 + English"), ("ja", "日本語"),
                                                  ("en", "English")])


class UserForm(FlaskForm):
    email = EmailField("email", validators=[_req(), Email(check_deliverability=False),
                                            Length(max=254)])
    name = StringField("name", validators=[_req(), Length(max=200)])
    password = PasswordField("password", validators=[_req(), Length(max=200), StrongPassword()])


class ConfirmForm(FlaskForm):
    """An empty form that carries only the CSRF token, for POST buttons."""


class CorrectionForm(FlaskForm):
    """A human correction of one comment's cause ('' clears the correction)."""

    label = SelectField("label", choices=[(c, c) for c in LABELS] + [("", "")])
    next = HiddenField("next")


class ReviewForm(FlaskForm):
    """One review decision: a cause, or '' to confirm the model's label the reviewer was shown
    (``shown``); ``after`` is the comment to show next (the queue's neighbour the reviewer was
    heading to)."""

    label = SelectField("label", choices=[("", "")] + [(c, c) for c in LABELS])
    after = HiddenField("after")
    shown = HiddenField("shown")  # the model's label the reviewer saw


class InterviewForm(FlaskForm):
    """Interview notes pasted or uploaded as a UTF-8 .txt file, with optional segment tags."""

    title = StringField("title", validators=[_req(), Length(max=200)])
    interviewee = StringField("interviewee", validators=[Optional(), Length(max=200)])
    held_on = DateField("held_on", validators=[Optional()])
    department = SelectField("department", choices=[], validate_choice=True)
    role = SelectField("role", choices=[], validate_choice=True)
    age_band = SelectField("age_band", choices=[], validate_choice=True)
    tenure = SelectField("tenure", choices=[], validate_choice=True)
    text = TextAreaField("text", validators=[Optional(), Length(max=50_000)])
    notes_file = FileField("notes_file")


class ImportForm(FlaskForm):
    """An answer file to import: CSV (any encoding Excel writes) or an Excel workbook."""

    answers_file = FileField("answers_file")


class NoteForm(FlaskForm):
    """The consultant's note that appears in the PDF report."""

    note = TextAreaField("note", validators=[Optional(), Length(max=5000)])
