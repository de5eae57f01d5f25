"""Creating organisations, campaigns and users: one service used by the CLI, the web UI and the demo."""

from __future__ import annotations

import datetime as dt
import re
import secrets

from flask import current_app
from sqlalchemy import func, select

from .extensions import db
from .i18n import translate
from .passwords import MIN_LENGTH, password_problem
from .questionnaire import Questionnaire
from .store.models import ROLES, Campaign, Organisation, User

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class WorkspaceError(ValueError):
    """Invalid input for a workspace operation; the message is shown to the user."""


class WeakPasswordError(WorkspaceError):
    """The password breaks the policy; the message gives the reason in Japanese and English."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(" / ".join(translate(key, lang, n=MIN_LENGTH) for lang in ("ja", "en")))


def check_password(password: str, email: str | None = None, name: str | None = None) -> None:
    """Raise WeakPasswordError when the password breaks the policy (see diagnosis.passwords)."""
    problem = password_problem(password, (email, name))
    if problem is not None:
        raise WeakPasswordError(problem)


def set_user_password(user: User, password: str) -> None:
    """Give an existing user a new password (policy checked); their other sessions end."""
    check_password(password, user.email, user.name)
    user.set_password(password)


def questionnaire(qid: str) -> Questionnaire:
    """The loaded questionnaire with this id."""
    q = current_app.extensions["questionnaires"].get(qid)
    if q is None or q.kind != "survey":
        raise WorkspaceError(f"unknown survey questionnaire '{qid}'")
    return q


def create_organisation(name: str, employee_count: int, rollout_date: dt.date | None = None,
                        name_en: str | None = None, ai_tool: str | None = None) -> Organisation:
    """Add an organisation (not committed)."""
    name = (name or "").strip()
    if not name:
        raise WorkspaceError("organisation name is required")
    if employee_count is None or employee_count < 1:
        raise WorkspaceError("employee count must be at least 1")
    org = Organisation(name=name, name_en=(name_en or "").strip() or None,
                       employee_count=int(employee_count), rollout_date=rollout_date,
                       ai_tool=(ai_tool or "").strip() or None)
    db.session.add(org)
    return org


def find_organisation(ref: str | int) -> Organisation | None:
    """An organisation by id or exact name."""
    if isinstance(ref, int) or str(ref).isdigit():
        return db.session.get(Organisation, int(ref))
    return db.session.scalar(select(Organisation).where(Organisation.name == ref))


def create_campaign(org: Organisation, slug: str, name: str, questionnaire_id: str = "ai-adoption",
                    opens_on: dt.date | None = None, closes_on: dt.date | None = None,
                    languages: str = "ja,en", questionnaire_version: int | None = None) -> Campaign:
    """Add a survey wave (not committed), with a fresh unguessable public token; it uses the
    newest installed version of the questionnaire unless an installed version is named."""
    slug = (slug or "").strip().lower()
    if not SLUG.match(slug):
        raise WorkspaceError("slug must be 3–64 characters: lowercase letters, digits and hyphens")
    if db.session.scalar(select(Campaign).where(Campaign.slug == slug)) is not None:
        raise WorkspaceError(f"slug '{slug}' is already used")
    q = questionnaire(questionnaire_id)
    if questionnaire_version is not None and questionnaire_version != q.version:
        versions = getattr(current_app.extensions["questionnaires"], "versions", {})
        q = versions.get((questionnaire_id, questionnaire_version))
        if q is None:
            raise WorkspaceError(f"questionnaire '{questionnaire_id}' has no installed version "
                                 f"{questionnaire_version}")
    langs = [x.strip() for x in languages.split(",") if x.strip()]
    if not langs or any(x not in ("ja", "en") for x in langs):
        raise WorkspaceError("languages must be ja, en or ja,en")
    opens_on = opens_on or dt.date.today()
    if closes_on is not None and closes_on < opens_on:
        raise WorkspaceError("the closing date is before the opening date")
    campaign = Campaign(organisation=org, slug=slug, name=(name or slug).strip(),
                        questionnaire_id=q.id, questionnaire_version=q.version,
                        languages=",".join(langs), opens_on=opens_on, closes_on=closes_on,
                        public_token=secrets.token_urlsafe(16))
    db.session.add(campaign)
    return campaign


def find_campaign(slug: str) -> Campaign | None:
    """A campaign by its slug."""
    return db.session.scalar(select(Campaign).where(Campaign.slug == slug))


def released_snapshot(campaign: Campaign):
    """The campaign's released snapshot (``recommend.anonymity.Release``) and the thresholds it was
    released with, as its diagnosis releases it (a due step is released first): what the comment
    pages may show and what adaptation may learn from, without a whole diagnosis."""
    from .questionnaire import questionnaire_for
    from .recommend.anonymity import Thresholds, release_plan
    from .recommend.loader import load_campaign
    from .recommend.playbook import load_playbook

    cfg = current_app.config
    th = Thresholds.make(cfg.get("MIN_GROUP"), cfg.get("MIN_COMMENTS_GROUP"),
                         load_playbook().section("anonymity"))
    data = load_campaign(campaign, session=db.session, release_min_group=th.min_group,
                         questionnaire=questionnaire_for(current_app.extensions["questionnaires"], campaign))
    return release_plan(data.responses, th.min_group), th


def earlier_wave(campaign: Campaign) -> Campaign | None:
    """The most recent earlier wave of the same organisation and questionnaire (the dashboard and
    the PDF compare with it)."""
    return db.session.scalar(
        select(Campaign)
        .where(Campaign.organisation_id == campaign.organisation_id,
               Campaign.questionnaire_id == campaign.questionnaire_id,
               Campaign.id != campaign.id,
               (Campaign.opens_on < campaign.opens_on)
               | ((Campaign.opens_on == campaign.opens_on) & (Campaign.id < campaign.id)))
        .order_by(Campaign.opens_on.desc(), Campaign.id.desc())
        .limit(1))


def create_user(email: str, name: str, role: str, password: str,
                organisations: list[Organisation] | tuple = ()) -> User:
    """Add a user (not committed) with a hashed password."""
    email = (email or "").strip().lower()
    if not EMAIL.match(email):
        raise WorkspaceError("a valid e-mail address is required")
    if role not in ROLES:
        raise WorkspaceError(f"role must be one of {', '.join(ROLES)}")
    check_password(password, email, name)
    if db.session.scalar(select(User).where(func.lower(User.email) == email)) is not None:
        raise WorkspaceError(f"a user with e-mail {email} already exists")
    user = User(email=email, name=(name or email).strip(), role=role)
    user.set_password(password)
    user.organisations = list(organisations)
    db.session.add(user)
    return user


def find_user(email: str) -> User | None:
    """A user by e-mail (case-insensitive)."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def survey_url(campaign: Campaign) -> str:
    """The public link employees open."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/s/{campaign.public_token}"
