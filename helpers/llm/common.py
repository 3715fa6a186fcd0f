"""Notebooks 00, 01, 03, 04, 06: Shared pieces of :mod:`helpers.llm`: constants, tokenizer and prompt helpers, the
transformers pipeline and LangChain wrapper every path uses."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from helpers.core.cache import MANIFEST_NAME
from helpers.core.settings import enforce_offline
from helpers.models import chat_prompt

#: OpenVINO LLM compilation has crashed (SIGFPE) with ``INFERENCE_NUM_THREADS=1``; LLM loads use at least this.
OV_MIN_THREADS = 2
#: Inputs the tokenizer must produce for both torch and OpenVINO models (no ``token_type_ids``).
MODEL_INPUT_NAMES = ["input_ids", "attention_mask"]
#: Written next to every IR this module builds; holds what was asked and how long it took.
OV_META_NAME = MANIFEST_NAME
#: Bump when an IR build recipe changes, so cached IRs are rebuilt (3: stateful export + GenAI tokenizer IRs).
OV_BUILD_FORMAT = 3
OV_XML_NAME = "openvino_model.xml"
#: Tokens kept per calibration passage (AWQ / TEQ / NNCF data-aware modes): calibration time grows with it.
CALIB_MAX_TOKENS = 128
#: Files copied from the source folder into every IR folder (config + tokenizer; ``save_pretrained`` of an
#: ``OVModelForCausalLM`` writes no tokenizer).
IR_SIDE_FILES = (
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "tokenizer.model",
    "vocab.json",
    "merges.txt",
    "added_tokens.json",
    "openvino_tokenizer.xml",
    "openvino_tokenizer.bin",
    "openvino_detokenizer.xml",
    "openvino_detokenizer.bin",
)
#: Low-precision OpenVINO element types that hold compressed weights, and their zero-point midpoints (sym).
OV_4BIT_TYPES = ("u4", "i4", "nf4")
OV_LOW_BIT_TYPES = (*OV_4BIT_TYPES, "u8", "i8")
_OV_SYM_ZERO_POINT = {"u4": 8, "u8": 128}
#: Ops that make up an NNCF/optimum decompression subgraph between a weight constant and its MatMul/Gather.
_DECOMPRESSION_OPS = frozenset({"Constant", "Convert", "Reshape", "Multiply", "Subtract", "Transpose", "Unsqueeze"})

logger = logging.getLogger(__name__)


class QuantizationMismatch(AssertionError):
    """A quantized model does not hold what its config asked for."""


# --------------------------------------------------------------------------------------------------------------
# small shared helpers
# --------------------------------------------------------------------------------------------------------------
def _ov_threads(num_threads: int) -> int:
    if num_threads < OV_MIN_THREADS:
        logger.warning(
            "num_threads=%d raised to %d for OpenVINO LLMs (1 crashed compilation)", num_threads, OV_MIN_THREADS
        )
    return max(OV_MIN_THREADS, num_threads)


def load_tokenizer(path: str | Path) -> Any:
    """``AutoTokenizer`` from a local folder, producing only ``input_ids`` and ``attention_mask``."""
    from transformers import AutoTokenizer

    enforce_offline()
    tokenizer = AutoTokenizer.from_pretrained(str(path), model_input_names=MODEL_INPUT_NAMES)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def make_prompt(tokenizer: Any, question: str, *, context: str | None = None, system: str | None = None) -> str:
    """Chat-template prompt for one user turn (``context`` is put before the question), ready to generate from."""
    content = question if context is None else f"{context.strip()}\n\n{question}"
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": content})
    return chat_prompt(tokenizer, messages)


def prompt_with_tokens(tokenizer: Any, question: str, context: str, target_tokens: int) -> str:
    """:func:`make_prompt` with ``context`` cut (by tokens) so that the whole prompt is about ``target_tokens``."""
    base = len(tokenizer(make_prompt(tokenizer, question, context=""), add_special_tokens=False).input_ids)
    ctx_ids = tokenizer(context, add_special_tokens=False).input_ids
    if base + len(ctx_ids) < target_tokens:
        raise ValueError(f"context too short: {base + len(ctx_ids)} tokens < target_tokens={target_tokens}")
    keep = max(0, target_tokens - base)
    return make_prompt(tokenizer, question, context=tokenizer.decode(ctx_ids[:keep]))


def unwrap_llm(llm: Any) -> tuple[Any, Any]:
    """``(model, tokenizer)`` inside a LangChain ``HuggingFacePipeline`` / ``WeightOnlyQuantPipeline``."""
    pipe = getattr(llm, "pipeline", None)
    if pipe is None or not hasattr(pipe, "model"):
        raise TypeError(f"{type(llm).__name__} does not wrap a transformers pipeline")
    return pipe.model, pipe.tokenizer


def _hf_pipeline(model: Any, tokenizer: Any, max_new_tokens: int, return_full_text: bool) -> Any:
    """Greedy transformers text-generation pipeline (quietly: it logs an error for non-transformers classes)."""
    import transformers

    level = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        with _quiet_logger("transformers.pipelines.base"):
            return transformers.pipeline(
                "text-generation",
                model=model,
                tokenizer=tokenizer,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                return_full_text=return_full_text,
                pad_token_id=tokenizer.pad_token_id,
            )
    finally:
        transformers.logging.set_verbosity(level)


@contextlib.contextmanager
def _quiet_logger(name: str, level: int = logging.WARNING) -> Iterator[None]:
    log = logging.getLogger(name)
    old = log.level
    log.setLevel(max(level, old))
    try:
        yield
    finally:
        log.setLevel(old)


def _langchain_hf(pipe: Any) -> Any:
    """``langchain_community`` ``HuggingFacePipeline`` around ``pipe`` (its deprecation notice silenced)."""
    import warnings

    from langchain_community.llms import HuggingFacePipeline

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*HuggingFacePipeline.*deprecated.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        try:
            from langchain_core._api import LangChainDeprecationWarning

            warnings.filterwarnings("ignore", category=LangChainDeprecationWarning)
        except ImportError:  # pragma: no cover - older langchain-core
            pass
        return HuggingFacePipeline(pipeline=pipe)
