"""Survey routes: thin — look up the campaign, admit, validate, store, thank."""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..classification import schedule_classification
from ..dbfaults import RETRY_AFTER_SECONDS, StoreFailed, keep_loaded, with_retries
from ..extensions import db
from ..i18n import LANGS, current_lang, translate
from ..invitations import claim, find_invitation
from ..ops import log_event
from ..questionnaire import Questionnaire, questionnaire_for
from ..ratelimit import Verdict
from ..store.models import Campaign, Invitation, UsedNonce
from ..store.responses import add_response
from . import bp
from .forms import answers_from_form, build_form
from .guard import admit_form, admit_submission, new_nonce, nonce_spent, nonce_value


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


def _message(campaign: Campaign, lang: str, key: str, status: int, **fmt: object):
    return render_template("survey/message.html", campaign=campaign, lang=lang,
                           title=translate(f"{key}.title", lang),
                           body=translate(f"{key}.body", lang, **fmt)), status


def _unavailable(campaign: Campaign, lang: str):
    state = campaign.state()
    if state == "open":
        return None
    return render_template("survey/unavailable.html", campaign=campaign, state=state,
                           lang=lang), (410 if state == "closed" else 200)


def _limited(response, verdict: Verdict):
    # Polite and specific: the page says how long to wait, and so does the header.
    body, status = response
    return body, status, {"Retry-After": str(verdict.retry_after)}


@bp.route("/s/<token>", methods=["GET", "POST"])
def take(token: str):
    """The public link: show the survey, or store a submitted response once."""
    campaign = _campaign_or_404(token)
    lang = _survey_lang(campaign)
    if (closed := _unavailable(campaign, lang)) is not None:
        return closed
    if campaign.invitation_only:
        return _message(campaign, lang, "survey.invitation_only", 403)
    return _survey(campaign, lang, None, {"endpoint": "survey.take", "token": token})


@bp.route("/i/<code>", methods=["GET", "POST"])
def invited(code: str):
    """A personal single-use link: the same survey, no per-client limits, one response."""
    invitation = find_invitation(code)
    if invitation is None:
        abort(404)
    campaign = invitation.campaign
    lang = _survey_lang(campaign)
    if (closed := _unavailable(campaign, lang)) is not None:
        return closed
    if invitation.used and request.method == "GET":
        return _message(campaign, lang, "survey.invitation_used", 410)
    return _survey(campaign, lang, invitation, {"endpoint": "survey.invited", "code": code})


def _survey(campaign: Campaign, lang: str, invitation: Invitation | None, target: dict):
    questionnaire = _questionnaire(campaign)
    form = build_form(questionnaire, lang)()
    nonce_error = save_failed = False
    refused: Verdict | None = None
    if form.validate_on_submit():
        nonce = nonce_value(form.nonce.data, campaign)
        thanks = url_for("survey.thanks", token=campaign.public_token, lang=lang)
        if nonce is None:
            nonce_error = True
        elif nonce_spent(nonce):
            return redirect(thanks)  # a double click or a refresh: the first one was stored
        elif invitation is not None or (refused := admit_submission(campaign)).allowed:
            # Invitation links are limited by being single-use, so a shared PC where each
            # employee opens their own link is never refused.
            try:
                outcome = _store(campaign, questionnaire, form, lang, nonce, invitation)
            except StoreFailed as failure:
                # The answers are not stored, and not lost: the form comes back filled in, with
                # the same nonce, so the employee's next press stores them once.
                log_event("response_save_failed", campaign=campaign.id, attempts=failure.attempts,
                          error=type(failure.error).__name__)
                save_failed, refused = True, None
            else:
                if outcome == "invitation_used":
                    return _message(campaign, lang, "survey.invitation_used", 410)
                return redirect(thanks)
    if refused is None and (request.method == "GET" or nonce_error):
        # Every new nonce counts, including the one replacing a rejected nonce.
        if invitation is None and not (verdict := admit_form(campaign)).allowed:
            if request.method == "GET":
                return _limited(_message(campaign, lang, "survey.limited_form", 429,
                                         minutes=verdict.minutes), verdict)
            refused = verdict
        else:
            form.nonce.data = new_nonce(campaign)
    csrf_failed = request.method == "POST" and "csrf_token" in form.errors
    status = 429 if refused else 503 if save_failed else 400 if request.method == "POST" else 200
    page = render_template(
        "survey/form.html", campaign=campaign, questionnaire=questionnaire, form=form,
        lang=lang, other_langs=[x for x in campaign.language_list if x != lang],
        nonce_error=nonce_error and not refused, csrf_failed=csrf_failed, refused=refused,
        save_failed=save_failed, invitation=invitation, target=target,
    ), status
    if save_failed:
        return page + ({"Retry-After": str(RETRY_AFTER_SECONDS)},)
    return _limited(page, refused) if refused else page


def _store(campaign: Campaign, questionnaire: Questionnaire, form, lang: str, nonce: str,
           invitation: Invitation | None) -> str:
    """Store one response with its nonce (and spend the invitation) in one transaction, retrying
    transient database faults; "stored", "duplicate" (this nonce was stored before: a double
    click or a refresh) or "invitation_used". Raises StoreFailed when every attempt failed."""
    answers = answers_from_form(form, questionnaire)

    def attempt() -> str:
        if invitation is not None and not claim(invitation):
            db.session.rollback()
            return "invitation_used"
        db.session.add(UsedNonce(nonce=nonce, campaign_id=campaign.id))
        response = add_response(campaign, questionnaire, answers, lang=lang, source="web")
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # same nonce already spent: one response is kept
            return "duplicate"
        log_event("response_stored", campaign=campaign.id, lang=lang, comments=len(response.comments))
        schedule_classification([response.id])
        return "stored"

    cfg = current_app.config
    with keep_loaded(campaign, campaign.organisation):  # the form can be shown again without the database
        return with_retries(attempt, db.session.rollback, attempts=int(cfg.get("SURVEY_SAVE_ATTEMPTS", 3)),
                            deadline=float(cfg.get("SURVEY_SAVE_DEADLINE_SECONDS", 12)))


@bp.route("/s/<token>/thanks")
def thanks(token: str):
    """The thank-you page."""
    campaign = _campaign_or_404(token)
    lang = _survey_lang(campaign)
    return render_template("survey/message.html", campaign=campaign, lang=lang,
                           title=translate("survey.thanks.title", lang),
                           body=translate("survey.thanks.body", lang))
