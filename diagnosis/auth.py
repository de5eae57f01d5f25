"""Authentication and per-organisation authorisation."""

from __future__ import annotations

from functools import wraps

from flask import Flask, abort
from flask_login import current_user, login_required

from .extensions import db, login_manager
from .models import Campaign, Organisation, User


def init_app(app: Flask) -> None:
    """Wire Flask-Login to the User model."""
    login_manager.login_view = "dashboard.login"
    login_manager.login_message = None

    @login_manager.user_loader
    def _load(user_id: str) -> User | None:
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        return user if user is not None and user.active else None


def consultant_required(view):
    """Allow only logged-in consultants (403 for DX leads)."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_consultant:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def organisation_or_404(org_id: int) -> Organisation:
    """The organisation if the current user may see it; 404 otherwise (no existence leak)."""
    org = db.session.get(Organisation, org_id)
    if org is None or not current_user.is_authenticated or not current_user.can_see(org.id):
        abort(404)
    return org


def campaign_or_404(campaign_id: int) -> Campaign:
    """The campaign if the current user may see its organisation; 404 otherwise."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    organisation_or_404(campaign.organisation_id)
    return campaign
