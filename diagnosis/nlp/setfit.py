"""SetFit-style contrastive fine-tuning of the e5 body on the training corpus.

Usage: ``python -m diagnosis.nlp.setfit [--steps 300] [MODELS_DIR]`` writes
``<MODELS_DIR>/embeddings/e5-setfit`` (never committed). As in SetFit (Tunstall et al. 2022),
sentence pairs are drawn from the labelled corpus, same label -> target cosine 1, different
label -> 0, and the body is trained with a cosine-similarity MSE loss; the logistic head is
then fitted on the new embeddings by ``teichaku train --backend e5-setfit``. Only the
training files are used; the held-out file is never read here.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from diagnosis.nlp.corpus import load_train
from diagnosis.nlp.embeddings import E5_DIRNAME, SETFIT_DIRNAME, cpu_count, set_offline
from diagnosis.nlp.text import normalize


def _pairs(rows: list, n_pairs: int, rng: random.Random) -> list[tuple[str, str, float]]:
    """Balanced positive/negative pairs, deterministic for a given rng."""
    by_label: dict[str, list[str]] = {}
    for ex in rows:
        by_label.setdefault(ex.label, []).append(normalize(ex.text).replace("\n", " "))
    labels = sorted(by_label)
    out = []
    for i in range(n_pairs):
        a = rng.choice(labels)
        if i % 2 == 0:
            out.append((rng.choice(by_label[a]), rng.choice(by_label[a]), 1.0))
        else:
            b = rng.choice([x for x in labels if x != a])
            out.append((rng.choice(by_label[a]), rng.choice(by_label[b]), 0.0))
    return out


def finetune(models_dir: Path, steps: int = 300, batch_pairs: int = 16, lr: float = 2e-5, seed: int = 0) -> Path:
    """Fine-tune the rebuilt e5 folder contrastively and save it as the e5-setfit backend."""
    set_offline()
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(cpu_count())
    from sentence_transformers import SentenceTransformer

    src = models_dir / "embeddings" / E5_DIRNAME
    out = models_dir / "embeddings" / SETFIT_DIRNAME
    model = SentenceTransformer(str(src), device="cpu", local_files_only=True)
    body = model[0].auto_model
    tokenizer = model[0].tokenizer
    rows = load_train(models_dir / "corpus")
    rng = random.Random(seed)
    pairs = _pairs(rows, steps * batch_pairs, rng)
    # The 250k-row word-embedding table is 80% of the weights: freezing it keeps each AdamW
    # step cheap on 2 cores and protects the vocabulary the corpus never shows.
    body.embeddings.word_embeddings.weight.requires_grad_(False)
    params = [p for p in body.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (0.1 * steps)))
    body.train()

    def embed(texts: list[str]) -> torch.Tensor:
        enc = tokenizer(
            ["query: " + t for t in texts], padding=True, truncation=True, max_length=96, return_tensors="pt"
        )
        hidden = body(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    t0 = time.perf_counter()
    for step in range(steps):
        batch = pairs[step * batch_pairs : (step + 1) * batch_pairs]
        a = embed([p[0] for p in batch])
        b = embed([p[1] for p in batch])
        target = torch.tensor([p[2] for p in batch])
        loss = torch.nn.functional.mse_loss((a * b).sum(-1), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 25 == 0:
            print(f"step {step}/{steps} loss {loss.item():.4f} {time.perf_counter() - t0:.0f}s", flush=True)
    body.eval()
    model.save(str(out))
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models_dir", nargs="?", type=Path, default=Path(__file__).resolve().parents[2] / "models")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args(argv)
    print(f"wrote {finetune(args.models_dir, steps=args.steps)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
