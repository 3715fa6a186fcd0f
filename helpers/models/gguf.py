"""Every notebook: reading a model's GGUF (llama: SmolLM2; qwen2: Qwen2.5-Coder): metadata, the
transformers config, the dequantized state dict and the tokenizer."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from helpers.models.common import (
    _BLOCK_TENSORS,
    _GLOBAL_TENSORS,
    _TOKEN_TYPE_CONTROL,
    _TOKEN_TYPE_USER_DEFINED,
    MAX_POSITION_EMBEDDINGS,
)

#: GGUF architectures this module converts (their transformers classes: LlamaForCausalLM, Qwen2ForCausalLM).
_ARCHITECTURES = ("llama", "qwen2")
#: Qwen2's pre-tokenizer split (as in Qwen's tokenizer.json); llama.cpp names it ``qwen2``.
_QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

if TYPE_CHECKING:  # heavy imports stay inside functions
    import numpy as np
    import torch


# --------------------------------------------------------------------------------------------------- causal LM
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


def config_from_gguf(
    meta: dict[str, Any], has_output_weight: bool, max_positions: int = MAX_POSITION_EMBEDDINGS
) -> Any:
    """``LlamaConfig`` or ``Qwen2Config`` from GGUF metadata, ``max_position_embeddings`` capped at ``max_positions``
    (every cookbook prompt fits; a large value costs memory and, in transformers 4.38's Llama, speed)."""
    from transformers import LlamaConfig, Qwen2Config

    arch = meta["general.architecture"]
    if arch not in _ARCHITECTURES:
        raise ValueError(f"general.architecture={arch!r} is not supported: allowed values are llama, qwen2")
    hidden = int(meta[f"{arch}.embedding_length"])
    n_head = int(meta[f"{arch}.attention.head_count"])
    rope_dim = meta.get(f"{arch}.rope.dimension_count")
    if rope_dim is not None and int(rope_dim) != hidden // n_head:
        raise ValueError(f"partial rotary ({rope_dim} of {hidden // n_head}) is not supported")
    common = {
        "vocab_size": int(meta.get(f"{arch}.vocab_size", len(meta["tokenizer.ggml.tokens"]))),
        "hidden_size": hidden,
        "intermediate_size": int(meta[f"{arch}.feed_forward_length"]),
        "num_hidden_layers": int(meta[f"{arch}.block_count"]),
        "num_attention_heads": n_head,
        "num_key_value_heads": int(meta.get(f"{arch}.attention.head_count_kv", n_head)),
        "hidden_act": "silu",
        "max_position_embeddings": min(int(meta[f"{arch}.context_length"]), max_positions),
        "rms_norm_eps": float(meta[f"{arch}.attention.layer_norm_rms_epsilon"]),
        "rope_theta": float(meta.get(f"{arch}.rope.freq_base", 10000.0)),
        "tie_word_embeddings": not has_output_weight,
        "bos_token_id": meta.get("tokenizer.ggml.bos_token_id"),
        "eos_token_id": meta.get("tokenizer.ggml.eos_token_id"),
        "pad_token_id": meta.get("tokenizer.ggml.padding_token_id"),
        "torch_dtype": "float32",
    }
    if arch == "llama":
        return LlamaConfig(**common)
    layers = common["num_hidden_layers"]  # full attention everywhere: no sliding window
    return Qwen2Config(**common, use_sliding_window=False, sliding_window=None, max_window_layers=layers)


def gguf_state_dict(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Dequantize every tensor of a llama or qwen2 GGUF to fp32 under the transformers model's names (llama: q/k rows
    put back in Hugging Face order; llama.cpp does not permute qwen2's). Returns ``(state_dict, metadata)``."""
    import numpy as np
    import torch
    from gguf import GGUFReader
    from gguf.quants import dequantize

    reader = GGUFReader(path)
    meta = {key: field.contents() for key, field in reader.fields.items() if not key.startswith("GGUF.")}
    arch = meta["general.architecture"]
    if arch not in _ARCHITECTURES:
        raise ValueError(f"general.architecture={arch!r} is not supported: allowed values are llama, qwen2")
    n_head = int(meta[f"{arch}.attention.head_count"])
    n_head_kv = int(meta.get(f"{arch}.attention.head_count_kv", n_head))
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
        if arch == "llama" and name.endswith("attn_q.weight"):
            values = unpermute_qk(values, n_head)
        elif arch == "llama" and name.endswith("attn_k.weight"):
            values = unpermute_qk(values, n_head_kv)
        state[hf_name] = torch.from_numpy(np.ascontiguousarray(values))
    return state, meta


def tokenizer_from_gguf(meta: dict[str, Any], max_positions: int = MAX_POSITION_EMBEDDINGS) -> Any:
    """Fast tokenizer (``PreTrainedTokenizerFast``) built from GGUF tokenizer metadata: byte-level BPE (``gpt2``
    model) with the vocabulary, merges, pre-tokenizer (SmolLM2's digit split or Qwen2's regex split with NFC),
    control tokens, user-defined tokens, bos/eos/unk/pad and chat template of the file.

    Built through ``tokenizers.Tokenizer`` directly (the tokenizer saved by transformers' own GGUF path was broken).
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
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
    elif pre == "qwen2":
        backend.normalizer = normalizers.NFC()
        split = pre_tokenizers.Split(Regex(_QWEN2_SPLIT), behavior="isolated", invert=False)
        bytes_only = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)  # the split did the regex
        backend.pre_tokenizer = pre_tokenizers.Sequence([split, bytes_only])
    else:
        raise ValueError(f"GGUF pre-tokenizer {pre!r} is not supported")
    backend.decoder = decoders.ByteLevel()
    control = [t for t, t_type in zip(tokens, token_types, strict=True) if t_type == _TOKEN_TYPE_CONTROL]
    user = [t for t, t_type in zip(tokens, token_types, strict=True) if t_type == _TOKEN_TYPE_USER_DEFINED]
    backend.add_tokens([AddedToken(t, special=False, normalized=False) for t in user])  # one id each, kept in text
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
        model_max_length=max_positions,
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
