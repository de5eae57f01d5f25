"""Database models (SQLAlchemy 2). Portable SQL only: SQLite by default, PostgreSQL in production."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, Column, Double, ForeignKey, String, Table, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..vocabulary import SEGMENT_FIELDS  # re-exported: the models name these columns

ROLES = ("consultant", "dx_lead")


def utcnow() -> dt.datetime:
    """Current UTC time, naive (stored as UTC everywhere)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def today() -> dt.date:
    """Today's date in UTC."""
    return utcnow().date()


def new_token() -> str:
    """An unguessable public token for a survey link (128 bits)."""
    return secrets.token_urlsafe(16)


user_organisations = Table(
    "user_organisation",
    db.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True),
)


class Organisation(db.Model):
    """A client company."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    employee_count: Mapped[int]
    rollout_date: Mapped[dt.date | None]
    ai_tool: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    campaigns: Mapped[list[Campaign]] = relationship(
        back_populates="organisation", order_by="Campaign.opens_on", cascade="all, delete-orphan"
    )
    users: Mapped[list[User]] = relationship(
        secondary=user_organisations, back_populates="organisations"
    )

    def display_name(self, lang: str = "ja") -> str:
        """Name in the requested language, falling back to the main name."""
        return (self.name_en if lang == "en" and self.name_en else self.name) or ""


class User(UserMixin, db.Model):
    """A consultant or a DX lead; sees only the organisations linked to them."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Part of every session and remember-me cookie (see get_id); raising it ends them all.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Base32 TOTP secret when the user has enrolled a second factor; None otherwise.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    # The last 30-second time step a code was accepted for, so a code works only once.
    totp_last_step: Mapped[int | None]

    organisations: Mapped[list[Organisation]] = relationship(
        secondary=user_organisations, back_populates="users", order_by="Organisation.name"
    )

    def get_id(self) -> str:  # flask-login: what the session and remember cookie hold
        """The user id with the session version, so a bumped version invalidates old cookies."""
        return f"{self.id}:{self.session_version or 0}"

    def revoke_sessions(self) -> None:
        """End every existing session and remember-me cookie of this user (not committed)."""
        self.session_version = (self.session_version or 0) + 1

    def set_password(self, password: str) -> None:
        """Store a salted hash of the password; sessions opened with the old one end."""
        self.password_hash = generate_password_hash(password)
        self.revoke_sessions()

    def check_password(self, password: str) -> bool:
        """True when the password matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active

    @property
    def is_consultant(self) -> bool:
        return self.role == "consultant"

    def can_see(self, organisation_id: int) -> bool:
        """True when this user may see the organisation."""
        return any(o.id == organisation_id for o in self.organisations)


class Campaign(db.Model):
    """One survey wave of an organisation."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    questionnaire_id: Mapped[str] = mapped_column(String(64))
    questionnaire_version: Mapped[int]
    languages: Mapped[str] = mapped_column(String(20), default="ja,en")
    opens_on: Mapped[dt.date]
    closes_on: Mapped[dt.date | None]
    closed_at: Mapped[dt.datetime | None]
    public_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    # One response per person: the public link is refused and only invitation links work.
    invitation_only: Mapped[bool] = mapped_column(default=False, server_default=false())
    consultant_note: Mapped[str | None] = mapped_column(db.Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="campaigns")
    responses: Mapped[list[Response]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", passive_deletes=True
    )
    interviews: Mapped[list[InterviewNote]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def language_list(self) -> list[str]:
        return [x for x in self.languages.split(",") if x]

    def state(self, on: dt.date | None = None) -> str:
        """'scheduled', 'open' or 'closed' on the given day."""
        on = on or today()
        if self.closed_at is not None or (self.closes_on is not None and on > self.closes_on):
            return "closed"
        if on < self.opens_on:
            return "scheduled"
        return "open"


class Response(db.Model):
    """One employee's anonymous answers. No IP, user agent or identity is stored."""

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), index=True
    )
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    department: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(64))
    age_band: Mapped[str | None] = mapped_column(String(64))
    tenure: Mapped[str | None] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(8), default="ja")
    source: Mapped[str] = mapped_column(String(16), default="web")
    # Day only: a timestamp to the second could identify a respondent.
    submitted_on: Mapped[dt.date] = mapped_column(default=today)
    classification_status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    # The released snapshot that first included this response; None while it waits for at least
    # MIN_GROUP responses to be released together (see diagnosis.recommend.anonymity).
    snapshot_seq: Mapped[int | None] = mapped_column(index=True)

    campaign: Mapped[Campaign] = relationship(back_populates="responses")
    comments: Mapped[list[Comment]] = relationship(
        back_populates="response", cascade="all, delete-orphan", passive_deletes=True
    )

    def segments(self) -> dict[str, str | None]:
        """The segment attributes of this response."""
        return {f: getattr(self, f) for f in SEGMENT_FIELDS}


class InterviewNote(db.Model):
    """Notes of a hearing (ヒアリング) with an interviewee or a group."""

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    interviewee: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(64))
    age_band: Mapped[str | None] = mapped_column(String(64))
    tenure: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(db.Text)
    held_on: Mapped[dt.date | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    classification_status: Mapped[str] = mapped_column(String(16), default="pending", index=True)

    campaign: Mapped[Campaign] = relationship(back_populates="interviews")
    comments: Mapped[list[Comment]] = relationship(
        back_populates="interview", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Comment.position",
    )

    def segments(self) -> dict[str, str | None]:
        """The segment attributes of this note."""
        return {f: getattr(self, f) for f in SEGMENT_FIELDS}


class Comment(db.Model):
    """A unit of free-text evidence: a survey answer, or one sentence of interview notes."""

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), index=True
    )
    response_id: Mapped[int | None] = mapped_column(
        ForeignKey("response.id", ondelete="CASCADE"), index=True
    )
    interview_id: Mapped[int | None] = mapped_column(
        ForeignKey("interview_note.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(16))  # "survey" | "interview"
    item_id: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(db.Text)
    label: Mapped[str | None] = mapped_column(String(16), index=True)  # cause id, "unclear", None = pending
    confidence: Mapped[float | None]
    scores: Mapped[dict[str, float] | None] = mapped_column(JSON)
    model_version: Mapped[str | None] = mapped_column(String(64))
    corrected_label: Mapped[str | None] = mapped_column(String(16))
    corrected_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    corrected_at: Mapped[dt.datetime | None]
    # The cause the writer's own reason checklist names (a weak label; see responses.self_label).
    self_label: Mapped[str | None] = mapped_column(String(16))
    # A worker's lease on a pending comment (see classification.claim_batch); cleared when labelled.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[dt.datetime | None]
    # Each sentence's label, when an answer has several (the review queue looks for disagreement).
    sentence_labels: Mapped[list[str] | None] = mapped_column(JSON)
    # The model's label when a person reviewed the comment: confirmations and agreement figures.
    review_model_label: Mapped[str | None] = mapped_column(String(16))

    campaign: Mapped[Campaign] = relationship()
    response: Mapped[Response | None] = relationship(back_populates="comments")
    interview: Mapped[InterviewNote | None] = relationship(back_populates="comments")

    @property
    def effective_label(self) -> str | None:
        """The human correction when there is one, else the model's label."""
        return self.corrected_label or self.label


class OrgExample(db.Model):
    """A labelled comment of one organisation held outside any campaign's responses (imported
    with ``teichaku corrections import``): it trains and measures that organisation's adapted
    classifier only, and is never shown in a diagnosis."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(db.Text)
    label: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(200))  # e.g. the imported file's name
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OrgModel(db.Model):
    """An organisation's adapted classifier: a correction on top of one base classifier version,
    trained on that organisation's reviewed comments only (see ``diagnosis.nlp.adapt``)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), unique=True)
    base_version: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(96))
    head: Mapped[bytes] = mapped_column(db.LargeBinary)
    # The adapted classifier's probabilities on the wild evaluation set (its error model).
    errors: Mapped[bytes | None] = mapped_column(db.LargeBinary)
    n_reviewed: Mapped[int] = mapped_column(default=0)
    n_self_labelled: Mapped[int] = mapped_column(default=0)
    reviewed_through: Mapped[dt.datetime | None]  # the newest review it learned from
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # False when cross-validation measured it worse than the base model: the base stays in use.
    in_use: Mapped[bool] = mapped_column(default=True, server_default=true())
    seconds: Mapped[float | None] = mapped_column(Double)
    trained_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class UsedNonce(db.Model):
    """A survey form nonce that has been spent; makes a double submit store one response."""

    __table_args__ = (UniqueConstraint("nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    used_on: Mapped[dt.date] = mapped_column(default=today)


class LoginThrottle(db.Model):
    """Failed logins of one (e-mail, client address) pair, for back-off across workers.

    ``key`` is a keyed hash of the pair: neither the address nor the e-mail is stored, and
    nothing links a row to survey answers.
    """

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    blocked_until: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class Invitation(db.Model):
    """A single-use personal survey link. Only a hash of its token is kept, and nothing about the
    response it was used for: no response id, no time of use (see README, Privacy)."""

    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64))
    used: Mapped[bool] = mapped_column(default=False)
    created_on: Mapped[dt.date] = mapped_column(default=today)

    campaign: Mapped[Campaign] = relationship()


class RateLimitCounter(db.Model):
    """A fixed-window rate-limit counter shared by every worker (the ``database`` limiter store).

    The key holds a scope and a salted hash of a client address or browser token, never the
    address itself; a row is useless after ``expires_at`` and is deleted soon after.
    """

    __tablename__ = "rate_limit"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[float] = mapped_column(Double, index=True)  # Unix time, shared by all hosts
