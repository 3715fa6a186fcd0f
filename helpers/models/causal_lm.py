"""Every notebook: a registry model (SmolLM2-135M by default, or a Qwen2.5-Coder) as a Hugging Face
folder, fp32 dequantized from its checked GGUF, loaded and verified."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpers.core.cache import library_versions
from helpers.core.settings import enforce_offline
from helpers.models.common import BUILD_FORMAT, VERIFY_PROMPT, build_from_file
from helpers.models.gguf import check_tokenizer_round_trip, config_from_gguf, gguf_state_dict, tokenizer_from_gguf
from helpers.models.registry import DEFAULT_CAUSAL_LM, CausalLM, get_causal_lm
from helpers.models.sources import causal_lm_gguf_path

if TYPE_CHECKING:  # heavy imports stay inside functions
    import torch


def _build_causal_lm(spec: CausalLM, gguf_path: Path, out: Path) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig
    from transformers.modeling_utils import no_init_weights

    state, meta = gguf_state_dict(gguf_path)
    config = config_from_gguf(meta, has_output_weight="lm_head.weight" in state, max_positions=spec.max_positions)
    tied = config.tie_word_embeddings
    if tied:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
    with no_init_weights():  # skips random init, and with it the weight tying: tie explicitly
        model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32)
    model.tie_weights()
    if tied and model.lm_head.weight is not model.model.embed_tokens.weight:
        raise RuntimeError("lm_head is not tied to embed_tokens")
    # fails loudly on any missing/unexpected/misshaped tensor; assign=True (untied only: it would undo the tie) takes
    # the dequantized tensors as they are instead of copying them, which keeps the peak memory at one model
    model.load_state_dict(state, strict=True, assign=not tied)
    model = model.to(torch.float32).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
        max_length=config.max_position_embeddings,
    )
    model.save_pretrained(out, safe_serialization=True)
    tokenizer = tokenizer_from_gguf(meta, max_positions=spec.max_positions)
    check_tokenizer_round_trip(tokenizer)
    tokenizer.save_pretrained(out)
    arch = meta["general.architecture"]
    return {
        "kind": "causal_lm",
        "model": spec.name,
        "notes": f"fp32 weights dequantized from the {spec.quantization} GGUF (not the original checkpoint)"
        + ("; q/k rows unpermuted" if arch == "llama" else ""),
        "gguf_name": meta.get("general.name"),
        "gguf_file_type": meta.get("general.file_type"),
        "gguf_context_length": meta.get(f"{arch}.context_length"),
        "max_position_embeddings": config.max_position_embeddings,
        "n_parameters": sum(p.numel() for p in model.parameters()),
    }


def _causal_lm_expected(spec: CausalLM) -> dict[str, Any]:
    installed = library_versions(*(piece.dist for piece in spec.pieces))
    packages = [f"{dist.split('==')[0]}=={version}" for dist, version in installed.items()]
    return {
        "format": BUILD_FORMAT,
        "package": packages[0] if len(packages) == 1 else packages,
        "gguf_sha256": spec.sha256,
        "versions": library_versions("gguf", "transformers", "tokenizers"),
    }


def causal_lm_dir(rebuild: bool = False, model: str | CausalLM = DEFAULT_CAUSAL_LM) -> Path:
    """fp32 Hugging Face folder of a registry model (safetensors + fast tokenizer with chat template) in
    ``cache_dir()/<name>-fp32``, built once from its checked GGUF (SmolLM2: tens of seconds; 0.5B: ~1 min).

    The weights are the *dequantized GGUF* checkpoint (SmolLM2: Q4_1, Qwen: Q4_K_M), not the original ones."""
    enforce_offline()
    spec = get_causal_lm(model)
    gguf_path = causal_lm_gguf_path(spec)
    return build_from_file(
        spec.fp32_dir_name,
        gguf_path,
        _causal_lm_expected(spec),
        lambda out: _build_causal_lm(spec, gguf_path, out),
        rebuild=rebuild,
    )


def load_causal_lm(
    dtype: torch.dtype | None = None,
    path: str | os.PathLike[str] | None = None,
    model: str | CausalLM = DEFAULT_CAUSAL_LM,
) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of a model's fp32 folder (``path``, or the registry ``model``'s, built if needed);
    ``dtype`` defaults to float32."""
    enforce_offline()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(path) if path is not None else causal_lm_dir(model=model)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=dtype or torch.float32)
    return model.eval(), tokenizer


def chat_prompt(tokenizer: Any, turns: list[dict[str, str]]) -> str:
    """A conversation (``{"role", "content"}`` turns) in the tokenizer's chat template, ending where the assistant's
    answer starts: the one place a chat template is applied as text."""
    return tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)


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


def verify_causal_lm(
    path: str | os.PathLike[str] | None = None, max_new_tokens: int = 24, model: str | CausalLM = DEFAULT_CAUSAL_LM
) -> str:
    """Round-trip the tokenizer and ask "What is the capital of France?" greedily; returns the generated text
    and raises if it does not mention Paris."""
    lm, tokenizer = load_causal_lm(path=path, model=model)
    check_tokenizer_round_trip(tokenizer)
    text = generate_chat(lm, tokenizer, VERIFY_PROMPT, max_new_tokens=max_new_tokens)
    if "paris" not in text.lower():
        raise RuntimeError(f"causal LM check failed: {VERIFY_PROMPT!r} -> {text!r}")
    return text


def load_llama_cpp(gguf: str | os.PathLike[str], num_threads: int, n_ctx: int = 2048, **options: Any) -> Any:
    """llama.cpp (the optional llama-cpp-python extra) on a GGUF with fixed threads for prompt and decode, quiet;
    ``options`` go to ``llama_cpp.Llama`` (e.g. ``n_batch``, ``logits_all``, ``draft_model``)."""
    from llama_cpp import Llama  # optional extra, built from source

    settings = {"n_batch": 512, "verbose": False, "seed": 0, **options}
    return Llama(model_path=str(gguf), n_ctx=n_ctx, n_threads=num_threads, n_threads_batch=num_threads, **settings)
