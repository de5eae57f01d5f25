"""Adding a cause and a remedy is a data change: a fifth cause (``workload``) and a fourth remedy
(``time_allowance``) written only as YAML (``tests/extending/workload.yaml``, merged into copies
of the shipped playbook and questionnaire) reach the survey, the dashboard, the CSV export, the
JSON diagnosis and the PDF without a line of Python changing.

The ids are read from the playbook when Python imports them, so the checks run in a fresh
interpreter pointed at the copies (``TEICHAKU_QUESTIONNAIRE_DIR``): ``tests/extending/
new_cause_checks.py`` under pytest, with the suite's fixtures. Only the classifier is a stub there
(a corpus for the new cause is not the point); everything else is the real product.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from diagnosis.config import QUESTIONNAIRE_DIR, REPO_ROOT

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "extending" / "workload.yaml"
CHECKS = HERE / "extending" / "new_cause_checks.py"


def _dump(data: dict, path: Path) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")


def questionnaires_with_new_cause(folder: Path) -> Path:
    """Copies of the shipped questionnaires with the fixture's cause, remedy, items and option."""
    shutil.copytree(QUESTIONNAIRE_DIR, folder)
    extra = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    pb = yaml.safe_load((folder / "playbook.yaml").read_text(encoding="utf-8"))
    new = extra["playbook"]
    causes = {k: v for k, v in pb["causes"].items() if k != "other"}
    pb["causes"] = {**causes, **new["causes"], "other": pb["causes"]["other"]}  # 'other' stays last
    pb["remedies"].update(new["remedies"])
    for remedy, row in new["coverage"].items():
        pb["coverage"].setdefault(remedy, {}).update(row)
    pb["texts"].update(new["texts"])
    _dump(pb, folder / "playbook.yaml")
    q = yaml.safe_load((folder / "ai-adoption.yaml").read_text(encoding="utf-8"))
    at = next(i for i, s in enumerate(q["sections"]) if s["id"] == "comments")
    q["sections"].insert(at, extra["questionnaire"]["section"])
    checklist = next(item for item in q["sections"][at + 1]["items"] if item["id"] == "reason_choices")
    others = next(i for i, o in enumerate(checklist["options"]) if o.get("cause") == "other")
    checklist["options"].insert(others, extra["questionnaire"]["option"])
    _dump(q, folder / "ai-adoption.yaml")
    return folder


def stub_models(folder: Path, labels: list[str]) -> Path:
    """A models folder whose only head is a stub labelling these classes (start-up checks the
    trained model's labels against the playbook's causes; the checks replace the classifier)."""
    folder.mkdir()
    meta = {"default_backend": "stub",
            "heads": {"stub": {"label_order": labels, "training_set_sha256": "0123456789ab" * 5}}}
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def test_a_fifth_cause_and_a_fourth_remedy_are_a_data_change(tmp_path):
    folder = questionnaires_with_new_cause(tmp_path / "questionnaires")
    labels = [*yaml.safe_load((folder / "playbook.yaml").read_text(encoding="utf-8"))["causes"]]
    assert labels == ["purpose", "leadership", "support", "workload", "other"]
    env = {**os.environ, "TEICHAKU_QUESTIONNAIRE_DIR": str(folder), "TEICHAKU_TEST_BACKENDS": "sqlite",
           "TEICHAKU_MODELS_DIR": str(stub_models(tmp_path / "models", labels)),
           "TEICHAKU_EMBEDDING_MODEL": "stub", "PYTHONPATH": str(REPO_ROOT)}
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        str(CHECKS)], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-6000:] + p.stderr[-2000:]
    assert " passed" in p.stdout and " skipped" not in p.stdout, p.stdout[-2000:]
