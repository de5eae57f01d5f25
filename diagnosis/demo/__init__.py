"""The demo workspace: a consultant, a DX lead, a manufacturer and two survey waves with
a few hundred invented responses (text in ``comments.jsonl``/``interviews.jsonl``, written for
the demo and never used for training). Deterministic, and safe to run again."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from pathlib import Path

import yaml
from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..interviews import add_interview
from ..questionnaire import Item, questionnaire_for
from ..store.models import Campaign, Organisation, today
from ..store.responses import add_response
from ..vocabulary import OTHER
from ..workspace import create_campaign, create_organisation, create_user, find_user

HERE = Path(__file__).parent
ORG_NAME = "株式会社みなと精機"
CONSULTANT = ("consultant@demo.teichaku.example", "demo-consultant-2026")
DX_LEAD = ("dx-lead@demo.teichaku.example", "demo-dxlead-2026")

# The story (departments, their causes, how each cause shows in the answers) is data.
STORY = yaml.safe_load((HERE / "story.yaml").read_text(encoding="utf-8"))
DEPARTMENTS: dict[str, int] = STORY["departments"]
CAUSE_MIX: dict[str, dict[str, float]] = STORY["cause_mix"]
AGE_BANDS: dict[str, float] = STORY["age_bands"]
ROLES: dict[str, float] = STORY["roles"]
TENURE: dict[str, float] = STORY["tenure"]
USAGE_BY_CAUSE: dict[str, dict[str, float]] = STORY["usage_by_cause"]
OLDER = STORY["older"]


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _likert(rng: random.Random, low: bool, reverse: bool) -> str:
    base = rng.choice([1, 1, 2, 2, 2, 3]) if low else rng.choice([2, 3, 3, 4, 4, 5])
    value = 6 - base if reverse else base
    return str(value)


def _load_jsonl(name: str) -> list[dict]:
    with open(HERE / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _respondents(rng: random.Random, n: int, improve: float) -> list[dict]:
    """Draw respondents; ``improve`` shifts the later wave towards regular use."""
    people = []
    for _ in range(n):
        dept = _pick(rng, DEPARTMENTS)
        age = _pick(rng, AGE_BANDS)
        mix = dict(CAUSE_MIX[dept])
        if age in OLDER["bands"]:
            mix[OLDER["cause"]] += OLDER["extra_share"]
        cause = _pick(rng, mix)
        usage = dict(USAGE_BY_CAUSE[cause])
        usage["weekly"] += improve
        usage["daily"] += improve / 2
        people.append({"department": dept, "age_band": age, "role": _pick(rng, ROLES),
                       "tenure": _pick(rng, TENURE), "cause": cause,
                       "usage": _pick(rng, usage)})
    return people


def _reasons(rng: random.Random, person: dict, item: Item) -> list[str]:
    """Checklist ticks that mostly, not always, match the person's cause: real respondents tick
    a neighbouring reason too, and a few tick reasons that their comment does not bear out."""
    by_cause: dict[str, list[str]] = {}
    for o in item.options:
        if o.cause and not o.exclusive:
            by_cause.setdefault(o.cause, []).append(o.code)
    if rng.random() < 0.15:
        return []  # skipped the item
    cause = person["cause"]
    if rng.random() < 0.12:  # inconsistent with their comment
        cause = rng.choice([c for c in by_cause if c != cause])
    if cause == OTHER and person["usage"] in ("weekly", "daily") and rng.random() < 0.6:
        return ["none"]
    pool = list(by_cause[cause])
    if (cause == OLDER["cause"] and rng.random() < OLDER["remedy_share"]
            and person["age_band"] in OLDER["bands"]):
        pool = [c for c in pool if item.option(c).remedy == OLDER["remedy"]] or pool
    chosen = [rng.choice(pool)]
    for p_more in (0.55, 0.25):
        if rng.random() > p_more:
            break
        if rng.random() < 0.7 and len(set(pool) - set(chosen)) > 0:
            chosen.append(rng.choice(sorted(set(pool) - set(chosen))))
        else:
            chosen.append(rng.choice(sorted({c for cs in by_cause.values() for c in cs} - set(chosen))))
    if rng.random() < 0.04:
        chosen[-1] = "other_reason"
    return list(dict.fromkeys(chosen))


def _fill_wave(campaign: Campaign, people: list[dict], comments: list[dict],
               comment_rate: float, rng: random.Random, days: int) -> None:
    q = questionnaire_for(current_app.extensions["questionnaires"], campaign)
    pool = list(comments)
    rng.shuffle(pool)
    for person in people:
        answers: dict[str, str] = {"usage": person["usage"]}
        for item in q.items_of_type("likert"):
            low = item.cause == person["cause"] or rng.random() < 0.15
            answers[item.id] = ("dk" if item.dont_know and rng.random() < 0.08
                                else _likert(rng, low, item.reverse))
        for seg in ("department", "role", "age_band", "tenure"):
            answers[seg] = "prefer_not" if rng.random() < 0.04 else person[seg]
        if q.reason_item is not None:
            ticks = _reasons(rng, person, q.reason_item)
            if ticks:
                answers[q.reason_item.id] = ticks
        lang = "ja"
        for item_id in ("reasons", "help_wanted"):
            if rng.random() > comment_rate:
                continue
            match = next((c for c in pool if c["item"] == item_id and c["cause"] == person["cause"]
                          and c["department"] in (person["department"], None)), None)
            if match is None:
                match = next((c for c in pool if c["item"] == item_id
                              and c["cause"] == person["cause"]), None)
            if match is not None:
                pool.remove(match)
                answers[item_id] = match["text"]
                if match.get("lang") == "en":
                    lang = "en"  # English comments come from people who chose the English form
        add_response(campaign, q, answers, lang=lang, source="web",
                     submitted_on=campaign.opens_on + dt.timedelta(days=rng.randrange(days)))


def build_demo(n_responses: int = 320, classify: bool = True,
               echo: Callable[[str], None] = print) -> dict:
    """Create the demo workspace if absent (idempotent) and return its links and logins."""
    org = db.session.scalar(select(Organisation).where(Organisation.name == ORG_NAME))
    if org is None:
        org = create_organisation(ORG_NAME, sum(DEPARTMENTS.values()), dt.date(2026, 7, 1),
                                  "Minato Seiki Co., Ltd.", "Microsoft Copilot")
        db.session.flush()
        echo(f"created organisation {ORG_NAME}")
    for (email, password), role, name in ((CONSULTANT, "consultant", "加藤 コンサルタント"),
                                          (DX_LEAD, "dx_lead", "DX推進 担当者")):
        user = find_user(email)
        if user is None:
            user = create_user(email, name, role, password, [org])
            echo(f"created {role} {email}")
        elif org not in user.organisations:
            user.organisations.append(org)

    comments = _load_jsonl("comments.jsonl")
    rng = random.Random(20261128)  # noqa: S311 - deterministic demo data, not security
    start = today()
    # The first wave ran on questionnaire version 1, before the reason checklist existed.
    waves = [
        ("demo-2026-09", "2026年9月 定着度調査（第1回）", dt.date(2026, 9, 1), dt.date(2026, 9, 20),
         max(20, int(n_responses * 0.75)), 0.0, 0.35, 1),
        ("demo", "定着度調査（第2回）", start - dt.timedelta(days=10), start + dt.timedelta(days=21),
         n_responses, 0.06, 0.6, None),
    ]
    created: list[Campaign] = []
    for slug, name, opens, closes, n, improve, rate, version in waves:
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
        if campaign is not None:
            continue
        campaign = create_campaign(org, slug, name, "ai-adoption", opens, closes,
                                   questionnaire_version=version)
        people = _respondents(rng, n, improve)
        days = max(1, min((closes - opens).days, (start - opens).days + 1))
        _fill_wave(campaign, people, comments, rate, rng, days)
        created.append(campaign)
        echo(f"created campaign {slug} with {n} responses")
    current = db.session.scalar(select(Campaign).where(Campaign.slug == "demo"))
    if current in created:
        for note in _load_jsonl("interviews.jsonl"):
            add_interview(current, note["title"], note["text"], interviewee=note.get("interviewee"),
                          department=note.get("department"))
    db.session.commit()
    if classify:
        from ..classification import classify_pending

        n = classify_pending()
        if n:
            echo(f"classified {n} comment(s)")
    from ..workspace import survey_url

    return {"organisation_id": org.id, "campaign_id": current.id, "survey_url": survey_url(current),
            "consultant": CONSULTANT, "dx_lead": DX_LEAD}
