"""The product's ids, in one place (plain Python: imports nothing).

Every module that names a cause, a remedy, a usage answer or a segment field takes the id from
here: the classifier's label order, the diagnosis, the forms and filters, the exports. Names,
texts and colours in both languages are data (``questionnaires/playbook.yaml`` and the
questionnaire YAML); ``create_app`` checks at start-up that the playbook, the report texts and the
trained model agree with these ids.
"""

from __future__ import annotations

#: The root causes a remedy can address, in display order.
CAUSES: tuple[str, ...] = ("purpose", "leadership", "support")
#: A comment that names none of the causes.
OTHER = "other"
#: What the classifier assigns, in its label (probability column) order.
LABELS: tuple[str, ...] = CAUSES + (OTHER,)
#: The classifier's label when it is not confident enough.
UNCLEAR = "unclear"
#: The remedies, in display order; the two that address ``support`` are told apart by evidence.
REMEDIES: tuple[str, ...] = ("success_stories", "training", "help_desk")
SUPPORT_REMEDIES: tuple[str, ...] = ("training", "help_desk")
#: The usage question's answers, from least to most use.
USAGE_CODES: tuple[str, ...] = ("never", "tried_once", "monthly", "weekly", "daily")
#: The respondent's groups a diagnosis can be broken down by.
SEGMENT_FIELDS: tuple[str, ...] = ("department", "role", "age_band", "tenure")
#: The stored answer of a Likert item's "don't know" choice.
DONT_KNOW = "dk"
