"""Notebooks 01, 04, 06: What one sweep point measures: quantize the offline SmolLM2 on its backend, then accuracy,
size, memory, speed.

Each point runs in a fresh process (clean peak RSS; ITREX, IPEX and OpenVINO never share a process), so a crash in
one backend is recorded as that point's failure. Used by :mod:`helpers.sweep` (CLI, local or Ray) and notebook 04.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from helpers import data, device, llm, models
from helpers.core import genai_timing, settings, timing
from helpers.core.cache import folder_size_bytes
from helpers.core.timing import run_in_fresh_process
from helpers.llm.genai import prompt_token_ids
from helpers.quant import woq_config as wc
from helpers.quant.shape_checks import group_size_problem, linear_in_features
from helpers.sweep import accuracy
from helpers.sweep.grid import SweepPoint

#: OpenVINO grid names -> the ITREX weight dtype whose NNCF plan they are (int4 sym/asym = int4_clip's grid).
OV_DTYPE_TO_WOQ = {"int8": "int8", "int4": "int4_clip", "nf4": "nf4"}


@dataclass(frozen=True)
class EvalBudget:
    """How much evaluation each point gets (tokens, iterations, calibration)."""

    kld_tokens_per_source: int = 4096  # accuracy vs fp32 (KLD, top-1, perplexity) per source, held out
    kld_window: int = 512
    choice_items: int = 0  # FAQ multiple choice: at chance for a 135M model, so off unless asked for
    n_choices: int = 4
    answer_tokens: int = 48
    prompt_tokens: int = 256  # generation prompt length (LLM-Perf style: prompt 256, generate 64)
    new_tokens: int = 64
    warmup: int = 1
    iterations: int = 5  # LLM-Perf style: >= 5 timed runs after warm-up
    calib_texts: int = 16  # AWQ / TEQ / NNCF calibration passages from the Python docs (disjoint from evaluation)
    calib_max_tokens: int = 128  # tokens per passage (ITREX AWQ: ~25 s per 128-token passage on 2 AVX2 cores)
    genai: bool = True  # OpenVINO points are also timed on GenAI 2026 (same IR, same prompt length)
    genai_2024_2: bool = True  # ... and on GenAI 2024.2, the seed environment's (04 reports 2026 only)


BUDGETS: dict[str, EvalBudget] = {
    "full": EvalBudget(),
    # the workshop grid and the committed runs: full timing protocol (prompt 256, generate 64, warm-up + 5),
    # 2 x 4096 held-out tokens for accuracy, 8 calibration passages
    "standard": EvalBudget(calib_texts=8),
    # notebook 04's make run default, sized so the workshop's 9 points fit the make run budget on 2 cores:
    # - accuracy over 2 x 2048 held-out tokens in 256-token windows: as many windows (8 per source) as the standard
    #   budget's 2 x 4096 in 512-token windows, so the bootstrap intervals rest on as many samples, in half the time;
    # - the standard warm-up + 5 timed runs, each generating 32 tokens instead of 64 (every ratio keeps 5 samples per
    #   side). Not fewer tokens: decode is the paired difference of an N-token and a 1-token run, and at N=16 prefill
    #   noise made some samples negative;
    # - OpenVINO points timed on GenAI 2026 only (04 reports it; GenAI 2024.2 is the standard budget's extra).
    "workshop": EvalBudget(
        kld_tokens_per_source=2048, kld_window=256, calib_texts=8, new_tokens=32, genai_2024_2=False
    ),
    "quick": EvalBudget(kld_tokens_per_source=2048, new_tokens=32, iterations=3, calib_texts=8),
    "smoke": EvalBudget(
        kld_tokens_per_source=128,
        kld_window=64,
        prompt_tokens=48,
        new_tokens=4,
        warmup=0,
        iterations=1,
        calib_texts=2,
        calib_max_tokens=32,
        genai=False,
    ),
}


def budget_name(budget: dict[str, Any] | None) -> str:
    """The name in :data:`BUDGETS` of a row's recorded budget, ``"custom"`` if none matches, ``"unknown"`` if absent."""
    if not isinstance(budget, dict):
        return "unknown"
    return next((name for name, known in BUDGETS.items() if asdict(known) == budget), "custom")


def woq_config_for(point: SweepPoint):
    """The :class:`~helpers.quant.woq_config.WoqConfig` of a point (validated; raises ValueError with the reason)."""

    if point.backend == "itrex":
        if point.ratio != 1:
            raise ValueError(
                f"ratio={point.ratio!r} is not supported on ITREX (no int4/int8 mixed precision): allowed values are 1"
            )
        return wc.WoqConfig(
            weight_dtype=point.weight_dtype,
            compute_dtype=point.compute_dtype,
            group_size=point.group_size,
            scheme=point.scheme,
            algorithm=point.algorithm,
        )
    if point.backend == "openvino":
        if point.weight_dtype not in OV_DTYPE_TO_WOQ:
            raise ValueError(
                f"weight_dtype={point.weight_dtype!r} is not supported on OpenVINO/NNCF 2.11 here: allowed values are "
                f"{', '.join(OV_DTYPE_TO_WOQ)}"
            )
        group = -1 if point.weight_dtype == "int8" else point.group_size  # NNCF int8 is per-channel only
        return wc.WoqConfig(
            weight_dtype=OV_DTYPE_TO_WOQ[point.weight_dtype],
            group_size=group,
            scheme=point.scheme,
            # GPTQ is an NNCF knob outside the ITREX mirror: see openvino_plan_for
            algorithm="RTN" if point.algorithm == "GPTQ" else point.algorithm,
        )
    raise ValueError(f"backend={point.backend!r} has no WoqConfig")


def unsupported_reason(point: SweepPoint, model: str = models.DEFAULT_CAUSAL_LM) -> str | None:
    """Why a point cannot run here on ``model`` (config refused, NNCF has no equivalent, a group size the model's
    layers cannot take, CPU lacks the ISA), else None."""
    if point.backend == "torch":
        return None if point.weight_dtype == "fp32" else f"torch baseline is fp32 only, got {point.weight_dtype!r}"

    if point.backend == "openvino" and point.weight_dtype == "fp32":
        return None  # the exported IR itself: nothing to compress
    if point.backend == "openvino" and point.algorithm == "TEQ":
        return "TEQ (trainable equivalent transformation) has no NNCF 2.11 equivalent"
    try:
        cfg = woq_config_for(point)
        in_features = linear_in_features(models.causal_lm_dir(model=model))
        shape_problem = group_size_problem(cfg.group_size, in_features, point.backend)
        if shape_problem:
            return shape_problem
        if point.backend == "itrex":
            problems = wc.isa_problems(cfg, device.CpuInfo.from_host().present_flags())
            return "; ".join(problems) or None
        plan = openvino_plan_for(point, cfg)
    except ValueError as err:
        return str(err)
    return "; ".join(plan.unsupported) or None


def openvino_plan_for(point: SweepPoint, cfg=None):
    """The NNCF plan of an OpenVINO point: its WoqConfig, plus NNCF's data-aware recipe for its algorithm.

    "AWQ" runs AWQ plus scale estimation (NNCF's recommended 4-bit recipe); "GPTQ" runs NNCF's GPTQ. A ``ratio`` < 1
    ranks layers by sensitivity: data-aware points (they have calibration data anyway) use the Hessian of the input
    activations, RTN points the data-free weight quantization error.
    """

    cfg = cfg if cfg is not None else woq_config_for(point)
    data_aware = point.algorithm in ("AWQ", "GPTQ")
    metric = None if point.ratio == 1 else "hessian_input_activation" if data_aware else "weight_quantization_error"
    return wc.to_openvino(
        cfg,
        ratio=point.ratio,
        sensitivity_metric=metric,
        scale_estimation=point.algorithm == "AWQ",
        gptq=point.algorithm == "GPTQ",
    )


def faq_choice_accuracy(model: Any, tokenizer: Any, budget: EvalBudget, seed: int = 0) -> float:
    """Multiple choice on the FAQ set: pick the answer with the highest mean log-likelihood given the question.

    Each item gets its own answer plus ``n_choices - 1`` answers of other questions (fixed seed); chance level is
    ``1 / n_choices``. Uses the same logits path for torch, ITREX and OpenVINO models.
    """
    import torch

    faq = data.load_faq()
    rng = random.Random(seed)
    items = faq[: budget.choice_items]
    correct = 0
    for i, item in enumerate(items):
        others = rng.sample(
            [j for j in range(len(faq)) if j != i and faq[j].answer != item.answer], budget.n_choices - 1
        )
        candidates = [item.answer] + [faq[j].answer for j in others]
        prompt_ids = tokenizer(f"Question: {item.question}\nAnswer:", add_special_tokens=False).input_ids
        scores = []
        for answer in candidates:
            answer_ids = tokenizer(" " + answer, add_special_tokens=False).input_ids[: budget.answer_tokens]
            ids = torch.tensor([prompt_ids + answer_ids])
            logits = llm.sequence_logits(model, ids)[0, len(prompt_ids) - 1 : -1].double()
            logp = torch.log_softmax(logits, dim=-1).gather(1, torch.tensor(answer_ids)[:, None])
            scores.append(float(logp.mean()))
        if not all(math.isfinite(score) for score in scores):
            return float("nan")  # NaN log-likelihoods compare False and would make choice 0 "win" every time
        correct += int(max(range(len(scores)), key=scores.__getitem__) == 0)
    return correct / len(items)


def load_point(
    point: SweepPoint,
    num_threads: int,
    budget: EvalBudget,
    model: str = models.DEFAULT_CAUSAL_LM,
    ir: Path | None = None,
) -> tuple[Any, Any, dict[str, Any]]:
    """Quantize (or load) ``model`` as a point says; returns (model, tokenizer, facts about the build). ``ir``: an
    OpenVINO point's IR folder built elsewhere (the today environment's builds), instead of the cookbook's own."""
    model_dir = models.causal_lm_dir(model=model)
    if point.backend == "torch":
        import torch
        from transformers import AutoModelForCausalLM

        settings.set_threads(num_threads)
        start = time.perf_counter()
        model = AutoModelForCausalLM.from_pretrained(str(model_dir), torch_dtype=torch.float32).eval()
        facts = {
            "quantize_s": 0.0,
            "load_s": time.perf_counter() - start,
            "model_bytes": folder_size_bytes(model_dir),
            "weight_bytes": 4 * model.num_parameters(),
        }
        return model, llm.load_tokenizer(model_dir), facts
    cfg = None if point.weight_dtype == "fp32" else woq_config_for(point)
    calib = data.calibration_texts(budget.calib_texts) if point.algorithm in ("AWQ", "TEQ", "GPTQ") else None
    if point.backend == "itrex":
        pipe, info = llm.build_woq_pipeline(
            cfg, model_dir, num_threads=num_threads, calibration_texts=calib, calib_max_tokens=budget.calib_max_tokens
        )
        model, tokenizer = llm.unwrap_llm(pipe)
        # bytes = the fp32 checkpoint minus the Linear weights ITREX replaced plus their packed QBits blobs
        replaced = (info["fp32_equivalent_mb"] - info["packed_mb"]) * 2**20
        size = int(folder_size_bytes(model_dir) - replaced)
        facts = {
            "quantize_s": info["build_seconds"],
            "model_bytes": size,
            "weight_bytes": size,
            "verified": info["verified"],
            "found_weight_dtypes": info["weight_dtypes"],
            "notes": info["notes"],
        }
        return model, tokenizer, facts
    path = ir or openvino_ir_for(point, model, budget)
    found = llm.assert_ov_matches(path, "fp32" if point.weight_dtype == "fp32" else openvino_plan_for(point, cfg))
    meta = llm.read_ov_meta(path) or {}
    model, tokenizer = llm.load_openvino_llm(path, num_threads)
    bin_bytes = sum(f.stat().st_size for f in path.glob("*.bin"))
    facts = {
        "ir_path": settings.repo_relative(path),  # results rows name no machine
        "quantize_s": meta.get("seconds"),
        "model_bytes": bin_bytes,
        "weight_bytes": bin_bytes,
        "verified": True,
        "found_weight_dtypes": found.get("linear_weight_types"),
        "low_bit_share": found["low_bit_share"],
        "notes": meta.get("notes"),
    }
    return model, tokenizer, facts


def openvino_calibration_for(point: SweepPoint, budget: EvalBudget) -> list[str] | None:
    """The calibration passages of an OpenVINO point's NNCF build (data-aware algorithms only)."""
    return data.calibration_texts(budget.calib_texts) if point.algorithm in ("AWQ", "GPTQ") else None


def openvino_ir_for(point: SweepPoint, model: str = models.DEFAULT_CAUSAL_LM, budget: EvalBudget | None = None) -> Path:
    """The IR folder of an OpenVINO point on ``model``: the exported fp32 IR, or its NNCF-compressed copy (data-aware
    points calibrate on ``budget``'s passages, default the standard budget); exported and compressed once, cached."""
    if point.backend != "openvino":
        raise ValueError(f"backend={point.backend!r} has no IR: allowed values are openvino")
    budget = budget or BUDGETS["standard"]
    ir = llm.export_openvino_llm(models.causal_lm_dir(model=model))
    if point.weight_dtype == "fp32":
        return ir
    calib = openvino_calibration_for(point, budget)
    plan = openvino_plan_for(point)
    return llm.compress_openvino_llm(plan, ir, calibration_texts=calib, calib_max_tokens=budget.calib_max_tokens)


def evaluate_point(point: SweepPoint, num_threads: int, budget: EvalBudget) -> dict[str, Any]:
    """Quantize, then accuracy vs fp32 (KLD, top-1, perplexity, with intervals), prefill/decode timings (with the
    per-run samples), GenAI timings for OpenVINO points, sizes, peak RSS and the machine profile."""

    settings.enforce_offline()
    settings.set_threads(num_threads)
    model, tokenizer, facts = load_point(point, num_threads, budget)
    row: dict[str, Any] = dict(facts)  # the runner stamps the machine profile on every row
    reference = accuracy.reference_for(
        models.causal_lm_dir(),
        tokenizer,
        tokens_per_source=budget.kld_tokens_per_source,
        window=budget.kld_window,
        num_threads=num_threads,
    )
    if point.key == "torch/fp32":  # the very model the reference was built from: its scores are the reference's
        row.update(accuracy.reference_row(reference))
    else:
        row.update(accuracy.accuracy_row(model, reference))
    if not math.isfinite(row["perplexity"]):
        row["quality_warning"] = "non-finite perplexity: the quantized model produces NaN/inf logits"
    if budget.choice_items:
        row["faq_choice_accuracy"] = faq_choice_accuracy(model, tokenizer, budget)
    text = data.load_perplexity_text()
    prompt = llm.prompt_with_tokens(tokenizer, "Who speaks first in this scene?", text, budget.prompt_tokens)
    generation = llm.measure_generation(
        model,
        tokenizer,
        prompt,
        max_new_tokens=budget.new_tokens,
        warmup=budget.warmup,
        iterations=budget.iterations,
    )
    row.update({k: v for k, v in generation.items() if k != "notes"})
    row["timing_notes"] = generation["notes"]
    row["peak_rss_mb"] = timing.peak_rss_mb()
    if point.backend == "openvino" and budget.genai:
        del model  # GenAI loads the same IR in its own process
        row.update(genai_timings(str(settings.REPO_ROOT / facts["ir_path"]), tokenizer, text, num_threads, budget))
    row["num_threads"] = num_threads
    row["budget"] = asdict(budget)
    return row


def genai_timings(ir: str, tokenizer: Any, text: str, num_threads: int, budget: EvalBudget) -> dict[str, Any]:
    """The same IR on OpenVINO GenAI 2024.2 and 2026: TTFT / TPOT medians and samples, or the reason it could not."""

    n = budget.warmup + budget.iterations
    step = max(len(text) // (n + 1), 1)  # distinct prompts: GenAI 2026 would serve a repeated one from its cache
    prompts = [
        llm.prompt_with_tokens(tokenizer, "Who speaks first in this scene?", text[i * step :], budget.prompt_tokens)
        for i in range(n)
    ]
    ids = prompt_token_ids(tokenizer, prompts)  # the same tokens as every other runtime, for both GenAI runtimes
    out: dict[str, Any] = {}
    for runtime in genai_timing.RUNTIMES if budget.genai_2024_2 else ("2026",):
        name = "genai_" + runtime.replace(".", "_")
        try:
            result = genai_timing.run_genai(
                ir,
                prompts,
                runtime=runtime,
                new_tokens=budget.new_tokens,
                threads=num_threads,
                warmup=budget.warmup,
                iterations=budget.iterations,
                prompt_ids=ids,
            )
        except (FileNotFoundError, RuntimeError) as err:
            out[f"{name}_reason"] = str(err)
            continue
        out[f"{name}_version"] = result["genai_version"]
        out[f"{name}_ttft_ms"] = round(1000 * result["median_ttft_s"], 2)
        out[f"{name}_tpot_ms"] = round(1000 * result["median_tpot_s"], 3)
        out[f"{name}_tpot_ms_samples"] = [round(1000 * r["tpot_s"], 3) for r in result["runs"]]
        out[f"{name}_settings"] = genai_timing.settings_label(result.get("compiled_properties"))
    return out


@dataclass(frozen=True)
class PointEvaluator:
    """Callable used by the sweep: evaluates a point in a fresh process (``isolate``) with a fixed thread count."""

    num_threads: int = 2
    budget: EvalBudget = EvalBudget()
    isolate: bool = True

    def __call__(self, point: SweepPoint) -> dict[str, Any]:
        if not self.isolate:
            return evaluate_point(point, self.num_threads, self.budget)
        # a crashed worker raises BrokenProcessPool, recorded by the sweep as a failed point
        return run_in_fresh_process(evaluate_point, point, self.num_threads, self.budget)
