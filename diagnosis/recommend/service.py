"""The diagnosis of one campaign: aggregation, anonymity, cause diagnosis and recommendations."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .aggregate import GroupStats, group_stats, usable
from .anonymity import COMMENT_FIELD, Release, Thresholds, quotable, release_plan, segment_counts
from .data import CAUSES, SEGMENT_FIELDS, UNCLEAR, CampaignData, Evidence
from .diagnose import MIXED, CauseScore, Dominance, SupportSplit, cause_scores, dominance
from .diagnose import support_split as compute_split
from .drivers import NO_VARIATION, STANDS_OUT, TOO_FEW, DriverAnalysis, group_drivers
from .playbook import Playbook, load_playbook
from .quantify import ErrorModel
from .recommender import Plan, driver_shares, recommend

# Segment findings need at least this many classified comments in the group.
MIN_SEGMENT_COMMENTS = 5
SEGMENT_FINDING_SHARE = 0.4
MAX_SEGMENT_FINDINGS = 4


@dataclass
class SegmentView:
    """One value of a segment field; a suppressed one carries no numbers at all."""

    field: str
    value: str
    label: str
    suppressed: bool
    stats: GroupStats | None = None
    scores: dict[str, CauseScore] | None = None
    comments_shown: bool = False
    label_lang: str = "ja"
    drivers: DriverAnalysis | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; suppressed segments are reduced to their name and the flag."""
        if self.suppressed or self.stats is None or self.scores is None:
            return {"value": self.value, "label": self.label, "suppressed": True}
        return {
            "value": self.value, "label": self.label, "suppressed": False, "n": self.stats.n,
            "usage": self.stats.usage.to_dict(),
            "causes": _causes_dict(self.scores, self.stats),
            "comments_shown": self.comments_shown,
            "reason_choices": (None if self.stats.self_report is None
                               else self.stats.self_report.options_dict(self.label_lang)),
            "drivers": None if self.drivers is None else self.drivers.drivers_dict(),
            "driver_analysis": None if self.drivers is None else self.drivers.summary_dict(),
        }


@dataclass
class Diagnosis:
    """Everything a dashboard, the PDF or the CLI shows for one campaign."""

    data: CampaignData
    lang: str
    thresholds: Thresholds
    suppressed: bool
    stats: GroupStats | None
    scores: dict[str, CauseScore] = field(default_factory=dict)
    dominance: Dominance | None = None
    split: SupportSplit | None = None
    plan: Plan | None = None
    segments: dict[str, list[SegmentView]] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    classifier: dict[str, Any] = field(default_factory=dict)
    quantification: dict[str, Any] = field(default_factory=dict)
    # Causes whose self-reported and classified-comment shares disagree beyond their intervals.
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    release: Release | None = None
    # What separates users from non-users (None when suppressed).
    drivers: DriverAnalysis | None = None

    @property
    def responses(self) -> int:
        """Number of responses in the diagnosis (the released snapshot)."""
        return len(self.data.responses)

    @property
    def received(self) -> int:
        """Number of responses stored, including those waiting for the next snapshot."""
        return self.data.received if self.data.received is not None else self.responses

    def release_dict(self) -> dict[str, Any]:
        """How much of what was received the diagnosis includes, and when it moves next."""
        waiting = max(0, self.received - self.responses)
        comments = len(self.release.comment_members) if self.release else self.responses
        return {"received": self.received, "included": self.responses, "waiting": waiting,
                "next_after": max(1, self.thresholds.min_group - waiting),
                "comment_respondents": comments,
                "steps": self.release.steps if self.release else None,
                "comment_field": COMMENT_FIELD}

    @property
    def response_rate(self) -> float | None:
        """Responses received divided by the organisation's employee count, at most 1.0 (the
        count received may rise one by one; only the results move in steps).

        More responses than employees means a wrong headcount or repeated answers, never a rate
        above 100 %: the rate is capped and ``exceeds_headcount`` says so.
        """
        n = self.data.context.employee_count
        return min(1.0, self.received / n) if n else None

    @property
    def exceeds_headcount(self) -> bool:
        """True when more responses were received than there are employees."""
        n = self.data.context.employee_count
        return bool(n) and self.received > n

    @property
    def dominant_cause(self) -> str | None:
        """A cause id, "mixed", or None when suppressed."""
        return self.dominance.cause if self.dominance else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON of the diagnosis (see issue 4)."""
        d = self.data
        out: dict[str, Any] = {
            "campaign": {"id": d.campaign_id, "slug": d.slug, "name": d.name,
                         "organisation_id": d.organisation_id, "organisation": d.context.name,
                         "questionnaire": d.questionnaire_id,
                         "questionnaire_version": d.questionnaire_version},
            "lang": self.lang,
            "report_date": d.context.report_date.isoformat(),
            "anonymity": {"min_group": self.thresholds.min_group,
                          "min_comments_group": self.thresholds.min_comments_group},
            "suppressed": self.suppressed,
            "responses": self.responses,
            "release": self.release_dict(),
            "employee_count": d.context.employee_count,
            "response_rate": None if self.response_rate is None else round(self.response_rate, 3),
            "responses_exceed_headcount": self.exceeds_headcount,
            "pending_comments": d.pending_comments,
            "findings": list(self.findings),
            "classifier": dict(self.classifier),
            "quantification": dict(self.quantification),
        }
        if self.suppressed or self.stats is None:
            out.update({"usage": None, "causes": {}, "dominant_cause": None,
                        "drivers": None, "driver_analysis": None,
                        "recommendations": [], "prerequisites": [], "supporting": [],
                        "segments": {f: [s.to_dict() for s in v] for f, v in self.segments.items()}})
            return out
        st = self.stats
        dom = self.dominance
        out.update({
            "usage": st.usage.to_dict(),
            "causes": _causes_dict(self.scores, st),
            "drivers": None if self.drivers is None else self.drivers.drivers_dict(),
            "driver_analysis": None if self.drivers is None else self.drivers.summary_dict(),
            "n_classified_comments": st.text.total,
            "dominant_cause": dom.cause if dom else None,
            "dominance": None if dom is None else {
                "top": dom.top, "runner_up": dom.runner_up,
                "difference": None if dom.difference is None else round(dom.difference, 1),
                "margin": None if dom.margin is None else round(dom.margin, 1)},
            "support_split": None if self.split is None else self.split.to_dict(),
            "start_with": self.plan.start_with if self.plan else None,
            "recommendations": [r.to_dict() for r in self.plan.recommendations] if self.plan else [],
            "prerequisites": [m.to_dict() for m in self.plan.prerequisites] if self.plan else [],
            "supporting": [m.to_dict() for m in self.plan.supporting] if self.plan else [],
            "context": dict(self.plan.context) if self.plan else {},
            "segments": {f: [s.to_dict() for s in v] for f, v in self.segments.items()},
            "reason_choices": None if st.self_report is None else st.self_report.options_dict(self.lang),
            "self_report_disagreements": [dict(x) for x in self.disagreements],
        })
        return out


def _r1(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _causes_dict(scores: dict[str, CauseScore], stats: GroupStats) -> dict[str, Any]:
    out: dict[str, Any] = {}
    sr = stats.self_report
    for c in CAUSES:
        sc = scores[c]
        iv = sc.interval
        raw = stats.text.share_raw(c)
        out[c] = {
            "score": _r1(sc.score),
            "interval": None if iv is None else [round(iv[0], 1), round(iv[1], 1)],
            "share": None if sc.share is None else round(sc.share, 3),
            "share_raw": None if raw is None else round(raw, 3),
            "share_interval": ([round(sc.share_interval[0], 3), round(sc.share_interval[1], 3)]
                               if sc.share is not None else None),
            "n_comments": sc.n_comments,
            "likert": stats.likert[c].to_dict(),
            "self_reported": None if sr is None else sr.causes_dict(c),
        }
    share = stats.text.share("other")
    raw = stats.text.share_raw("other")
    iv = stats.text.interval("other")
    out["other"] = {
        "score": None,
        "share": None if share is None else round(share, 3),
        "share_raw": None if raw is None else round(raw, 3),
        "share_interval": None if share is None else [round(iv[0], 3), round(iv[1], 3)],
        "n_comments": stats.text.counts.get("other", 0),
        "likert": None,
        "themes": dict(stats.themes),
        "self_reported": None if sr is None else sr.causes_dict("other"),
    }
    return out


def _segment_evidence(evidence: tuple[Evidence, ...], field_name: str,
                      value: str) -> list[Evidence]:
    return [e for e in evidence if e.segments.get(field_name) == value]


def _segments(data: CampaignData, pb: Playbook, th: Thresholds, lang: str, release: Release,
              error_model: ErrorModel | None = None) -> dict[str, list[SegmentView]]:
    by_id = {r.id: r for r in data.responses}
    order = {f: {code: i for i, code in enumerate(data.segment_labels.get(f, {}))}
             for f in SEGMENT_FIELDS}
    out: dict[str, list[SegmentView]] = {}
    for f in SEGMENT_FIELDS:
        cells = release.cells.get(f, ())
        views = []
        for c in sorted((c for c in cells if c.shown), key=lambda c: (-len(c.members), c.value)):
            rs = [by_id[i] for i in sorted(c.members)]
            # Comments are grouped on one field only; other fields' cells use the rated questions.
            ev = _segment_evidence(data.evidence, f, c.value) if f == COMMENT_FIELD else []
            st = group_stats(rs, ev, data.likert_items, pb, error_model, data.reasons)
            # Only shown groups get a driver analysis, and only from what the group shows: its
            # rated questions, plus its comments on the comment field alone.
            drv = group_drivers(rs, st, usable(ev, pb), pb.section("drivers"))
            views.append(SegmentView(f, c.value, data.segment_label(f, c.value, lang), False, st,
                                     cause_scores(st, pb), comments_shown=f == COMMENT_FIELD
                                     and st.n >= th.min_comments_group, label_lang=lang,
                                     drivers=drv))
        # Hidden values in the questionnaire's order: their sizes are not to be read from it.
        for c in sorted((c for c in cells if not c.shown),
                        key=lambda c: (order[f].get(c.value, len(order[f])), c.value)):
            views.append(SegmentView(f, c.value, data.segment_label(f, c.value, lang), True))
        out[f] = views
    return out


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{round(100 * x)}"


def _findings(diag: Diagnosis, pb: Playbook) -> list[str]:
    lang, st, d = diag.lang, diag.stats, diag.data
    assert st is not None
    out = []
    if d.context.employee_count:
        out.append(pb.text("find_response", lang, n=diag.responses,
                           employees=d.context.employee_count, rate=_pct(diag.response_rate)))
    if st.usage.n:
        out.append(pb.text("find_usage", lang, adoption=_pct(st.usage.adoption_rate),
                           habit=_pct(st.usage.habit_rate)))
    ranked = sorted(CAUSES, key=lambda c: diag.scores[c].score or 0, reverse=True)
    for c in ranked:
        sc = diag.scores[c]
        if st.text.total and st.text.estimate is not None:
            out.append(pb.text("find_cause_corrected", lang, total=st.text.total, share=_pct(sc.share),
                               lo=_pct(sc.share_interval[0]), hi=_pct(sc.share_interval[1]),
                               raw=_pct(st.text.share_raw(c)), n=sc.n_comments,
                               cause=pb.cause_name(c, lang), favourable=_pct(sc.favourable)))
        elif st.text.total:
            out.append(pb.text("find_cause", lang, total=st.text.total, share=_pct(sc.share),
                               n=sc.n_comments, cause=pb.cause_name(c, lang),
                               favourable=_pct(sc.favourable)))
        elif sc.favourable is not None:
            out.append(pb.text("find_cause_no_text", lang, cause=pb.cause_name(c, lang),
                               favourable=_pct(sc.favourable)))
    dom = diag.dominance
    if dom and dom.top and dom.runner_up:
        values = {"cause": pb.cause_name(dom.top, lang), "runner": pb.cause_name(dom.runner_up, lang),
                  "score": f"{diag.scores[dom.top].score:.0f}",
                  "runner_score": f"{diag.scores[dom.runner_up].score:.0f}",
                  "diff": f"{dom.difference:.1f}", "margin": f"{dom.margin:.1f}"}
        out.append(pb.text("find_mixed" if dom.cause == MIXED else "find_dominant", lang,
                           **values))
    if diag.drivers is not None:
        out.append(driver_finding(diag.drivers, pb, lang))
    sr = st.self_report
    if sr is not None and sr.n:
        top = sr.top_option(o.code for o in sr.spec.options)
        sep = "、" if lang == "ja" else ", "
        shares = sep.join(f"{pb.cause_name(c, lang)} {_pct(sr.share(c))}%"
                          for c in (*CAUSES, "other") if sr.share(c) is not None)
        out.append(pb.text("find_self_report", lang, n=sr.n, option=sr.spec.option(top).name(lang),
                           pct=_pct(sr.option_share(top)), shares=shares or "–"))
    for x in diag.disagreements:
        out.append(pb.text("find_self_report_disagrees", lang, cause=pb.cause_name(x["cause"], lang),
                           own=_pct(x["self_reported"]), own_lo=_pct(x["self_interval"][0]),
                           own_hi=_pct(x["self_interval"][1]), text=_pct(x["comments"]),
                           text_lo=_pct(x["comments_interval"][0]),
                           text_hi=_pct(x["comments_interval"][1])))
    themes = sorted(((n, t) for t, n in st.themes.items() if n and t != "unthemed"), reverse=True)
    for n, t in themes[:2]:
        out.append(pb.text("find_theme", lang, n=n, theme=pb.theme_label(t, lang)))
    seg_findings = []
    for f in ("department", "role", "age_band"):
        for v in diag.segments.get(f, []):
            if v.suppressed or v.stats is None or not v.comments_shown:
                continue
            if v.stats.text.total < MIN_SEGMENT_COMMENTS:
                continue
            c = max(CAUSES, key=lambda c: v.stats.text.share(c) or 0)
            share = v.stats.text.share(c) or 0
            if share >= SEGMENT_FINDING_SHARE:
                seg_findings.append((share, pb.text(
                    "find_segment", lang, segment=v.label, field=pb.text(f"segment_field_{f}", lang), share=_pct(share),
                    cause=pb.cause_name(c, lang), n=v.stats.text.counts[c],
                    total=v.stats.text.total)))
    out += [t for _, t in sorted(seg_findings, key=lambda x: -x[0])[:MAX_SEGMENT_FINDINGS]]
    if not st.text.total:
        out.append(pb.text("find_no_text", lang))
    return out


def driver_finding(drv: DriverAnalysis, pb: Playbook, lang: str) -> str:
    """One sentence on what separates users from non-users, or why it cannot be said."""
    if drv.verdict == TOO_FEW:
        return pb.text("find_drivers_too_few", lang, min_n=drv.min_n, n=drv.n)
    if drv.verdict == NO_VARIATION:
        return pb.text("find_drivers_no_variation", lang, n=drv.n)
    r2_iv = drv.r2_interval or (0.0, 0.0)
    if drv.verdict == STANDS_OUT and drv.top:
        d = drv.causes[drv.top]
        iv = d.interval or (0.0, 0.0)
        return pb.text("find_drivers", lang, cause=pb.cause_name(drv.top, lang), pct=_pct(d.importance),
                       lo=_pct(iv[0]), hi=_pct(iv[1]), n=drv.n, r2=_pct(drv.r2))
    if r2_iv[0] < float(pb.section("drivers")["min_r2"]):
        return pb.text("find_drivers_weak", lang, r2=_pct(drv.r2), lo=_pct(r2_iv[0]), hi=_pct(r2_iv[1]),
                       n=drv.n)
    return pb.text("find_drivers_none", lang, shares=driver_shares(drv, pb, lang), n=drv.n)


def self_report_disagreements(stats: GroupStats) -> list[dict[str, Any]]:
    """Causes (and "other") whose checklist share and classified-comment share have disjoint
    intervals: the two kinds of evidence say different things, and the reader should know."""
    sr = stats.self_report
    if sr is None or not sr.n_mapped or not stats.text.total:
        return []
    out = []
    for c in (*CAUSES, "other"):
        own, text = sr.share(c), stats.text.share(c)
        own_iv, text_iv = sr.interval(c), stats.text.interval(c)
        if own is None or text is None or own_iv is None:
            continue
        if own_iv[0] > text_iv[1] or text_iv[0] > own_iv[1]:
            out.append({"cause": c, "self_reported": round(own, 3),
                        "self_interval": [round(own_iv[0], 3), round(own_iv[1], 3)],
                        "comments": round(text, 3),
                        "comments_interval": [round(text_iv[0], 3), round(text_iv[1], 3)]})
    return out


def classifier_versions(evidence: tuple[Evidence, ...], active: str | None) -> dict[str, Any]:
    """Which classifier versions labelled the machine-labelled evidence, and how many disagree
    with the active one (human corrections do not count: their label is a person's)."""
    machine = [e for e in evidence if e.label is not None and not e.corrected]
    versions: dict[str, int] = {}
    for e in machine:
        versions[e.model_version or "unknown"] = versions.get(e.model_version or "unknown", 0) + 1
    stale = 0 if active is None else sum(n for v, n in versions.items() if v != active)
    unclear = sum(1 for e in machine if e.label == UNCLEAR)
    return {"active_version": active, "versions": dict(sorted(versions.items())), "stale": stale,
            "machine_labelled": len(machine), "unclear": unclear,
            "unclear_share": round(unclear / len(machine), 3) if machine else None}


def quantification_summary(stats: GroupStats | None, error_model: ErrorModel | None) -> dict[str, Any]:
    """The ``quantification`` block: how cause shares were estimated, from what error model."""
    est = stats.text.estimate if stats is not None else None
    if est is not None:
        return est.summary()
    reason = "no error model for the active classifier" if error_model is None else "no classified comments"
    return {"method": "count", "method_name": "classify and count (labels counted, errors not corrected)",
            "error_model": None if error_model is None else {"source": error_model.source, "n": error_model.n},
            "reason": reason}


def diagnose(data: CampaignData, lang: str = "ja", *, playbook: Playbook | None = None,
             min_group: int | None = None, min_comments_group: int | None = None,
             classifier_version: str | None = None, error_model: ErrorModel | None = None) -> Diagnosis:
    """Diagnose a campaign given as plain data (pure: no database).

    ``classifier_version`` is the version of the classifier that labels comments now; evidence
    labelled by another version is counted and reported, never silently mixed. ``error_model``
    holds that classifier's calibrated probabilities on the wild evaluation set: with it, cause
    shares are corrected for the classifier's known errors (PACC, :mod:`.quantify`); without it
    they are counted labels.
    """
    pb = playbook or load_playbook()
    lang = "en" if lang == "en" else "ja"
    th = Thresholds.make(min_group, min_comments_group, pb.section("anonymity"))
    # Only what the latest snapshot releases goes any further (see .anonymity).
    release = release_plan(data.responses, th.min_group)
    received = data.received if data.received is not None else len(data.responses)
    data = replace(data, received=received,
                   responses=tuple(r for r in data.responses if r.id in release.included),
                   evidence=tuple(e for e in data.evidence
                                  if e.response_id is None or e.response_id in release.comment_members))
    segments = _segments(data, pb, th, lang, release, error_model)
    versions = classifier_versions(data.evidence, classifier_version)
    if len(data.responses) < th.min_group:
        diag = Diagnosis(data, lang, th, True, None, segments={
            f: [SegmentView(f, s.value, s.label, True) for s in v] for f, v in segments.items()},
            release=release)
        diag.findings = [pb.text("find_suppressed", lang, min_group=th.min_group)]
        diag.classifier = versions
        diag.quantification = quantification_summary(None, error_model)
        return diag
    st = group_stats(data.responses, data.evidence, data.likert_items, pb, error_model, data.reasons)
    scores = cause_scores(st, pb)
    dom = dominance(scores, st, pb)
    split = compute_split(data.responses, data.evidence, data.likert_items, pb, st.self_report)
    drivers = group_drivers(data.responses, st, usable(data.evidence, pb), pb.section("drivers"))
    counts = {f: segment_counts(data.responses, f)[0] for f in SEGMENT_FIELDS}
    min_conf = pb.section("scoring")["min_confidence"]
    eligible = [e for e in data.evidence
                if e.label in CAUSES and e.confidence >= min_conf
                and quotable(e, None, th, counts, len(data.responses))]
    departments = [(v.value, v.label) for v in segments.get("department", []) if not v.suppressed]
    age_groups = [(v.value, v.label, v.stats) for v in segments.get("age_band", [])
                  if not v.suppressed and v.stats is not None]
    remedies = recommend(stats=st, scores=scores, dom=dom, split=split, context=data.context,
                         pb=pb, lang=lang, quotable=eligible, departments=departments,
                         age_groups=age_groups, drivers=drivers)
    diag = Diagnosis(data, lang, th, False, st, scores, dom, split, remedies, segments,
                     release=release, drivers=drivers)
    diag.disagreements = self_report_disagreements(st)
    diag.classifier = versions
    diag.quantification = quantification_summary(st, error_model)
    diag.findings = _findings(diag, pb)
    if versions["stale"]:
        diag.findings.insert(0, pb.text("find_stale_model", lang, stale=versions["stale"],
                                        total=versions["machine_labelled"]))
    return diag


def diagnose_campaign(campaign: Any, lang: str = "ja", *, session: Any = None,
                      questionnaire: Any = None, report_date: dt.date | None = None,
                      playbook: Playbook | str | Path | None = None,
                      min_group: int | None = None,
                      min_comments_group: int | None = None,
                      classifier_version: str | None = None,
                      error_model: ErrorModel | None = None,
                      everything: bool = False) -> Diagnosis:
    """Load a campaign (id, slug or model) from the database and diagnose its latest snapshot
    (released first when due); ``everything`` diagnoses every stored response instead."""
    from .loader import load_campaign

    pb = playbook if isinstance(playbook, Playbook) else load_playbook(playbook)
    th = Thresholds.make(min_group, min_comments_group, pb.section("anonymity"))
    data = load_campaign(campaign, session=session, questionnaire=questionnaire,
                         report_date=report_date, release_min_group=th.min_group,
                         everything=everything)
    return diagnose(data, lang, playbook=pb, min_group=min_group,
                    min_comments_group=min_comments_group, classifier_version=classifier_version,
                    error_model=error_model)
