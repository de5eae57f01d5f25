"""Personal single-use survey links, for clients who want one response per person.

Only a SHA-256 of each token is stored (the token has 128 random bits, so no salt is needed),
with a used flag. When a link is used, the flag is set in the same transaction that stores the
response, so a response is stored exactly when its link is spent, but nothing ties the two rows
together: the invitation has no response id and no time of use, the response no token.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app
from sqlalchemy import case, func, select, update

from .extensions import db
from .store.models import Campaign, Invitation

MAX_PER_RUN = 100_000


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def create_invitations(campaign: Campaign, count: int) -> list[str]:
    """Add ``count`` invitations to the campaign and return their tokens (shown once, never stored)."""
    if not 1 <= count <= MAX_PER_RUN:
        raise ValueError(f"count must be between 1 and {MAX_PER_RUN}")
    codes = [secrets.token_urlsafe(16) for _ in range(count)]
    db.session.add_all(Invitation(campaign=campaign, token_hash=_hash(c)) for c in codes)
    return codes


def find_invitation(code: str) -> Invitation | None:
    """The invitation with this token, used or not."""
    if not code or len(code) > 64:
        return None
    return db.session.scalar(select(Invitation).where(Invitation.token_hash == _hash(code)))


def claim(invitation: Invitation) -> bool:
    """Mark the invitation used in the current transaction; False when it already was.

    A conditional UPDATE, so two tabs sending the same link at once cannot both succeed: the
    second waits for the first to commit and then finds the link used.
    """
    result = db.session.execute(
        update(Invitation).where(Invitation.id == invitation.id, Invitation.used.is_(False))
        .values(used=True).execution_options(synchronize_session=False))
    return result.rowcount == 1


def invitation_url(code: str) -> str:
    """The personal link an employee opens."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/i/{code}"


def invitation_counts(campaign: Campaign) -> tuple[int, int]:
    """(issued, used) invitations of the campaign."""
    issued, used = db.session.execute(
        select(func.count(Invitation.id),
               func.coalesce(func.sum(case((Invitation.used.is_(True), 1), else_=0)), 0))
        .where(Invitation.campaign_id == campaign.id)).one()
    return int(issued), int(used)
