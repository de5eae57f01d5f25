"""Sanity warnings: what a reader must know before trusting a campaign's diagnosis.

Computed here and only here, from plain :class:`~.data.CampaignData`, and shown alike by the
dashboard, the PDF and ``teichaku diagnose``:

- comments still waiting for the classifier (they are in no part of the diagnosis);
- more responses than the organisation has employees;
- a survey closed with fewer responses than the anonymity minimum;
- a wave compared with one that used another version of the questionnaire.

The wording lives in the playbook's ``texts`` (``warn_*``), in Japanese and English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .data import CampaignData
from .playbook import Playbook, load_playbook

if TYPE_CHECKING:
    from .service import Diagnosis

PENDING = "pending_comments"
EXCEEDS_HEADCOUNT = "responses_exceed_headcount"
CLOSED_BELOW_MINIMUM = "closed_below_minimum"
QUESTIONNAIRE_VERSION = "questionnaire_version_differs"


@dataclass(frozen=True)
class DataWarning:
    """One warning: a stable code, the sentence to show, and what to do about it (if anything)."""

    code: str
    text: str
    hint: str | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"code": self.code, "text": self.text, "hint": self.hint, "values": dict(self.values)}

    def line(self) -> str:
        """The text and the hint on one line (for a one-line refusal on the terminal)."""
        return join_sentences(self.text, self.hint)


def join_sentences(*parts: str | None) -> str:
    """Sentences on one line: a space after an English one, none after a Japanese 「。」."""
    out = ""
    for part in filter(None, parts):
        out += part if not out or out.endswith(("。", "）")) else f" {part}"
    return out


def pending_warning(n: int, lang: str, playbook: Playbook | None = None) -> DataWarning | None:
    """The warning for ``n`` comments not classified yet, None when there are none."""
    if n <= 0:
        return None
    pb = playbook or load_playbook()
    key = "warn_pending_one" if n == 1 else "warn_pending"
    return DataWarning(PENDING, pb.text(key, lang, n=n), pb.text("warn_pending_hint", lang), {"n": n})


def sanity_warnings(data: CampaignData, lang: str, *, min_group: int,
                    earlier: CampaignData | None = None,
                    playbook: Playbook | None = None) -> list[DataWarning]:
    """Every warning about a campaign's data, most pressing first.

    ``earlier`` is the wave this one is compared with, when a comparison is shown.
    """
    pb = playbook or load_playbook()
    out: list[DataWarning] = []
    pending = pending_warning(data.pending_comments, lang, pb)
    if pending is not None:
        out.append(pending)
    received = data.received if data.received is not None else len(data.responses)
    employees = data.context.employee_count
    if employees and received > employees:
        values = {"n": received, "employees": employees}
        out.append(DataWarning(EXCEEDS_HEADCOUNT, pb.text("warn_headcount", lang, **values),
                               values=values))
    if data.closed and received < min_group:
        values = {"n": received, "min_group": min_group}
        out.append(DataWarning(CLOSED_BELOW_MINIMUM, pb.text("warn_closed_few", lang, **values),
                               values=values))
    if (earlier is not None and earlier.questionnaire_id == data.questionnaire_id
            and earlier.questionnaire_version != data.questionnaire_version):
        values = {"earlier": earlier.name, "questionnaire": data.questionnaire_id,
                  "before": earlier.questionnaire_version, "after": data.questionnaire_version}
        out.append(DataWarning(QUESTIONNAIRE_VERSION, pb.text("warn_version", lang, **values),
                               values=values))
    return out


def diagnosis_warnings(diag: Diagnosis, earlier: Diagnosis | None = None,
                       playbook: Playbook | None = None) -> list[DataWarning]:
    """:func:`sanity_warnings` of a diagnosis (its language and anonymity minimum), compared with
    the ``earlier`` wave's diagnosis when a comparison is shown."""
    return sanity_warnings(diag.data, diag.lang, min_group=diag.thresholds.min_group,
                           earlier=earlier.data if earlier is not None else None, playbook=playbook)
