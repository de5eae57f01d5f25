"""Survey routes: thin — look up the campaign, validate, store, thank."""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..classification import schedule_classification
from ..extensions import db
from ..i18n import LANGS, current_lang, gettext
from ..models import Campaign, UsedNonce
from ..ops import log_event
from ..questionnaire import Questionnaire, questionnaire_for
from ..ratelimit import limiter
from ..responses import add_response
from . import bp
from .forms import answers_from_form, build_form


def _nonce_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="survey-nonce")


def new_nonce(campaign: Campaign) -> str:
    """A signed one-time nonce bound to the campaign (no identity in it)."""
    import secrets

    return _nonce_serializer().dumps({"c": campaign.id, "n": secrets.token_hex(16)})


def _nonce_value(signed: str, campaign: Campaign) -> str | None:
    try:
        data = _nonce_serializer().loads(signed or "")
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("c") != campaign.id:
        return None
    return str(data.get("n"))


def _campaign_or_404(token: str) -> Campaign:
    campaign = db.session.scalar(select(Campaign).where(Campaign.public_token == token))
    if campaign is None:
        abort(404)
    return campaign


def _survey_lang(campaign: Campaign) -> str:
    allowed = [lang for lang in campaign.language_list if lang in LANGS] or ["ja"]
    lang = request.values.get("lang") or current_lang()
    return lang if lang in allowed else allowed[0]


def _questionnaire(campaign: Campaign) -> Questionnaire:
    q = questionnaire_for(current_app.extensions["questionnaires"], campaign)
    if q is None:
        current_app.logger.error("campaign %s uses unknown questionnaire %s",
                                 campaign.slug, campaign.questionnaire_id)
        abort(404)
    return q


@bp.route("/s/<token>", methods=["GET", "POST"])
def take(token: str):
    """Show the survey, or store a submitted response once."""
    campaign = _campaign_or_404(token)
    lang = _survey_lang(campaign)
    state = campaign.state()
    if state != "open":
        return render_template("survey/unavailable.html", campaign=campaign, state=state,
                               lang=lang), (410 if state == "closed" else 200)
    questionnaire = _questionnaire(campaign)
    form = build_form(questionnaire, lang)()
    nonce_error = rate_limited = False
    if request.method == "POST" and not limiter.hit(
            f"survey:{campaign.id}", _submissions_per_minute(campaign), 60):
        # Keyed by campaign, not by IP address: a whole office behind one NAT must get through,
        # while a script flooding one survey is slowed down. The form comes back with its answers.
        rate_limited = True
    elif form.validate_on_submit():
        nonce = _nonce_value(form.nonce.data, campaign)
        if nonce is None:
            nonce_error = True
        else:
            db.session.add(UsedNonce(nonce=nonce, campaign_id=campaign.id))
            response = add_response(campaign, questionnaire, answers_from_form(form, questionnaire),
                                    lang=lang, source="web")
            try:
                db.session.commit()
            except IntegrityError:
                # Same nonce already spent: a double click or a refresh. One response is kept.
                db.session.rollback()
            else:
                log_event("response_stored", campaign=campaign.id, lang=lang,
                          comments=len(response.comments))
                schedule_classification([response.id])
            return redirect(url_for("survey.thanks", token=token, lang=lang))
    if request.method == "GET" or nonce_error:
        form.nonce.data = new_nonce(campaign)
    csrf_failed = request.method == "POST" and "csrf_token" in form.errors
    status = 429 if rate_limited else 400 if request.method == "POST" else 200
    return render_template(
        "survey/form.html", campaign=campaign, questionnaire=questionnaire, form=form,
        lang=lang, other_langs=[x for x in campaign.language_list if x != lang],
        nonce_error=nonce_error, csrf_failed=csrf_failed, rate_limited=rate_limited,
    ), status


def _submissions_per_minute(campaign: Campaign) -> int:
    configured = current_app.config.get("SURVEY_SUBMISSIONS_PER_MINUTE")
    if configured:
        return int(configured)
    # Everyone in the company could answer within the same minute after an announcement.
    return max(60, campaign.organisation.employee_count)


@bp.route("/s/<token>/thanks")
def thanks(token: str):
    """The thank-you page."""
    campaign = _campaign_or_404(token)
    lang = _survey_lang(campaign)
    return render_template("survey/message.html", campaign=campaign, lang=lang,
                           title=gettext("survey.thanks.title", lang),
                           body=gettext("survey.thanks.body", lang))
