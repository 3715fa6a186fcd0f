"""Notebooks 00, 01, 02, 03, 04, 06: A validated, frozen mirror of ITREX 1.3.2's ``WeightOnlyQuantConfig`` and its
OpenVINO/NNCF translation.

``WoqConfig`` has the same fields and defaults as ``intel_extension_for_transformers.transformers.
WeightOnlyQuantConfig`` (1.3.2) as used by LangChain's ``WeightOnlyQuantPipeline.from_model_id``, which always
passes ``use_llm_runtime=False``: the model is quantized on the PyTorch/CPU path, where ITREX calls
``WeightOnlyQuantConfig.post_init()`` (not the Neural Speed ``post_init_runtime()``), runs neural-compressor
2.4.1's weight-only pass (RTN/AWQ/TEQ) and packs every ``Linear`` except ``lm_head`` into QBits (BesTLA) kernels.

Validation is pure Python (no torch, ITREX or OpenVINO import) and stricter than ITREX's own ``post_init``: it also
refuses values that ITREX accepts but that crash later, or that are silently ignored or silently changed further
down (neural-compressor, QBits). Every refusal raises ``ValueError`` naming the field, the value and what is
allowed. The sources read for each rule are cited in the messages and in ``docs/woq_mapping.md``.

Builders (heavy imports happen inside them only):

* :func:`to_itrex` -> the real ITREX ``WeightOnlyQuantConfig`` for ``WeightOnlyQuantPipeline.from_model_id``.
* :func:`to_openvino` -> :class:`OvCompressionPlan`, the ``nncf.compress_weights`` (NNCF 2.11) equivalent with an
  explicit list of what cannot be reproduced.
* :func:`to_optimum_intel` -> :class:`OptimumIntelPlan`, ``OVWeightQuantizationConfig`` (optimum-intel 1.17.2)
  kwargs where that class can express the config.

Calibration data (``algorithm="AWQ"`` / ``"TEQ"``) is wired by the caller through ``to_itrex(calib_dataloader=...)``;
without it ITREX would download ``NeelNanda/pile-10k`` from the Hub. What each algorithm reads from the dataloader:

* AWQ: ITREX's default calibration function calls ``model(input_ids=batch)`` for the first ``calib_iters`` batches,
  so each batch must be a bare ``LongTensor`` of shape ``(1, L)`` (ITREX's own collate does
  ``torch.vstack([ids[:512]])``). Field notes: keep ``use_cache=False`` on the model config while it quantizes
  (e.g. ``model_kwargs={"use_cache": False}`` in ``from_model_id``) and switch it back on for generation.
* TEQ: neural-compressor's trainer reads ``batch["input_ids"]`` from dicts and ``batch[0]`` otherwise, then calls
  ``model(ids, labels=ids)``, so yield ``(ids, ids)`` tuples (or dicts) with ``ids`` of shape ``(1, L)``; a bare
  ``(1, L)`` tensor would be indexed down to ``(L,)``. TEQ trains 1000 steps (cycling the loader) whatever
  ``calib_iters`` says.
"""

from __future__ import annotations

from helpers.quant.woq_config.allowed import (
    ALGORITHMS,
    COMPUTE_DTYPES,
    FIELD_ALLOWED,
    FLOAT_WEIGHT_DTYPES,
    FP8_WEIGHT_DTYPES,
    INC_GROUP_SIZES,
    INTEGER_WEIGHT_DTYPES,
    ITREX_RAW_DEFAULTS,
    NNCF_MODES,
    RUNTIME_ONLY_ALIASES,
    SCALE_DTYPES,
    SCHEMES,
    WEIGHT_DTYPES,
    field_docs,
)
from helpers.quant.woq_config.config import (
    ISA_REQUIREMENTS,
    WoqConfig,
    field_table,
    field_table_markdown,
    from_dict,
    isa_problems,
    replace,
)
from helpers.quant.woq_config.itrex import (
    compute_dtype_support,
    to_itrex,
)
from helpers.quant.woq_config.openvino import (
    OvCompressionPlan,
    to_openvino,
)
from helpers.quant.woq_config.optimum_intel import (
    OptimumIntelPlan,
    to_optimum_intel,
)

__all__ = [
    "ALGORITHMS",
    "COMPUTE_DTYPES",
    "FIELD_ALLOWED",
    "FLOAT_WEIGHT_DTYPES",
    "FP8_WEIGHT_DTYPES",
    "INC_GROUP_SIZES",
    "INTEGER_WEIGHT_DTYPES",
    "ISA_REQUIREMENTS",
    "ITREX_RAW_DEFAULTS",
    "NNCF_MODES",
    "OptimumIntelPlan",
    "OvCompressionPlan",
    "RUNTIME_ONLY_ALIASES",
    "SCALE_DTYPES",
    "SCHEMES",
    "WEIGHT_DTYPES",
    "WoqConfig",
    "compute_dtype_support",
    "field_docs",
    "field_table",
    "field_table_markdown",
    "from_dict",
    "isa_problems",
    "replace",
    "to_itrex",
    "to_openvino",
    "to_optimum_intel",
]
