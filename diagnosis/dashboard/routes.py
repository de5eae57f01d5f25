"""Dashboard routes: thin — authorise, validate, call a service, render."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..auth import authenticate, campaign_or_404, consultant_required, organisation_or_404
from ..extensions import db
from ..i18n import pick
from ..models import utcnow
from ..ratelimit import client_address, limiter
from ..workspace import (
    WorkspaceError,
    create_campaign,
    create_organisation,
    create_user,
)
from . import bp
from .forms import CampaignForm, ConfirmForm, LoginForm, OrganisationForm, UserForm
from .services import response_counts


def _safe_next(target: str | None) -> str | None:
    # Only same-site relative paths: an open redirect would help phishing.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.route("/")
def index():
    """Home: the dashboard for a logged-in user, the login page otherwise."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    return redirect(url_for("dashboard.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with e-mail and password."""
    form = LoginForm()
    if request.method == "POST":
        # Counted in the shared limiter store, so every worker agrees; the address is only hashed.
        verdict = limiter.hit("login", client_address(),
                              current_app.config["LOGIN_ATTEMPTS_PER_MINUTE"], 60)
        if not verdict.allowed:
            return (render_template("dashboard/login.html", form=form, throttled=True), 429,
                    {"Retry-After": str(verdict.retry_after)})
    if form.validate_on_submit():
        user, problem = authenticate(form.email.data, form.password.data)
        if user is not None:
            session.clear()  # a fresh session on login (no fixation)
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("dashboard.home"))
        if problem == "locked":
            flash(pick("ログインの失敗が続いたため、このアカウントは一時的にロックされています。"
                       "しばらくしてからお試しください。",
                       "Too many failed logins: this account is locked for a while. "
                       "Please try again later."), "error")
        else:
            flash(pick("メールアドレスまたはパスワードが正しくありません。",
                       "The e-mail address or password is not correct."), "error")
    return render_template("dashboard/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out (POST with CSRF, so a link on another site cannot log people out)."""
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
            flash(pick("DX担当者のアカウントを作成しました。", "The DX lead's account was created."),
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
