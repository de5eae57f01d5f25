"""The product's ids, in one place, read from the playbook (plain Python and YAML: nothing heavy).

The causes and the remedies are the keys of ``causes`` and ``remedies`` in the playbook
(``questionnaires/playbook.yaml``, or ``$TEICHAKU_QUESTIONNAIRE_DIR/playbook.yaml``), in the order
written there; adding one is a change to that file. Every module that names a cause or a remedy
takes the id from here: the classifier's label order, the diagnosis, the forms and filters, the
charts, the exports. Names, texts and colours in both languages are data beside the ids; the
playbook validator (:mod:`diagnosis.recommend.playbook`) checks them, and ``create_app`` checks at
start-up that the playbook it loads and the trained model agree with these ids.

The few ids that are not the playbook's are the usage answers, the segment fields and the "don't
know" code, which the questionnaire format defines.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "questionnaires"


class VocabularyError(ValueError):
    """The playbook cannot give the ids; the message names the file, the key and the reason."""


def playbook_path(questionnaire_dir: str | Path | None = None) -> Path:
    """The playbook of a questionnaire directory: its ``playbook.yaml``, or the shipped one when
    it has none. Without a directory: TEICHAKU_QUESTIONNAIRE_DIR's, else the shipped one."""
    folder = Path(questionnaire_dir or os.environ.get("TEICHAKU_QUESTIONNAIRE_DIR") or DEFAULT_DIR)
    path = folder / "playbook.yaml"
    return path if path.exists() else DEFAULT_DIR / "playbook.yaml"


def read_ids(path: Path) -> dict[str, tuple[str, ...]]:
    """The cause, remedy and split ids of a playbook file, in its order (the full check of the
    file is the playbook validator's)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise VocabularyError(f"{path}: cannot read the playbook: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise VocabularyError(f"{path}: top level: invalid YAML: {exc}") from None

    def keys(section: str) -> tuple[str, ...]:
        block = data.get(section) if isinstance(data, dict) else None
        if not isinstance(block, dict) or not block:
            raise VocabularyError(f"{path}: {section}: must be a non-empty mapping")
        return tuple(str(k) for k in block)

    causes = tuple(c for c in keys("causes") if c != OTHER)
    split = data.get("support_split") if isinstance(data.get("support_split"), dict) else {}
    split_remedies = split.get("remedies") or ()
    if not isinstance(split_remedies, list) or len(split_remedies) != 2:
        raise VocabularyError(f"{path}: support_split.remedies: must list the two remedies the "
                              "split cause is divided between")
    return {"causes": causes, "remedies": keys("remedies"),
            "split_cause": (str(split.get("cause") or ""),),
            "split_remedies": tuple(str(r) for r in split_remedies)}


#: A comment that names none of the causes.
OTHER = "other"
#: The classifier's label when it is not confident enough.
UNCLEAR = "unclear"

PLAYBOOK_PATH = playbook_path()
_IDS = read_ids(PLAYBOOK_PATH)

#: The root causes a remedy can address, in display order.
CAUSES: tuple[str, ...] = _IDS["causes"]
#: What the classifier assigns, in its label (probability column) order.
LABELS: tuple[str, ...] = CAUSES + (OTHER,)
#: The remedies, in display order.
REMEDIES: tuple[str, ...] = _IDS["remedies"]
#: The cause whose evidence is divided between two remedies (``support``: training or a help
#: desk), and those two remedies; checklist options of that cause may name one of them.
SPLIT_CAUSE: str = _IDS["split_cause"][0]
SPLIT_REMEDIES: tuple[str, ...] = _IDS["split_remedies"]
#: The usage question's answers, from least to most use.
USAGE_CODES: tuple[str, ...] = ("never", "tried_once", "monthly", "weekly", "daily")
#: The respondent's groups a diagnosis can be broken down by.
SEGMENT_FIELDS: tuple[str, ...] = ("department", "role", "age_band", "tenure")
#: The stored answer of a Likert item's "don't know" choice.
DONT_KNOW = "dk"
