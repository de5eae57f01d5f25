"""Logging in and the workspace: the organisations a user may see, their users and new campaigns.

Routes stay thin: authorise, validate, call a service, render."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..auth import begin_login, campaign_or_404, consultant_required, finish_login, organisation_or_404
from ..extensions import db
from ..i18n import translate
from ..ratelimit import client_address, limiter
from ..security import safe_next
from ..store.models import User, utcnow
from ..workspace import (
    WorkspaceError,
    create_campaign,
    create_organisation,
    create_user,
)
from . import bp
from .forms import CampaignForm, CodeForm, ConfirmForm, LoginForm, OrganisationForm, UserForm
from .services import response_counts

PENDING_LOGIN = "pending_login"


@bp.route("/")
def index():
    """Home: the dashboard for a logged-in user, the login page otherwise."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    return redirect(url_for("dashboard.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in, step 1: e-mail and password."""
    form = LoginForm()
    if request.method == "POST":
        # Counted in the shared limiter store, so every worker agrees; the address is only hashed.
        verdict = limiter.hit("login", client_address(),
                              current_app.config["LOGIN_ATTEMPTS_PER_MINUTE"], 60)
        if not verdict.allowed:
            return (render_template("dashboard/login.html", form=form, throttled=True), 429,
                    {"Retry-After": str(verdict.retry_after)})
    if form.validate_on_submit():
        next_url = safe_next(request.args.get("next"))
        user, pending = begin_login(form.email.data, form.password.data, client_address(),
                                    next_url)
        if user is not None:
            return _logged_in(user, next_url)
        # Every other outcome goes to the code step, whatever the cause, so the answer never
        # says whether the account exists, the password was right or the address is throttled.
        session[PENDING_LOGIN] = pending
        return redirect(url_for("dashboard.login_code"))
    return render_template("dashboard/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """Log in, step 2: the authenticator code (explains a wrong password to everyone else)."""
    if PENDING_LOGIN not in session:
        return redirect(url_for("dashboard.login"))
    form = CodeForm()
    if request.method == "POST":
        verdict = limiter.hit("login", client_address(),
                              current_app.config["LOGIN_ATTEMPTS_PER_MINUTE"], 60)
        if not verdict.allowed:
            return (render_template("dashboard/login_code.html", form=form, throttled=True), 429,
                    {"Retry-After": str(verdict.retry_after)})
    if form.validate_on_submit():
        pending = session.pop(PENDING_LOGIN, None)  # one code attempt per password attempt
        user = finish_login(pending, form.code.data, client_address())
        if user is not None:
            return _logged_in(user, safe_next(pending.get("next")))
        flash(translate("login.failed"), "error")
        return redirect(url_for("dashboard.login"))
    return render_template("dashboard/login_code.html", form=form)


def _logged_in(user: User, next_url: str | None):
    session.clear()  # a fresh session on login (no fixation)
    login_user(user)
    return redirect(next_url or url_for("dashboard.home"))


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out everywhere: the session version moves on, so copies of the cookie stop working."""
    current_user.revoke_sessions()
    db.session.commit()
    logout_user()
    return redirect(url_for("dashboard.login"))


@bp.route("/dashboard")
@login_required
def home():
    """The organisations and campaigns this user may see."""
    counts = response_counts([c.id for o in current_user.organisations for c in o.campaigns])
    return render_template("dashboard/home.html", organisations=current_user.organisations,
                           counts=counts)


@bp.route("/orgs/new", methods=["GET", "POST"])
@consultant_required
def new_organisation():
    """A consultant adds a client organisation (and is assigned to it)."""
    form = OrganisationForm()
    if form.validate_on_submit():
        try:
            org = create_organisation(form.name.data, form.employee_count.data,
                                      form.rollout_date.data, form.name_en.data, form.ai_tool.data)
        except WorkspaceError as exc:
            form.name.errors.append(str(exc))
        else:
            current_user.organisations.append(org)
            db.session.commit()
            return redirect(url_for("dashboard.organisation", org_id=org.id))
    return render_template("dashboard/org_form.html", form=form)


@bp.route("/orgs/<int:org_id>")
@login_required
def organisation(org_id: int):
    """An organisation: its campaigns and, for consultants, who has access."""
    org = organisation_or_404(org_id)
    counts = response_counts([c.id for c in org.campaigns])
    return render_template("dashboard/organisation.html", org=org, counts=counts,
                           confirm=ConfirmForm())


@bp.route("/orgs/<int:org_id>/campaigns/new", methods=["GET", "POST"])
@consultant_required
def new_campaign(org_id: int):
    """A consultant opens a new survey wave."""
    org = organisation_or_404(org_id)
    form = CampaignForm()
    form.questionnaire_id.choices = [
        (q.id, f"{q.title.get('ja')} / {q.title.get('en')} (v{q.version})")
        for q in current_app.extensions["questionnaires"].values() if q.kind == "survey"
    ]
    if form.validate_on_submit():
        try:
            campaign = create_campaign(org, form.slug.data, form.name.data,
                                       form.questionnaire_id.data, form.opens_on.data,
                                       form.closes_on.data, form.languages.data)
        except WorkspaceError as exc:
            form.slug.errors.append(str(exc))
        else:
            db.session.commit()
            return redirect(url_for("dashboard.campaign", campaign_id=campaign.id))
    return render_template("dashboard/campaign_form.html", form=form, org=org)


@bp.route("/orgs/<int:org_id>/users/new", methods=["GET", "POST"])
@consultant_required
def new_user(org_id: int):
    """A consultant gives a DX lead of the organisation a login."""
    org = organisation_or_404(org_id)
    form = UserForm()
    if form.validate_on_submit():
        try:
            create_user(form.email.data, form.name.data, "dx_lead", form.password.data, [org])
        except WorkspaceError as exc:
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            flash(translate("The DX lead's account was created."),
                  "success")
            return redirect(url_for("dashboard.organisation", org_id=org.id))
    return render_template("dashboard/user_form.html", form=form, org=org)


@bp.route("/campaigns/<int:campaign_id>/close", methods=["POST"])
@consultant_required
def close_campaign(campaign_id: int):
    """Stop accepting answers now."""
    campaign = campaign_or_404(campaign_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    campaign.closed_at = utcnow()
    db.session.commit()
    return redirect(url_for("dashboard.campaign", campaign_id=campaign.id))
