"""Notebooks 00, 01, 03, 04, 06: Quantized causal LMs on CPU behind LangChain, and honest measurements of them.

Two paths, one measuring kit:

* Seed path (ITREX 1.3.2): :func:`build_woq_pipeline` calls LangChain's ``WeightOnlyQuantPipeline.from_model_id``
  with ``quantization_config=to_itrex(cfg)``, wires AWQ/TEQ calibration data, then :func:`inspect_woq_model` reads
  what every QBits layer really stores (from the packed blob itself) and :func:`assert_woq_matches` checks it.
* Today's path (OpenVINO): :func:`export_openvino_llm` (fp32 IR, cached), :func:`compress_openvino_llm`
  (``nncf.compress_weights`` on the IR: int8, int4 sym/asym, real NF4, AWQ / scale estimation with data),
  :func:`inspect_openvino_ir` / :func:`assert_ov_matches` (weight constants by element type, "nf4 asked, nf4
  found"), :func:`load_openvino_llm` and :func:`openvino_langchain_llm`.
* Common: :func:`torch_fp32_llm` baseline, :func:`measure_generation` (prefill latency, decode ms/token, medians
  and p90), :func:`perplexity` (sliding window over a fixed token budget), :func:`make_prompt`.

Heavy libraries (torch, transformers, ITREX, OpenVINO, NNCF, LangChain) are imported inside the functions.
"""

from __future__ import annotations

from helpers.llm.common import (
    CALIB_MAX_TOKENS,
    IR_SIDE_FILES,
    MODEL_INPUT_NAMES,
    OV_4BIT_TYPES,
    OV_BUILD_FORMAT,
    OV_LOW_BIT_TYPES,
    OV_META_NAME,
    OV_MIN_THREADS,
    OV_XML_NAME,
    QuantizationMismatch,
    load_tokenizer,
    make_prompt,
    prompt_with_tokens,
    unwrap_llm,
)
from helpers.llm.generation import (
    measure_generation,
    perplexity,
    sequence_logits,
    torch_fp32_llm,
)
from helpers.llm.itrex import (
    assert_woq_matches,
    build_woq_pipeline,
    inspect_woq_model,
    woq_calibration_loader,
)
from helpers.llm.openvino_build import (
    NotStatefulError,
    calibration_key,
    check_stateful,
    compress_openvino_llm,
    export_openvino_llm,
    ir_inputs,
    ov_calibration_dataset,
    ov_calibration_items,
    ov_plan_key,
    read_ov_meta,
)
from helpers.llm.openvino_load import (
    assert_ov_matches,
    inspect_openvino_ir,
    load_openvino_llm,
    low_bit_share,
    openvino_langchain_llm,
)

__all__ = [
    "IR_SIDE_FILES",
    "CALIB_MAX_TOKENS",
    "MODEL_INPUT_NAMES",
    "NotStatefulError",
    "OV_4BIT_TYPES",
    "OV_BUILD_FORMAT",
    "OV_LOW_BIT_TYPES",
    "OV_META_NAME",
    "OV_MIN_THREADS",
    "OV_XML_NAME",
    "QuantizationMismatch",
    "assert_ov_matches",
    "assert_woq_matches",
    "build_woq_pipeline",
    "check_stateful",
    "compress_openvino_llm",
    "export_openvino_llm",
    "inspect_openvino_ir",
    "inspect_woq_model",
    "ir_inputs",
    "load_openvino_llm",
    "load_tokenizer",
    "low_bit_share",
    "make_prompt",
    "measure_generation",
    "openvino_langchain_llm",
    "calibration_key",
    "ov_calibration_dataset",
    "ov_calibration_items",
    "ov_plan_key",
    "perplexity",
    "prompt_with_tokens",
    "read_ov_meta",
    "sequence_logits",
    "torch_fp32_llm",
    "unwrap_llm",
    "woq_calibration_loader",
]
