"""Notebook 03: Side-by-side LLM variants for notebook 03: build each one, check it, time it on the same prompt,
one row each."""

from __future__ import annotations

import gc
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers import llm, models
from helpers.core import genai_timing
from helpers.core.cache import cached_build
from helpers.core.settings import cache_dir
from helpers.llm.genai import prompt_token_ids
from helpers.quant import woq_config as wc


def openvino_dir(
    cfg: wc.WoqConfig | None = None,
    *,
    scale_estimation: bool = False,
    gptq: bool = False,
    calibration_texts=None,
    calib_max_tokens: int = llm.CALIB_MAX_TOKENS,
) -> Path:
    """fp32 OpenVINO IR of the offline SmolLM2 (``cfg=None``) or its NNCF-compressed copy for ``cfg`` (cached)."""
    ir = llm.export_openvino_llm(models.causal_lm_dir())
    if cfg is None:
        return ir
    plan = wc.to_openvino(cfg, scale_estimation=scale_estimation, gptq=gptq)
    return llm.compress_openvino_llm(plan, ir, calibration_texts=calibration_texts, calib_max_tokens=calib_max_tokens)


def openvino_int4_dir(group_size: int = 64) -> Path:
    """The cookbook's default fast LLM: int4 sym weights, group 64, on OpenVINO (used by the RAG chain)."""
    return openvino_dir(wc.WoqConfig(weight_dtype="int4_clip", group_size=group_size))


def variant_row(
    label: str,
    build: Callable[[], tuple[Any, dict[str, Any]]],
    prompt: str,
    *,
    max_new_tokens: int,
    warmup: int,
    iterations: int,
) -> dict[str, Any]:
    """Build a LangChain LLM (``build`` returns ``(llm, info)``), time it on ``prompt`` and free it.

    A variant that fails to build is returned as a row with ``status="failed"`` and the error, so one broken
    combination never hides the others.
    """
    try:
        lc_llm, info = build()
    except Exception as exc:  # recorded in the table; the notebook shows it
        return {"variant": label, "status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    timing = llm.measure_generation(
        lc_llm, None, prompt, max_new_tokens=max_new_tokens, warmup=warmup, iterations=iterations
    )
    row = {"variant": label, "status": "ok", **{k: v for k, v in info.items() if not isinstance(v, dict | list)}}
    row.update({k: v for k, v in timing.items() if k != "notes"})
    row["notes"] = "; ".join([*info.get("notes", []), *timing["notes"]])
    del lc_llm
    gc.collect()
    return row


#: Layer counts neural-speed 1.0's llama loader sizes scratch buffers for (``models/llama/llama.h``); any other count
#: hits ``MODEL_ASSERT(false)``, which aborts the whole Python process, so it is checked before loading.
NEURAL_SPEED_LLAMA_LAYERS = (22, 32, 40, 48, 56, 60, 80)


def neural_speed_status(model_dir: str | Path | None = None) -> tuple[str, str]:
    """Can ITREX's C++ runtime (``neural-speed``, behind ``load_in_4bit=True``) run the offline model here?

    Returns ``(status, reason)`` with status ``"available"``, ``"not installed"`` or ``"unsupported"``. Checked
    without loading: neural-speed aborts the process on an unsupported shape, and its Hugging Face conversion path
    enables ``trust_remote_code`` in ``from_pretrained``, which this cookbook never does.
    """
    if importlib.util.find_spec("neural_speed") is None:
        return "not installed", "neural-speed is not installed (pip install --no-deps neural-speed==1.0)"
    config = json.loads((Path(model_dir or models.causal_lm_dir()) / "config.json").read_text(encoding="utf-8"))
    layers = int(config["num_hidden_layers"])
    if config.get("model_type") == "llama" and layers not in NEURAL_SPEED_LLAMA_LAYERS:
        return (
            "unsupported",
            f"neural-speed 1.0's llama loader only knows {', '.join(map(str, NEURAL_SPEED_LLAMA_LAYERS))}-layer models "
            f"(MODEL_ASSERT in models/llama/llama.h aborts the process); this model has {layers} layers",
        )
    return "available", "neural-speed can load this model shape"


def stream_chunks(runnable: Any, value: Any) -> list[str]:
    """All chunks ``runnable.stream(value)`` yields (one chunk = the class does not stream token by token)."""
    return [str(chunk) for chunk in runnable.stream(value)]


def variant_verdicts(rows, baseline: str = "torch fp32") -> list[str]:
    """The chapter's bars in words: seed nf4/int4_clip decode >= 1.5x fp32; OpenVINO int4 >= 3x torch fp32."""
    ok = rows[rows["status"] == "ok"]
    base = ok.loc[ok["variant"] == baseline, "decode_ms_per_token"]
    if base.empty:
        return [f"no {baseline!r} row to compare with"]
    lines = []
    for prefix, bar in (("ITREX nf4", 1.5), ("ITREX int4_clip", 1.5), ("OpenVINO int4", 3.0), ("OpenVINO nf4", 3.0)):
        part = ok[ok["variant"].str.startswith(prefix)]
        if part.empty:
            continue
        best = part.sort_values("decode_ms_per_token").iloc[0]
        speedup = float(base.iloc[0]) / best["decode_ms_per_token"]
        verdict = "meets" if speedup >= bar else "misses"
        lines.append(
            f"{best['variant']}: {best['decode_tokens_per_s']:.1f} tok/s = {speedup:.2f}x torch fp32 decode "
            f"({verdict} the {bar:g}x bar)"
        )
    seed = ok[ok["variant"].str.startswith("ITREX ")]
    if not seed.empty:
        ratios = float(base.iloc[0]) / seed["decode_ms_per_token"]
        lines.append(
            f"the seed path (every ITREX row, {len(seed)}): {ratios.min():.2f}x-{ratios.max():.2f}x torch fp32 decode; "
            + ("none of them faster" if ratios.max() < 1 else f"fastest: {seed.loc[ratios.idxmax(), 'variant']}")
        )
    return lines


class VariantRunner:
    """Collects one timed row per LLM variant, all on the same prompt, threads and timing settings."""

    def __init__(self, prompt: str, *, num_threads: int, max_new_tokens: int, warmup: int, iterations: int) -> None:
        self.prompt = prompt
        self.num_threads = num_threads
        self.max_new_tokens = max_new_tokens
        self.timing = {"max_new_tokens": max_new_tokens, "warmup": warmup, "iterations": iterations}
        self.model_dir = models.causal_lm_dir()
        self.rows: list[dict[str, Any]] = []
        self.ir_checks: list[dict[str, Any]] = []  # what each OpenVINO IR was found to hold

    def _add(self, label: str, build: Callable[[], tuple[Any, dict[str, Any]]]) -> dict[str, Any]:
        row = variant_row(label, build, self.prompt, **self.timing)
        self.rows.append(row)
        return row

    def torch(self, label: str = "torch fp32") -> dict[str, Any]:
        """The fp32 PyTorch baseline behind ``HuggingFacePipeline``."""
        return self._add(label, lambda: (llm.torch_fp32_llm(self.model_dir, self.num_threads, self.max_new_tokens), {}))

    def seed(
        self, label: str, cfg: wc.WoqConfig, calibration_texts=None, calib_max_tokens: int = llm.CALIB_MAX_TOKENS
    ) -> dict[str, Any]:
        """``WeightOnlyQuantPipeline`` (ITREX) for ``cfg``, verified after quantization."""
        return self._add(
            label,
            lambda: llm.build_woq_pipeline(
                cfg,
                self.model_dir,
                num_threads=self.num_threads,
                max_new_tokens=self.max_new_tokens,
                calibration_texts=calibration_texts,
                calib_max_tokens=calib_max_tokens,
            ),
        )

    def openvino(self, label: str, path: Path) -> dict[str, Any]:
        """``HuggingFacePipeline`` around an ``OVModelForCausalLM`` loaded from ``path``."""
        return self._add(label, lambda: (llm.openvino_langchain_llm(path, self.num_threads, self.max_new_tokens), {}))

    def openvino_checked(self, label: str, cfg: wc.WoqConfig | None = None, **compress: Any) -> dict[str, Any]:
        """Build (or reuse) the IR for ``cfg`` (``None``: fp32) with :func:`openvino_dir`, check it holds the weight
        dtype and group size asked for (raises if not), add that to ``ir_checks``, then time it like
        :meth:`openvino`. ``compress`` goes to :func:`openvino_dir` (scale_estimation, gptq, calibration...)."""
        path = openvino_dir(cfg, **compress)
        found = llm.assert_ov_matches(path, cfg) if cfg is not None else llm.inspect_openvino_ir(path)
        self.ir_checks.append(
            {
                "variant": label,
                "linear weight types found": found["linear_weight_types"],
                "group sizes": found["group_sizes"],
            }
        )
        return self.openvino(label, path)

    def genai(
        self, label: str, path: Path, runtime: str = "2024.2", tokenizer_dir: Path | None = None
    ) -> dict[str, Any]:
        """The IR at ``path`` served by OpenVINO GenAI's C++ loop (``runtime`` 2024.2 here, or 2026 from the
        today environment), timed with the same warm-up, iterations and output length (core.genai_timing);
        each run gets its own prompt prefix so GenAI 2026's prefix cache cannot serve a repeated prompt.
        ``tokenizer_dir``: where this environment's transformers loads the model's tokenizer from, when the IR folder's
        copy was saved by transformers 5 (the today environment's exports)."""
        n = self.timing["warmup"] + self.timing["iterations"]
        prompts = [f"Run {i}. {self.prompt}" for i in range(n)]
        try:
            result = genai_timing.run_genai(
                path,
                prompts,
                runtime=runtime,
                new_tokens=self.max_new_tokens,
                threads=self.num_threads,
                warmup=self.timing["warmup"],
                iterations=self.timing["iterations"],
                prompt_ids=prompt_token_ids(tokenizer_dir or path, prompts),
            )
        except (FileNotFoundError, RuntimeError, ValueError) as exc:
            return self.record(label, "failed", f"{type(exc).__name__}: {exc}")
        decode_ms = 1000 * result["median_tpot_s"]
        row = {
            "variant": label,
            "status": "ok",
            "decode_ms_per_token": decode_ms,
            "decode_tokens_per_s": 1000 / decode_ms,
            "prefill_ms": 1000 * result["median_ttft_s"],  # time to the first token, like measure_generation's
            "build_seconds": round(result["load_s"], 2),
            "notes": f"OpenVINO GenAI {result['genai_version']}; "
            + genai_timing.settings_label(result.get("compiled_properties")),
        }
        self.rows.append(row)
        return row

    def record(self, label: str, status: str, reason: str) -> dict[str, Any]:
        """A variant that was not timed, with the reason (shown in the side-by-side table)."""
        row = {"variant": label, "status": status, "reason": reason}
        self.rows.append(row)
        return row

    def frame(self):
        """All rows as a DataFrame with decode speed-up relative to the torch fp32 row (if present)."""
        import pandas as pd

        df = pd.DataFrame(self.rows)
        ok = df["status"] == "ok"
        base = df.loc[ok & (df["variant"] == "torch fp32"), "decode_ms_per_token"]
        if not base.empty:
            df["decode_speedup"] = float(base.iloc[0]) / df["decode_ms_per_token"]
        return df


def _ask_nf4(ir_dir: Path, out: Path) -> dict[str, Any]:
    """optimum-intel's own weight compression with ``weight_format="nf4"``, applied as it loads the fp32 IR (the
    same code path as an export with a ``quantization_config``, without tracing the model again)."""
    from optimum.intel import OVModelForCausalLM, OVWeightQuantizationConfig

    config = OVWeightQuantizationConfig(bits=4, sym=True, group_size=64, weight_format="nf4")
    OVModelForCausalLM.from_pretrained(ir_dir, quantization_config=config, compile=False).save_pretrained(out)
    return {}


def optimum_intel_nf4_request(rebuild: bool = False) -> dict[str, Any]:
    """Ask optimum-intel 1.17.2 itself for NF4 (``weight_format="nf4"``) and report what the saved IR really holds.

    This is the trap the cookbook routes around: the option is accepted without error and plain int4 comes out.
    """

    ir_dir = llm.export_openvino_llm(models.causal_lm_dir())
    out = cached_build(
        cache_dir() / "ov" / "optimum-intel-asked-nf4",
        {"kind": "optimum-intel weight_format=nf4 on load", "source": ir_dir.name, "format": llm.OV_BUILD_FORMAT},
        lambda tmp: _ask_nf4(ir_dir, tmp),
        rebuild=rebuild,
    )
    found = llm.inspect_openvino_ir(out)
    return {"asked": "nf4 (weight_format='nf4')", "linear weight types found": found["linear_weight_types"]}
