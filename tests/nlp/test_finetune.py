"""The fine-tuned body: adapters merge exactly, training is deterministic, the int8 product path
agrees with the torch model it was exported from, and stale or reordered heads are caught."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from diagnosis.nlp.corpus import Example
from diagnosis.nlp.labels import LABELS
from tools import finetune as ft

TEXTS = [
    "使い方がわからない",
    "部長が『そんなものに頼るな』と言うので、誰も使わなくなった。",
    "Tried it once, got a bland answer, gave up.",
    "毎日議事録の要約に使っていて助かっています",
    "使い方は覚えた。でも自分の仕事のどこで使うのかが見えない。",
    "Is it even OK to paste client names into it? Nobody has said.",
]


@pytest.fixture(scope="module")
def e5_folder(models_dir):
    folder = models_dir / "embeddings" / "multilingual-e5-small"
    if not (folder / "model.safetensors").is_file():
        pytest.fail(f"{folder} is not built: run `make setup`")
    return folder


def _tiny_rows() -> list[Example]:
    rows = []
    for i, text in enumerate(TEXTS * 2):
        rows.append(Example(text + ("" if i < len(TEXTS) else "。"), LABELS[(i % len(TEXTS)) % 4], "ja"))
    return rows


def test_merged_weights_reproduce_the_adapted_model(e5_folder, tmp_path):
    """W + scale * B @ A in a plain BERT gives the same pooled vectors as the LoRA model."""
    import torch
    from safetensors.numpy import save_file
    from transformers import AutoModel

    recipe = ft.Recipe(rank=4, alpha=8.0)
    model = ft.Model(e5_folder, recipe)
    gen = torch.Generator().manual_seed(1)
    for name in model.names:  # B starts at zero; give it weight so the merge is really tested
        mod = ft._module(model.bert, name)
        mod.lora_b.data = torch.randn(mod.lora_b.shape, generator=gen) * 0.02
    model.train(False)
    arrays = model.state()
    folder = tmp_path / "merged"
    shutil.copytree(e5_folder, folder, ignore=shutil.ignore_patterns("onnx", "*.safetensors"))
    save_file(ft.merged_state(e5_folder, arrays, json.loads(json.dumps(vars(recipe)))),
              str(folder / "model.safetensors"), metadata={"format": "pt"})
    plain = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
    tok = ft.Tokens(e5_folder, 128)
    answers = tok.answers(TEXTS)
    with torch.inference_mode():
        adapted = model.logits(answers, tok.pad_id).numpy()
        ids, mask = ft._pad([s for a in answers for s in a], tok.pad_id)
        hidden = plain(input_ids=ids, attention_mask=mask).last_hidden_state
        sums = (hidden * mask.unsqueeze(-1)).sum(1)
        owner = torch.tensor([i for i, a in enumerate(answers) for _ in a])
        pooled = torch.zeros((len(answers), sums.shape[1])).index_add(0, owner, sums)
        unit = torch.nn.functional.normalize(pooled, dim=-1)
        merged = (unit @ torch.tensor(arrays["head_coef"], dtype=torch.float32).T).numpy()
        merged += arrays["head_intercept"]
    np.testing.assert_allclose(adapted, merged, atol=2e-3)
    # the untouched base weights would give something else: the merge did change the model
    base = AutoModel.from_pretrained(str(e5_folder), local_files_only=True).eval()
    with torch.inference_mode():
        moved = base(input_ids=ids, attention_mask=mask).last_hidden_state
    assert not torch.allclose(moved, hidden, atol=1e-3)


def test_training_is_deterministic_and_learns(e5_folder):
    """Two fits with one recipe give identical adapters; the head fits its training rows."""
    rows = _tiny_rows()
    recipe = ft.Recipe(epochs=6, batch_size=4, frozen_layers=10, head_lr=2e-2, lr=2e-3)
    first = ft.fit(rows, e5_folder, recipe).state()
    again = ft.fit(rows, e5_folder, recipe)
    for key, value in again.state().items():
        np.testing.assert_array_equal(value, first[key], err_msg=key)
    logits = ft.predict_logits(again, e5_folder, [r.text for r in rows])
    hits = sum(LABELS[i] == r.label for i, r in zip(logits.argmax(1), rows, strict=True))
    assert hits >= len(rows) * 0.75


def test_targets_put_mass_on_the_stated_secondary_label():
    recipe = ft.Recipe(smoothing=0.05, secondary_weight=0.2)
    y = ft.targets([Example("x", "support", "ja", "leadership"), Example("y", "other", "ja")], recipe)
    np.testing.assert_allclose(y.sum(axis=1), 1.0)
    assert y[0, LABELS.index("support")] == pytest.approx(0.75 + 0.0125)
    assert y[0, LABELS.index("leadership")] == pytest.approx(0.2 + 0.0125)
    assert y[1].argmax() == LABELS.index("other")


def test_product_int8_path_agrees_with_the_torch_model_it_came_from(models_dir, e5_folder):
    """The built e5-ft ONNX + committed head labels answers as the fp32 adapted model does."""
    import torch

    from diagnosis.nlp import get_classifier

    arrays, info = ft.load_adapter(ft.adapter_path(models_dir))
    recipe = ft.Recipe(**info["recipe"])
    model = ft.Model(e5_folder, recipe)
    for name in model.names:
        mod = ft._module(model.bert, name)
        mod.lora_a.data = torch.tensor(arrays[f"lora_a:{name}"])
        mod.lora_b.data = torch.tensor(arrays[f"lora_b:{name}"])
    model.head.weight.data = torch.tensor(arrays["head_coef"] / recipe.scale, dtype=torch.float32)
    model.head.bias.data = torch.tensor(arrays["head_intercept"] / recipe.scale, dtype=torch.float32)
    model.train(False)
    torch_labels = [LABELS[i] for i in ft.predict_logits(model, e5_folder, TEXTS).argmax(1)]
    clf = get_classifier(models_dir, backend="e5-ft")
    product = clf.predict_proba(TEXTS)
    agree = sum(LABELS[i] == t for i, t in zip(product.argmax(1), torch_labels, strict=True))
    assert agree >= len(TEXTS) - 1
    assert clf.version_.startswith("e5-ft:")


def test_a_head_with_other_labels_is_refused(models_dir, tmp_path):
    """Each row of a saved head is stored with its label, so its order is its own; a head whose
    labels are not the playbook's causes (a cause renamed since it was trained) is refused."""
    from diagnosis.nlp import load_classifier

    meta = json.loads((models_dir / "metadata.json").read_text(encoding="utf-8"))
    backend = meta["default_backend"]
    entry = meta["heads"][backend]
    shutil.copy(models_dir / entry["file"], tmp_path / entry["file"])
    with np.load(tmp_path / entry["file"], allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["classes"] = np.array([("budget" if c == "leadership" else c) for c in arrays["classes"]])
    np.savez(tmp_path / entry["file"], **arrays)
    (tmp_path / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    (tmp_path / "embeddings").symlink_to(models_dir / "embeddings")
    with pytest.raises(ValueError, match=r"labels \['budget', 'other', 'purpose', 'support'\] do not match"):
        load_classifier(tmp_path, backend)


def test_adapter_records_how_to_rebuild_it(models_dir):
    arrays, info = ft.load_adapter(ft.adapter_path(models_dir))
    assert info["labels"] == list(LABELS)
    # the committed adapter records the command of its time (then diagnosis.nlp.finetune, now tools.finetune)
    assert re.match(r"python -m (diagnosis\.nlp|tools)\.finetune train", info["command"])
    assert arrays["oof_logits"].shape == (info["n_train"], len(LABELS))
    from diagnosis.nlp.corpus import load_train, sha256_examples

    assert sha256_examples(load_train(models_dir / "corpus")) == info["training_set_sha256"]
