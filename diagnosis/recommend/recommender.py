"""Remedy recommender: ranks the playbook's remedies and names where to start, as small rules.

Every cause and remedy id comes from the playbook; nothing here names one. Remedy score = sum over
causes of ``coverage[remedy][cause] * cause score`` (playbook ``coverage``; the split cause's
column, support, is divided between its two remedies, training and help desk, by
:class:`SupportSplit`), plus: ``dominant_bonus`` for the remedy the dominant cause calls for (with
the cause's ``when_dominant`` rules: :data:`DOMINANT`), ``drop_off_bonus`` inside the 1-3 month
drop-off window, the age-spread bonus (``age_spread.bonus``), and the playbook's ``drivers.bonus``
for the remedy called for by the cause that stands out in the driver analysis (what separates
users from non-users, :mod:`.drivers`). The dominant complaint cause still names the start; when
it and the standing-out driver differ, the reasons say so. Governance rules and executive
sponsorship are prerequisites placed before the first remedy when their rule fires.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .aggregate import GroupStats, SelfReport
from .data import CAUSES, OrgContext
from .diagnose import MIXED, CauseScore, Dominance, SupportSplit
from .drivers import NONE, STANDS_OUT, DriverAnalysis
from .playbook import DOMINANT_RULES, REMEDIES, SUPPORTING, Playbook, localised
from .redact import quote
from .sanity import join_sentences
from .stats import add_months, months_between

MIN_QUOTE = 8
_JAPANESE = re.compile(r"[ぁ-ゖァ-ヺ一-龥]")


@dataclass
class Recommendation:
    """One ranked remedy with everything needed to act on it."""

    remedy: str
    name: str
    summary: str
    score: float
    rank: int = 0
    start: bool = False
    reasons: list[str] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)
    format: str = ""
    lightweight: bool = False
    flags: list[str] = field(default_factory=list)
    plan: list[dict[str, str]] = field(default_factory=list)
    kpis: list[str] = field(default_factory=list)
    review_date: dt.date | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "remedy": self.remedy, "name": self.name, "summary": self.summary,
            "score": round(self.score, 1), "rank": self.rank, "start": self.start,
            "reasons": list(self.reasons), "quotes": list(self.quotes), "format": self.format,
            "lightweight": self.lightweight, "flags": list(self.flags),
            "plan": [dict(p) for p in self.plan], "kpis": list(self.kpis),
            "review_date": self.review_date.isoformat() if self.review_date else None,
        }


@dataclass
class Mechanism:
    """A prerequisite or supporting mechanism."""

    id: str
    name: str
    text: str
    reasons: list[str] = field(default_factory=list)
    first: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.id, "name": self.name, "text": self.text,
                "reasons": list(self.reasons), "first": self.first}


@dataclass
class Plan:
    """The recommender's output."""

    recommendations: list[Recommendation]
    prerequisites: list[Mechanism]
    supporting: list[Mechanism]
    context: dict[str, Any]

    @property
    def start_with(self) -> str | None:
        """The remedy to start with."""
        return self.recommendations[0].remedy if self.recommendations else None


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{round(100 * x)}"


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.0f}"


def pick_quotes(remedy: str, evidence: list, pb: Playbook, dominant: str,
                limit: int = 3, lang: str = "ja") -> list[str]:
    """Up to ``limit`` redacted quotes: the highest-confidence evidence of the remedy's causes."""
    causes = list(pb.remedy(remedy)["causes"])
    if dominant in causes:
        causes = [dominant]
    pool = [e for e in evidence if e.label in causes]
    patterns = pb.patterns.get(remedy, ())

    def key(e: Any) -> tuple:
        fits = any(p.search(e.text) for p in patterns) if patterns else False
        # Quotes in the report's language read best; the others still qualify.
        same_lang = bool(_JAPANESE.search(e.text)) == (lang == "ja")
        return (fits, same_lang, round(e.confidence, 2), min(len(e.text), 60))

    # One-word answers ("研修") say little; use them only when nothing longer exists.
    long_enough = [e for e in pool if len(e.text.strip()) >= MIN_QUOTE]
    if len(long_enough) >= 2:
        pool = long_enough
    out: list[str] = []
    for e in sorted(pool, key=key, reverse=True):
        q = quote(e.text)
        if q and q not in out:
            out.append(q)
        if len(out) >= limit:
            break
    return out


def driver_shares(drv: DriverAnalysis, pb: Playbook, lang: str) -> str:
    """Each cause's share of the explained variance in use with its interval, largest first."""
    sep = "、" if lang == "ja" else "; "
    parts = []
    for c in sorted(CAUSES, key=lambda c: drv.share(c) or 0.0, reverse=True):
        d = drv.causes[c]
        lo, hi = d.interval or (0.0, 0.0)
        parts.append(f"{pb.cause_name(c, lang)} {_pct(d.importance)}% ({_pct(lo)}–{_pct(hi)}%)")
    return sep.join(parts)


def _driver_evidence(recs: dict[str, Recommendation], drivers: DriverAnalysis | None, dom: Dominance,
                     split: SupportSplit, chosen: str | None, s: dict[str, float], pb: Playbook,
                     lang: str) -> str | None:
    """Add the driver bonus and reasons; returns the remedy the standing-out driver calls for."""
    if drivers is None or drivers.verdict != STANDS_OUT or not drivers.top:
        return None
    top = drivers.top
    remedy = pb.remedy_for(top, split.remedy)
    bonus = float(pb.section("drivers")["bonus"])
    d = drivers.causes[top]
    lo, hi = d.interval or (0.0, 0.0)
    rec = recs[remedy]
    rec.score += bonus
    rec.reasons.insert(1 if remedy == chosen else 0, pb.text(
        "reason_driver", lang, cause=pb.cause_name(top, lang), pct=_pct(d.importance), lo=_pct(lo),
        hi=_pct(hi), n=drivers.n, bonus=f"{bonus:g}"))
    rec.flags.append("driver")
    if dom.cause in CAUSES and dom.cause != top and chosen is not None:
        c = drivers.causes[dom.cause]
        c_lo, c_hi = c.interval or (0.0, 0.0)
        key = "reason_driver_disagrees" if remedy != chosen else "reason_driver_disagrees_same"
        recs[chosen].reasons.insert(1, pb.text(
            key, lang, complaint=pb.cause_name(dom.cause, lang),
            score=_num(s[dom.cause]), driver=pb.cause_name(top, lang), pct=_pct(d.importance),
            lo=_pct(lo), hi=_pct(hi), c_pct=_pct(c.importance), c_lo=_pct(c_lo), c_hi=_pct(c_hi),
            remedy=rec.name))
        recs[chosen].flags.append("drivers_disagree")
    return remedy


def _age_spread(age_groups: list[tuple[str, str, GroupStats]], pb: Playbook,
                lang: str) -> dict[str, Any] | None:
    """The largest between-band gap on the compared cause's Likert score (``age_spread.cause``:
    support) or the habit rate, when over threshold."""
    cfg = pb.section("rules")["age_spread"]
    if len(age_groups) < cfg["min_bands"]:
        return None
    found = []
    cause = cfg["cause"]
    support = [(g.likert[cause].score, label) for _, label, g in age_groups
               if g.likert[cause].score is not None]
    if len(support) >= cfg["min_bands"]:
        lo, hi = min(support), max(support)
        if hi[0] - lo[0] >= cfg["support_points"]:
            found.append((hi[0] - lo[0], "metric_support", lo, hi, _num))
    habit = [(100 * g.usage.habit_rate, label) for _, label, g in age_groups
             if g.usage.habit_rate is not None]
    if len(habit) >= cfg["min_bands"]:
        lo, hi = min(habit), max(habit)
        if hi[0] - lo[0] >= cfg["habit_points"]:
            found.append((hi[0] - lo[0], "metric_habit", lo, hi, lambda x: f"{x:.0f}%"))
    if not found:
        return None
    gap, metric, lo, hi, fmt = max(found, key=lambda t: t[0])
    return {"metric": pb.text(metric, lang), "low": fmt(lo[0]), "low_band": lo[1],
            "high": fmt(hi[0]), "high_band": hi[1], "gap": round(gap, 1)}


def _top_reason(sr: SelfReport, remedy: str, pb: Playbook, dom: Dominance,
                split: SupportSplit) -> str | None:
    """The most ticked checklist option that speaks for a remedy: for the split's remedies
    (training, help desk) the options pointing to them, otherwise the options of the remedy's
    causes (the dominant or leading cause's first)."""
    if remedy in split.remedies:
        return sr.top_option(o.code for o in sr.spec.options if o.remedy == remedy)
    causes = list(pb.remedy(remedy)["causes"])
    lead = dom.cause if dom.cause != MIXED else dom.top
    for wanted in ([[lead]] if lead in causes else []) + [causes]:
        code = sr.top_option(o.code for o in sr.spec.options if o.cause in wanted)
        if code is not None:
            return code
    return None


def _kpis_per_department(rec: Recommendation, prerequisites: list[Mechanism], score: float,
                         pb: Playbook, lang: str, departments: list[tuple[str, str]] | None) -> None:
    """Unclear purpose: a measurable target per department, first in the plan and the KPIs."""
    depts = departments or [("default", "")]
    kpis = [(f"{label}: " if label else "") + pb.department_kpi(code, lang) for code, label in depts]
    sep = "、" if lang == "ja" else "; "
    rec.plan.insert(0, {"days": "1-14", "text": pb.text(
        "plan_kpis_per_department", lang, kpis=sep.join(kpis))})
    rec.kpis[:0] = kpis
    rec.flags.append("kpis_per_department")


def _executive_sponsorship(rec: Recommendation, prerequisites: list[Mechanism], score: float,
                           pb: Playbook, lang: str, departments: list[tuple[str, str]] | None) -> None:
    """Leadership not involved: executive sponsorship comes first, executives present first."""
    pre = pb.section("prerequisites")["executive_sponsorship"]
    prerequisites.append(Mechanism(
        "executive_sponsorship", localised(pre["name"], lang),
        localised(pre["text"], lang),
        [pb.text("reason_exec_prereq", lang, score=_num(score))], first=True))
    rec.plan.insert(0, {"days": "1-30", "text": pb.text("plan_executives_present", lang)})
    rec.flags.append("executives_present")


#: The rules a dominant cause may name in the playbook (``causes.<id>.when_dominant``).
Rule = Callable[[Recommendation, list[Mechanism], float, Playbook, str, "list[tuple[str, str]] | None"], None]
DOMINANT: dict[str, Rule] = {"kpis_per_department": _kpis_per_department,
                             "executive_sponsorship": _executive_sponsorship}
assert tuple(DOMINANT) == DOMINANT_RULES, "a rule named in playbook.DOMINANT_RULES has no function"


def _dominant_cause_rule(recs: dict[str, Recommendation], prerequisites: list[Mechanism],
                         dom: Dominance, split: SupportSplit, s: dict[str, float], pb: Playbook,
                         lang: str, rules: dict[str, Any],
                         departments: list[tuple[str, str]] | None) -> str | None:
    """A dominant cause names the remedy to start with (the one remedy that addresses it, or the
    split's choice for the split cause), gives it the dominant bonus and its reason
    (``texts.reason_<cause>``), and applies the cause's ``when_dominant`` rules."""
    cause = dom.cause
    if cause not in CAUSES:
        return None
    chosen = pb.remedy_for(cause, split.remedy)
    rec = recs[chosen]
    values: dict[str, Any] = {"score": _num(s[cause])}
    is_split = cause == pb.section("support_split")["cause"]
    if is_split:
        values.update(kind=pb.text(f"kind_{split.remedy}", lang),
                      decider=pb.text(f"decider_{split.decider}", lang),
                      k_first=split.k_first, k_second=split.k_second,
                      p_first=_num(split.p_first), p_second=_num(split.p_second))
    lead_reason = pb.text(f"reason_{cause}", lang, **values)
    for name in pb.when_dominant(cause):
        DOMINANT[name](rec, prerequisites, s[cause], pb, lang, departments)
    if is_split:
        rec.flags.append(f"{cause}_decided_by_{split.decider}")
        if split.s_first + split.s_second:
            lead_reason = join_sentences(lead_reason, pb.text(
                "reason_support_checklist", lang, s_first=split.s_first, s_second=split.s_second))
    rec.score += float(rules["dominant_bonus"])
    rec.reasons.insert(0, lead_reason)
    return chosen


def recommend(*, stats: GroupStats, scores: dict[str, CauseScore], dom: Dominance,
              split: SupportSplit, context: OrgContext, pb: Playbook, lang: str = "ja",
              quotable: list | None = None, departments: list[tuple[str, str]] | None = None,
              age_groups: list[tuple[str, str, GroupStats]] | None = None,
              drivers: DriverAnalysis | None = None) -> Plan:
    """Rank the remedies for a diagnosed group and explain the choice."""
    rules = pb.section("rules")
    cfg_split = pb.section("support_split")
    quotable = quotable or []
    s = {c: (scores[c].score or 0.0) for c in CAUSES}

    # Coverage with the split cause's column (support) divided by the evidence.
    coverage = {r: dict(pb.section("coverage")[r]) for r in REMEDIES}
    f, (first, second), split_cause = split.fraction_first, split.remedies, cfg_split["cause"]
    coverage[first][split_cause] += cfg_split["base"] + cfg_split["by_evidence"] * f
    coverage[second][split_cause] += cfg_split["base"] + cfg_split["by_evidence"] * (1 - f)

    small = context.employee_count <= rules["small_org_max_employees"]
    recs: dict[str, Recommendation] = {}
    for r in REMEDIES:
        entry = pb.remedy(r)
        fmt = entry["format"]["light" if small else "standard"]
        fmt_text = localised(fmt, lang)
        rec = Recommendation(
            remedy=r, name=pb.remedy_name(r, lang),
            summary=localised(entry["summary"], lang),
            score=sum(coverage[r][c] * s[c] for c in CAUSES), format=fmt_text, lightweight=small,
        )
        rec.plan = [{"days": str(p["days"]), "text": localised(p, lang)
                     .format(format=fmt_text)} for p in entry["plan"]]
        rec.kpis = [localised(k, lang) for k in entry["kpis"]]
        contributions = sorted(((coverage[r][c] * s[c], c) for c in CAUSES
                                if coverage[r][c] > 0 and scores[c].score is not None),
                               reverse=True)
        for _, c in contributions[:2]:
            sc = scores[c]
            rec.reasons.append(pb.text(
                "reason_cause", lang, cause=pb.cause_name(c, lang), score=_num(sc.score),
                favourable=_pct(sc.favourable), share=_pct(sc.share),
                weight=f"{coverage[r][c]:.2f}"))
        if small:
            rec.flags.append("lightweight")
            rec.reasons.append(pb.text("reason_small_org", lang,
                                       employees=context.employee_count, format=fmt_text))
        recs[r] = rec

    prerequisites: list[Mechanism] = []
    chosen = _dominant_cause_rule(recs, prerequisites, dom, split, s, pb, lang, rules, departments)
    sr = stats.self_report
    if sr is not None and sr.n:
        for r, rec in recs.items():
            code = _top_reason(sr, r, pb, dom, split)
            if code is None:
                continue
            k = sr.option_counts[code]
            rec.reasons.insert(1 if r == chosen else 0, pb.text(
                "reason_self_report", lang, pct=_pct(k / sr.n), n=sr.n, k=k,
                option=sr.spec.option(code).name(lang)))
            rec.flags.append("cites_checklist")

    driver_remedy = _driver_evidence(recs, drivers, dom, split, chosen, s, pb, lang)

    # Months since rollout: the 1-3 month drop-off window.
    months = None
    window = rules["drop_off_window_months"]
    phase = None
    if context.rollout_date is not None:
        months = months_between(context.rollout_date, context.report_date)
        m_txt = f"{months:.1f}"
        if months < window[0]:
            phase = "before_window"
        elif months <= window[1]:
            phase = "in_window"
            for r, b in rules["drop_off_bonus"].items():
                recs[r].score += b
                recs[r].reasons.append(pb.text("reason_drop_off", lang, months=m_txt, bonus=b))
                recs[r].plan.insert(0, {"days": "1-14", "text": pb.text("plan_drop_off", lang)})
                recs[r].flags.append("drop_off_window")
        else:
            phase = "past_window"

    # Age-band spread: generation-aware training.
    spread = _age_spread(age_groups or [], pb, lang)
    if spread:
        for r, b in rules["age_spread"]["bonus"].items():
            recs[r].score += b
            recs[r].reasons.append(pb.text(
                "reason_age_spread", lang, bonus=b,
                **{k: spread[k] for k in ("metric", "low", "low_band", "high", "high_band")}))
        for r in rules["age_spread"]["bonus"]:  # the remedies it favours become generation-aware
            recs[r].plan.append({"days": "1-90", "text": pb.text("plan_generation_aware", lang)})
            recs[r].flags.append("generation_aware")

    ranked = sorted(recs.values(), key=lambda x: x.score, reverse=True)
    if chosen:  # the dominant cause's rule names the start even if a bonus elsewhere closes in
        ranked.sort(key=lambda x: x.remedy != chosen)
    elif len(ranked) > 1:
        top, second = ranked[0], ranked[1]
        top.reasons.insert(0, pb.text("reason_mixed", lang, score=_num(top.score),
                                      runner=second.name, runner_score=_num(second.score)))
        top.flags.append("mixed_top_coverage")
    if len(ranked) > 1:
        ranked[1].reasons.insert(0, pb.text("reason_runner_up", lang, score=_num(ranked[1].score)))
    start = ranked[0]
    start.start = True
    if drivers is not None and drivers.verdict == NONE:
        start.reasons.append(pb.text("reason_driver_none", lang, shares=driver_shares(drivers, pb, lang)))
        start.flags.append("no_driver_stands_out")
    if months is not None:
        m_txt = f"{months:.1f}"
        if phase == "before_window":
            start.reasons.append(pb.text("reason_early", lang, months=m_txt))
        elif phase == "past_window":
            start.reasons.append(pb.text("reason_past_window", lang, months=m_txt))
            start.plan.insert(0, {"days": "1-14", "text": pb.text("plan_past_window", lang)})
            start.flags.append("past_window")

    # Governance first when the concerns that rules address (confidentiality, checking outputs)
    # are large. Empty or unrelated 'other' answers ("特になし") do not count towards it.
    gov_rule = rules["governance"]
    total = stats.text.total
    security_n = stats.themes.get("security", 0)
    security_share = security_n / total if total else 0.0
    concern_share = (security_n + stats.themes.get("accuracy", 0)) / total if total else 0.0
    governance_first = total > 0 and (
        concern_share >= gov_rule["concern_share"] or security_share >= gov_rule["security_share"])
    if governance_first:
        pre = pb.section("prerequisites")["governance_first"]
        prerequisites.insert(0, Mechanism(
            "governance_first", localised(pre["name"], lang),
            localised(pre["text"], lang),
            [pb.text("reason_governance", lang, concern_share=_pct(concern_share),
                     security_share=_pct(security_share))], first=True))
        start.plan.insert(0, {"days": "0", "text": pb.text("plan_governance_first", lang)})
        start.flags.append("governance_first")

    for rec in ranked:  # phases in time order; inserted steps keep their relative order
        rec.plan.sort(key=lambda p: int(p["days"].split("-")[0]))
    review = add_months(context.report_date, 3)
    habit = stats.usage.habit_rate
    for i, rec in enumerate(ranked, 1):
        rec.rank = i
        rec.review_date = review
        rec.score = round(rec.score, 1)
        rec.quotes = pick_quotes(rec.remedy, quotable, pb,
                                 dom.cause if dom.cause != MIXED else (dom.top or ""),
                                 lang=lang)
        if habit is not None:
            target = min(95, round(100 * habit) + int(rules["habit_target_points"]))
            rec.kpis.append(pb.text("kpi_habit", lang, habit=_pct(habit), target=target))

    supporting = []
    for sid in SUPPORTING:
        entry = pb.section("supporting")[sid]
        text = localised(entry["text"], lang)
        supporting.append(Mechanism(sid, localised(entry["name"], lang),
                                    text.format(date=review.isoformat()),
                                    first=(sid == "governance" and governance_first)))
    ctx = {
        "employee_count": context.employee_count,
        "small_organisation": small,
        "rollout_date": context.rollout_date.isoformat() if context.rollout_date else None,
        "report_date": context.report_date.isoformat(),
        "months_since_rollout": None if months is None else round(months, 1),
        "drop_off_phase": phase,
        "age_spread": spread,
        "governance_first": governance_first,
        "concern_share": round(concern_share, 3) if stats.text.total else None,
        "security_share": round(security_share, 3) if stats.text.total else None,
        "review_date": review.isoformat(),
        "driver_remedy": driver_remedy,
    }
    return Plan(ranked, prerequisites, supporting, ctx)


__all__ = ["Plan", "Recommendation", "Mechanism", "recommend", "pick_quotes"]
