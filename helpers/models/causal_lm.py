"""Notebooks 00, 01, 02, 03, 04, 06: SmolLM2-135M-Instruct as a Hugging Face folder (fp32, dequantized from the
packaged Q4_1 GGUF), loaded, checked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpers.core.cache import library_versions
from helpers.core.settings import enforce_offline
from helpers.models.common import (
    BUILD_FORMAT,
    CAUSAL_LM_DIR_NAME,
    CAUSAL_LM_DIST,
    VERIFY_PROMPT,
    build_from_file,
)
from helpers.models.gguf import (
    causal_lm_gguf_path,
    check_tokenizer_round_trip,
    gguf_llama_state_dict,
    llama_config_from_gguf,
    tokenizer_from_gguf,
)

if TYPE_CHECKING:  # heavy imports stay inside functions
    import torch


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
        "package": f"{CAUSAL_LM_DIST.split('==')[0]}=={library_versions(CAUSAL_LM_DIST)[CAUSAL_LM_DIST]}",
        "versions": library_versions("gguf", "transformers", "tokenizers"),
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
