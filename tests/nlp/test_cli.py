from __future__ import annotations

import json

import pytest
from flask import Flask

from diagnosis.cli import nlp as cli_nlp
from diagnosis.nlp import LABELS


@pytest.fixture
def runner(models_dir):
    app = Flask(__name__)
    app.config.update(MODELS_DIR=str(models_dir), EMBEDDING_MODEL="use")
    cli_nlp.init_app(app)
    return app.test_cli_runner()


def _check(line: str) -> dict:
    row = json.loads(line)
    assert set(row) == {"text", "label", "scores", "sentences"}
    assert row["label"] in (*LABELS, "unclear")
    assert set(row["scores"]) == set(LABELS)
    for s in row["sentences"]:
        assert set(s) == {"text", "label", "scores"}
    return row


def test_classify_stdin_jsonl_and_plain(runner):
    stdin = '{"text": "使い方がわからない", "id": 3}\nMy manager never uses it and there is no policy.\n\n'
    result = runner.invoke(args=["classify", "-"], input=stdin)
    assert result.exit_code == 0, result.output
    rows = [_check(line) for line in result.output.splitlines()]
    assert [r["text"] for r in rows] == ["使い方がわからない", "My manager never uses it and there is no policy."]
    assert rows[0]["label"] == "support"


def test_classify_file_multi_sentence(runner, tmp_path):
    path = tmp_path / "answers.jsonl"
    path.write_text(
        json.dumps({"text": "研修がなかった。上司も使っていない。"}, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    result = runner.invoke(args=["classify", str(path)])
    assert result.exit_code == 0, result.output
    (row,) = [_check(line) for line in result.output.splitlines()]
    assert len(row["sentences"]) == 2


def test_classify_bad_json(runner):
    result = runner.invoke(args=["classify", "-"], input='{"nope": 1}\n')
    assert result.exit_code != 0
    assert "text" in result.output


def test_train_with_corrections(tmp_path, models_dir):
    """Only an exported file of corrections reaches the shared model, never the database."""
    (tmp_path / "corpus").mkdir()
    for src in (models_dir / "corpus").glob("train_*.jsonl"):
        lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
        (tmp_path / "corpus" / src.name).write_text("".join(lines[::8]), encoding="utf-8")
    exported = tmp_path / "exported.jsonl"
    exported.write_text('{"text": "マニュアルがどこにあるか分からない", "label": "support", '
                        '"organisation_id": 1}\n', encoding="utf-8")
    app = Flask(__name__)
    app.config.update(MODELS_DIR=str(tmp_path), EMBEDDING_MODEL="use")
    cli_nlp.init_app(app)
    result = app.test_cli_runner().invoke(args=["train", "--with-corrections", str(exported)])
    assert result.exit_code == 0, result.output
    assert "corrections 1" in result.output
    meta = json.loads((tmp_path / "metadata.json").read_text())
    assert meta["heads"]["use"]["n_corrections"] == 1
    assert meta["default_backend"] == "use"
