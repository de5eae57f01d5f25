"""Authentication and per-organisation authorisation."""

from __future__ import annotations

from functools import lru_cache, wraps

from flask import Flask, abort
from flask_login import current_user, login_required
from werkzeug.security import check_password_hash, generate_password_hash

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


def authenticate(email: str, password: str) -> tuple[User | None, str | None]:
    """Check a login; returns (user, None) or (None, reason) with reason 'invalid' or 'locked'.

    Failed attempts are counted on the account (in the database, so every worker agrees);
    after LOGIN_MAX_FAILURES the account is locked for LOGIN_LOCK_MINUTES.
    """
    import datetime as dt

    from flask import current_app

    from .models import utcnow
    from .workspace import find_user

    user = find_user(email or "")
    now = utcnow()
    if user is None or not user.active:
        # Spend the same time as a real check so response times do not reveal who has an account.
        check_password_hash(_dummy_hash(), password or "")
        return None, "invalid"
    if user.locked_until is not None and user.locked_until > now:
        return None, "locked"
    if user.check_password(password or ""):
        user.failed_logins = 0
        user.locked_until = None
        db.session.commit()
        return user, None
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= int(current_app.config["LOGIN_MAX_FAILURES"]):
        user.locked_until = now + dt.timedelta(minutes=int(current_app.config["LOGIN_LOCK_MINUTES"]))
        user.failed_logins = 0
    db.session.commit()
    return None, "invalid"


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return generate_password_hash("not-a-real-password")
