"""CSV exports for spreadsheets: UTF-8 with BOM (Excel reads Japanese correctly), cells that
could start a formula neutralised with a leading apostrophe (CSV/formula injection, including
full-width ＝ ＋ － ＠), and bidirectional controls removed.

Both exports honour the anonymity rules of the diagnosis (``diagnosis.recommend.anonymity``) and
read only its released snapshot. The responses export (per-person rows, for consultants only) is
refused below MIN_GROUP responses, lists rows in a fixed random order, carries no submission date
and one segment column, the department, shown only where the department's released group and the
rest are large enough (several segment columns together could single a person out); comment
texts are redacted and only present from MIN_COMMENTS_GROUP responses. The diagnosis tables come
from ``Diagnosis.to_dict()``, where suppression is applied.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select

from ..display import strip_bidi
from ..extensions import db
from ..i18n import translate
from ..questionnaire import Questionnaire
from ..recommend.anonymity import COMMENT_FIELD, shuffle_key
from ..recommend.redact import redact
from ..recommend.service import Diagnosis
from ..vocabulary import CAUSES, OTHER
from .models import Campaign, Comment, Response

BOM = "\ufeff"
# A spreadsheet starts a formula at = + - @; full-width and small forms (＝ ＋ － ＠ ﹦ …) are
# the same characters after NFKC, and Excel trims leading spaces (also U+3000) before looking.
FORMULA_STARTS = frozenset("=+-@")
CONTROL_STARTS = ("\t", "\r", "\n")


class ExportRefused(ValueError):
    """The export would break the anonymity rules; the message is shown to the user."""


def could_start_formula(text: str) -> bool:
    """True when a spreadsheet might read ``text`` as a formula (or a control-led cell)."""
    if text.startswith(CONTROL_STARTS):
        return True
    head = text.lstrip()
    return bool(head) and unicodedata.normalize("NFKC", head[0])[:1] in FORMULA_STARTS


def neutralise(value: Any) -> Any:
    """Text that could start a formula gets a leading apostrophe; bidi controls are removed;
    numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return value
    text = strip_bidi(str(value))
    return "'" + text if could_start_formula(text) else text


def write_csv(rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows as CSV bytes: UTF-8 with BOM, CRLF line ends, every cell neutralised."""
    buf = io.StringIO()
    buf.write(BOM)
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
    return buf.getvalue().encode("utf-8")


def responses_csv(campaign: Campaign, questionnaire: Questionnaire | None, lang: str,
                  diag: Diagnosis, order_secret: str) -> bytes:
    """One row per released response in the campaign's fixed random order: department (where
    allowed), answers, and each comment with its predicted and corrected cause."""
    th = diag.thresholds
    included = diag.release.included if diag.release else frozenset()
    if len(included) < th.min_group:
        raise ExportRefused(translate("Responses can be exported once at least {min_group} are released (anonymity).",
                                      lang, min_group=th.min_group))
    responses = [r for r in db.session.scalars(
        select(Response).where(Response.campaign_id == campaign.id)) if r.id in included]
    # A fixed random order: the last row must not be the newest respondent.
    responses.sort(key=lambda r: shuffle_key(order_secret, r.id))
    departments = diag.release.row_segments() if diag.release else {}
    hidden = translate("anon.csv_hidden", lang)
    with_text = len(responses) >= th.min_comments_group
    item_ids = ([i.id for i in questionnaire.items_of_type("choice", "multi_choice", "likert")]
                if questionnaire else sorted({k for r in responses for k in (r.answers or {})}))
    text_ids = ([i.id for i in questionnaire.items_of_type("text")] if questionnaire
                else sorted({c.item_id for r in responses for c in r.comments if c.item_id}))
    header: list[str] = ["response", COMMENT_FIELD, *item_ids]
    for i in text_ids:
        header += [f"{i}_text", f"{i}_cause", f"{i}_confidence", f"{i}_corrected_cause",
                   f"{i}_self_label"]
    rows: list[list[Any]] = [header]
    for n, r in enumerate(responses, 1):
        answers = r.answers or {}
        row: list[Any] = [n, departments.get(r.id, hidden)]
        # A checklist answer is a list of codes: one cell, separated by ';' as Forms does.
        row += [";".join(map(str, v)) if isinstance(v := answers.get(i, ""), list) else v
                for i in item_ids]
        by_item: dict[str | None, Comment] = {c.item_id: c for c in r.comments}
        for i in text_ids:
            c = by_item.get(i)
            if c is None:
                row += ["", "", "", "", ""]
                continue
            row += [redact(c.text) if with_text else translate("(hidden)", lang),
                    c.label or "", "" if c.confidence is None else round(c.confidence, 3),
                    c.corrected_label or "", c.self_label or ""]
        rows.append(row)
    return write_csv(rows)


def _num(x: Any) -> Any:
    return "" if x is None else x


def diagnosis_csv(diag: dict[str, Any], comparison: dict[str, Any] | None, lang: str,
                  cause_name: Any) -> bytes:
    """The diagnosis tables (summary, usage, causes, segments, recommendations, waves) in one file."""
    t = lambda msgid, **kw: translate(msgid, lang, **kw)  # noqa: E731
    camp = diag["campaign"]
    rows: list[list[Any]] = [
        [t("Diagnosis"), camp["organisation"], camp["name"], camp["slug"]],
        [t("Report date"), diag["report_date"]],
        [t("Responses"), diag["responses"]],
        [translate("anon.received", lang), diag["release"]["received"]],
        [t("Employees"), _num(diag["employee_count"])],
        [t("Response rate"), _num(diag["response_rate"])],
        [t("Suppressed (too few responses)"), diag["suppressed"]],
        [t("Anonymity threshold (people)"), diag["anonymity"]["min_group"]],
        [],
    ]
    if not diag["suppressed"]:
        usage = diag["usage"] or {}
        rows.append([t("Usage"), t("People")])
        rows += [[code, n] for code, n in (usage.get("counts") or {}).items()]
        rows.append([t("Adoption rate"), _num(usage.get("adoption_rate"))])
        rows.append([t("Habit rate"), _num(usage.get("habit_rate"))])
        rows.append([])
        rows.append([t("Cause"), "id", t("Score"), t("Interval low"),
                     t("Interval high"), t("Comment share"),
                     t("Comments", context="count"), t("Likert score"),
                     t("Favourable", context="share"),
                     t("Self-reported share"),
                     t("Self-reported low"), t("Self-reported high")])
        for cid, c in diag["causes"].items():
            iv = c.get("interval") or [None, None]
            lk = c.get("likert") or {}
            own = c.get("self_reported") or {}
            own_iv = own.get("interval") or [None, None]
            rows.append([cause_name(cid, lang), cid, _num(c.get("score")), _num(iv[0]), _num(iv[1]),
                         _num(c.get("share")), c.get("n_comments", 0), _num(lk.get("score")),
                         _num(lk.get("favourable")), _num(own.get("share")), _num(own_iv[0]),
                         _num(own_iv[1])])
        rows.append([t("Dominant cause"), diag.get("dominant_cause") or ""])
        rows.append([])
        reasons = diag.get("reason_choices")
        if reasons:
            rows.append([t("Reason checklist"), t("Respondents"),
                         reasons["n"]])
            rows.append([t("Reason"), "id", t("Cause"), t("People"),
                         t("Share")])
            for o in reasons["options"]:
                rows.append([o["label"], o["code"], o["cause"] or "", o["count"], _num(o["share"])])
            rows.append([])
    rows.append([t("Segment field"), t("Value"), t("Suppressed"),
                 t("Responses")]
                + [f"{cause_name(c, lang)} ({t('score')})"
                   for c in CAUSES]
                + [f"{cause_name(OTHER, lang)} ({t('share')})"])
    for fld, views in (diag.get("segments") or {}).items():
        for s in views:
            if s.get("suppressed"):
                rows.append([fld, s["label"], True, "", "", "", "", ""])
                continue
            causes = s.get("causes") or {}
            rows.append([fld, s["label"], False, s.get("n")]
                        + [_num((causes.get(c) or {}).get("score"))
                           for c in CAUSES]
                        + [_num((causes.get(OTHER) or {}).get("share"))])
    rows.append([])
    if diag.get("recommendations"):
        rows.append([t("Rank"), t("Remedy"), "id", t("Score"),
                     t("Start here"), t("Reasons")])
        for r in diag["recommendations"]:
            rows.append([r["rank"], r["name"], r["remedy"], r["score"], r["start"],
                         " / ".join(r.get("reasons") or [])])
        rows.append([])
    if comparison:
        rows.append([t("Wave comparison"), comparison["earlier"], comparison["later"]])
        rows.append([t("Cause"), t("Score before"), t("Score after"),
                     t("Change"), t("Share change"),
                     t("Likert change")])
        for cid, c in comparison["causes"].items():
            rows.append([cause_name(cid, lang), _num(c["score_before"]), _num(c["score_after"]),
                         _num(c["score_change"]), _num(c["share_change"]), _num(c["likert_change"])])
    return write_csv(rows)
