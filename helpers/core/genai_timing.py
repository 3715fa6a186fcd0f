"""Notebooks 01, 03, 04, 06: Time OpenVINO GenAI's C++ generation loop on one IR folder, on either runtime, with one
protocol.

The same code runs in the main environment (openvino-genai 2024.2) and in the today environment (``.venv-today``,
openvino-genai 2026.x), because it needs only the standard library and ``openvino_genai``: the main
environment calls :func:`run_genai`, which starts ``python -m helpers.core.genai_timing`` with the chosen runtime's
interpreter and reads back JSON. Protocol: fixed threads, warm-up, then ``iterations`` timed runs, each on a
different prompt (GenAI 2026 caches prefixes: a repeated prompt would time ~35 ms of prefill), greedy, a fixed
output length (``ignore_eos``, plus ``min_new_tokens`` where the runtime has it), no chat template added.
Per run: time to first token (TTFT), time per output token after it (TPOT), end to end, tokens generated; all
taken from a token streamer's timestamps, the same way on both runtimes. GenAI 2026's own ``perf_metrics``
(TTFT, TPOT, model-inference share) are recorded beside them when present.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: Runtimes by name -> interpreter; "2024.2" is the main environment's own openvino-genai.
RUNTIMES = ("2024.2", "2026")
TODAY_VENV_ENV = "COOKBOOK_TODAY_VENV"
#: The checkout (this file is helpers/core/genai_timing.py); stdlib only, so not helpers.core.settings.REPO_ROOT.
_REPO_ROOT = Path(__file__).resolve().parents[2]


def genai_python(runtime: str) -> Path:
    """Interpreter of a runtime: this one for 2024.2, ``.venv-today`` (or ``$COOKBOOK_TODAY_VENV``) for 2026."""
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime={runtime!r} is not supported: allowed values are {', '.join(RUNTIMES)}")
    if runtime == "2024.2":
        return Path(sys.executable)
    venv = Path(os.environ.get(TODAY_VENV_ENV, _REPO_ROOT / ".venv-today"))
    python = venv / "bin" / "python"
    if not python.is_file():
        raise FileNotFoundError(f"{python} not found: the today environment is made by `make setup-today` (make setup)")
    return python


def token_ids(token: Any) -> list[int]:
    """The ids a GenAI streamer receives in one call: ``put`` gets one id, GenAI 2025+'s ``write`` one id or a list
    (a step of lookup or speculative decoding accepts several)."""
    return [int(t) for t in token] if isinstance(token, list) else [int(token)]


def _streamer(genai: Any, stamps: list[float], ids: list[int]) -> Any:
    class Stamps(genai.StreamerBase):  # put() in 2024.2, write() in 2025+; both return "keep going"
        def put(self, token: Any) -> bool:
            stamps.append(time.perf_counter())
            ids.append(int(token))
            return False

        def write(self, token: Any) -> Any:  # a list when one step accepts several tokens (lookup, speculative)
            tokens = token_ids(token)
            stamps.extend([time.perf_counter()] * len(tokens))
            ids.extend(tokens)
            return genai.StreamingStatus.RUNNING

        def end(self) -> None:
            pass

    return Stamps()


#: Decoding modes of :func:`measure` (GenAI 2025+; "plain" everywhere): name -> GenerationConfig fields.
#: Prompt lookup proposes the next tokens by matching the last ``max_ngram_size`` tokens in the prompt; speculative
#: decoding has a draft model propose them; the main model checks ``num_assistant_tokens`` candidates per step, so
#: greedy output is the same as plain decoding's.
DECODING = {
    "plain": {},
    "prompt_lookup": {"num_assistant_tokens": 5, "max_ngram_size": 3},
    "prompt_lookup_2": {"num_assistant_tokens": 2, "max_ngram_size": 3},  # fewer to check: llama.cpp's CPU advice
    "speculative": {"num_assistant_tokens": 5},
}
#: The method behind each mode (a mode's name is only its key in the results): what the pipeline is built with.
DECODING_METHOD = {"plain": "plain", "prompt_lookup": "prompt_lookup", "prompt_lookup_2": "prompt_lookup",
                   "speculative": "speculative"}


def _config(genai: Any, new_tokens: int, natural_end: bool = False, decoding: str = "plain") -> Any:
    """Greedy; a fixed output length (``ignore_eos``), or with ``natural_end`` up to ``new_tokens`` and EOS."""
    config = genai.GenerationConfig()
    config.max_new_tokens = new_tokens
    config.ignore_eos = not natural_end
    config.do_sample = False
    fields = {"apply_chat_template": False, **({} if natural_end else {"min_new_tokens": new_tokens})}
    for name, value in fields.items():
        if hasattr(config, name):
            setattr(config, name, value)
    for name, value in DECODING[decoding].items():
        setattr(config, name, value)
    return config


def check_decoding(decoding: str, assisted_ok: bool) -> None:
    """Refuse an unknown mode, or an assisted one (lookup, speculative) where the runtime has none (GenAI 2024.2)."""
    if decoding not in DECODING:
        raise ValueError(f"decoding={decoding!r} is not supported: allowed values are {', '.join(DECODING)}")
    if decoding != "plain" and not assisted_ok:
        raise ValueError(f"decoding={decoding!r} needs OpenVINO GenAI 2025 or newer: allowed runtimes are 2026")


def _pipeline_kwargs(genai: Any, decoding: str, draft_dir: str | None, plugin: dict[str, str]) -> dict[str, Any]:
    """What ``LLMPipeline`` needs for a decoding mode (checked before anything loads)."""
    check_decoding(decoding, hasattr(genai, "draft_model"))
    method = DECODING_METHOD[decoding]
    if method == "speculative" and not draft_dir:
        raise ValueError(f"decoding={decoding!r} needs draft_dir: the draft model's IR folder")
    if method == "prompt_lookup":
        return {"prompt_lookup": True}
    if method == "speculative":
        return {"draft_model": genai.draft_model(draft_dir, "CPU", **plugin)}
    return {}


def _inputs(genai: Any, prompt: str, ids: list[int] | None) -> Any:
    """What ``generate`` gets: the model's own token ids when given (a tokenizer IR may split chat markers into plain
    text), else the text for GenAI's tokenizer IR."""
    if ids is None:
        return [prompt]
    import numpy as np
    import openvino as ov

    array = np.asarray([ids], dtype=np.int64)
    return genai.TokenizedInputs(ov.Tensor(array), ov.Tensor(np.ones_like(array)))


def _one_run(genai: Any, pipe: Any, inputs: Any, config: Any, keep_ids: bool = False) -> dict[str, Any]:
    stamps: list[float] = []
    ids: list[int] = []
    start = time.perf_counter()
    result = pipe.generate(inputs, config, _streamer(genai, stamps, ids))
    end = time.perf_counter()
    n = len(stamps)
    row: dict[str, Any] = {
        "ttft_s": stamps[0] - start if stamps else None,
        "tpot_s": (stamps[-1] - stamps[0]) / (n - 1) if n > 1 else None,
        "e2e_s": end - start,
        "new_tokens": n,
    }
    if keep_ids:  # to check that another decoding mode gave the very same greedy tokens
        row["token_ids"] = ids
    metrics = getattr(result, "perf_metrics", None)
    if metrics is not None:
        row["genai_ttft_s"] = metrics.get_ttft().mean / 1000
        row["genai_tpot_s"] = metrics.get_tpot().mean / 1000
        row["genai_input_tokens"] = int(metrics.get_num_input_tokens())
        row["genai_inference_s"] = metrics.get_inference_duration().mean / 1000
        row["genai_generate_s"] = metrics.get_generate_duration().mean / 1000
        raw = getattr(metrics, "raw_metrics", None)
        if raw is not None and hasattr(raw, "token_infer_durations"):  # microseconds per step; [0] is the prefill
            row["genai_token_infer_s"] = [float(d) / 1e6 for d in raw.token_infer_durations]
    extended = getattr(result, "extended_perf_metrics", None)  # speculative decoding: how many drafts were accepted
    if extended is not None and hasattr(extended, "get_num_accepted_tokens"):
        row["accepted_tokens"] = int(extended.get_num_accepted_tokens())
        if hasattr(extended, "get_draft_acceptance_rate"):
            row["draft_acceptance_rate"] = float(extended.get_draft_acceptance_rate())
    return row


#: What the CPU plugin really compiled with, read back (a property a runtime does not have is left out).
READ_BACK = (
    "INFERENCE_NUM_THREADS",
    "INFERENCE_PRECISION_HINT",
    "KV_CACHE_PRECISION",
    "KEY_CACHE_PRECISION",
    "VALUE_CACHE_PRECISION",
    "DYNAMIC_QUANTIZATION_GROUP_SIZE",
)


#: Properties the pipeline reads itself and the CPU plugin does not know (left out of :func:`read_back`'s compile).
PIPELINE_PROPERTIES = ("ATTENTION_BACKEND",)


def read_back(model_dir: str, plugin: dict[str, str]) -> dict[str, str] | None:
    """The settings that matter, read back from a compile of the same IR with the same plugin properties
    (``LLMPipeline`` does not expose its compiled model); None for a GGUF file. The pipeline's own properties
    (:data:`PIPELINE_PROPERTIES`) are copied into the answer as given."""
    import openvino as ov

    xml = Path(model_dir) / "openvino_model.xml"
    if not xml.is_file():
        return None
    cpu_plugin = {k: v for k, v in plugin.items() if k not in PIPELINE_PROPERTIES}
    compiled = ov.Core().compile_model(str(xml), "CPU", cpu_plugin)
    found = {k: v for k, v in plugin.items() if k in PIPELINE_PROPERTIES}
    for name in READ_BACK:
        try:
            value = compiled.get_property(name)
        except RuntimeError:  # not a property of this runtime version
            continue
        found[name] = value.to_string() if hasattr(value, "to_string") else str(value)  # ov.Type -> "u8"
    del compiled
    return found


def settings_label(found: dict[str, str] | None) -> str:
    """``read_back``'s answer in one phrase, e.g. ``f32 compute, KV cache u8, dyn. quant. group 32, 2 threads``."""
    if not found:
        return "settings not read back"
    kv = found.get("KV_CACHE_PRECISION", "?")
    if found.get("KEY_CACHE_PRECISION", kv) != kv or found.get("VALUE_CACHE_PRECISION", kv) != kv:
        kv = f"K {found['KEY_CACHE_PRECISION']} / V {found['VALUE_CACHE_PRECISION']}"
    group = found.get("DYNAMIC_QUANTIZATION_GROUP_SIZE", "?")
    attention = f", attention {found['ATTENTION_BACKEND']}" if "ATTENTION_BACKEND" in found else ""
    return (
        f"{found.get('INFERENCE_PRECISION_HINT', '?')} compute, KV cache {kv}, "
        f"dyn. quant. group {'off' if group == '0' else group}, {found.get('INFERENCE_NUM_THREADS', '?')} threads"
        f"{attention}"
    )


def measure(
    model_dir: str,
    prompts: list[str],
    new_tokens: int,
    threads: int,
    warmup: int,
    iterations: int,
    hint: str,
    prompt_ids: list[list[int]] | None = None,
    properties: dict[str, str] | None = None,
    decoding: str = "plain",
    natural_end: bool = False,
    draft_dir: str | None = None,
) -> dict[str, Any]:
    """Load the pipeline once, warm up, then time ``iterations`` runs over distinct prompts (in this process);
    ``properties`` are more CPU plugin properties (e.g. ``KV_CACHE_PRECISION``). ``decoding``: a mode of
    :data:`DECODING` (``draft_dir`` for speculative); ``natural_end``: answers end at EOS (at most ``new_tokens``)
    and each run keeps its token ids."""
    import openvino_genai as genai

    if len(prompts) < warmup + iterations:
        raise ValueError(f"prompts: {len(prompts)} given, warm-up + iterations = {warmup + iterations} needed")
    if prompt_ids is not None and len(prompt_ids) != len(prompts):
        raise ValueError(f"prompt_ids: {len(prompt_ids)} given for {len(prompts)} prompts: allowed is one per prompt")
    inputs = [_inputs(genai, p, prompt_ids[i] if prompt_ids else None) for i, p in enumerate(prompts)]
    plugin = {"INFERENCE_NUM_THREADS": max(threads, 2), "PERFORMANCE_HINT": "LATENCY"}
    if hint != "default":
        plugin["INFERENCE_PRECISION_HINT"] = hint
    plugin.update(properties or {})
    strings = {k: str(v) for k, v in plugin.items()}
    extra = _pipeline_kwargs(genai, decoding, draft_dir, strings)
    start = time.perf_counter()
    pipe = genai.LLMPipeline(model_dir, "CPU", strings, **extra)  # properties positional: 2024.2
    load_s = time.perf_counter() - start
    config = _config(genai, new_tokens, natural_end, decoding)
    for item in inputs[:warmup]:
        _one_run(genai, pipe, item, config)
    runs = [_one_run(genai, pipe, item, config, natural_end) for item in inputs[warmup : warmup + iterations]]
    del pipe
    compiled = read_back(model_dir, {k: str(v) for k, v in plugin.items()})
    keys = [k for k in ("ttft_s", "tpot_s", "e2e_s") if runs[0][k] is not None]
    summary = {k: statistics.median(r[k] for r in runs) for k in keys}
    return {
        "runtime": "openvino-genai",
        "genai_version": getattr(genai, "__version__", "unknown"),
        "precision_hint": hint,
        "threads": plugin["INFERENCE_NUM_THREADS"],
        "prompt_input": "token ids" if prompt_ids else "text",
        "decoding": decoding,
        "decoding_config": DECODING[decoding],
        "decoding_method": DECODING_METHOD[decoding],
        "properties": {k: str(v) for k, v in plugin.items()},
        "compiled_properties": compiled,
        "load_s": load_s,
        "runs": runs,
        **{f"median_{k}": v for k, v in summary.items()},
    }


def run_json_module(
    python: Path, module: str, payload: dict[str, Any], timeout_s: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``python -m module`` of this checkout with ``payload`` as JSON on stdin (output captured, not checked)."""
    return subprocess.run(
        [str(python), "-m", module],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(_REPO_ROOT), **(env or {})},
        timeout=timeout_s,
        check=False,
    )


def run_genai(
    model_dir: str | Path,
    prompts: list[str],
    *,
    runtime: str = "2024.2",
    new_tokens: int = 64,
    threads: int = 2,
    warmup: int = 1,
    iterations: int = 5,
    hint: str = "f32",
    prompt_ids: list[list[int]] | None = None,
    properties: dict[str, str] | None = None,
    decoding: str = "plain",
    natural_end: bool = False,
    draft_dir: str | Path | None = None,
    timeout_s: float = 1800.0,
) -> dict[str, Any]:
    """:func:`measure` in a fresh process of the chosen runtime's interpreter; returns its JSON as a dict.

    ``prompt_ids`` (one list per prompt, from the model's Hugging Face tokenizer, see
    :func:`helpers.llm.genai.prompt_token_ids`) feed GenAI the same tokens as every other runtime; without them GenAI
    tokenizes the text with its tokenizer IR."""
    python = genai_python(runtime)
    if hint not in ("f32", "bf16", "default"):
        raise ValueError(f"hint={hint!r} is not supported: allowed values are f32, bf16, default")
    check_decoding(decoding, runtime != "2024.2")  # before a process starts
    payload = {
        "model_dir": str(model_dir),
        "prompts": list(prompts),
        "new_tokens": new_tokens,
        "threads": threads,
        "warmup": warmup,
        "iterations": iterations,
        "hint": hint,
        "prompt_ids": prompt_ids,
        "properties": properties,
        "decoding": decoding,
        "natural_end": natural_end,
        "draft_dir": None if draft_dir is None else str(draft_dir),
    }
    proc = run_json_module(python, "helpers.core.genai_timing", payload, timeout_s)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        cause = [line for line in lines if "Exception from" in line or "Error:" in line or "failed" in line][-1:]
        tail = "\n".join([*cause, *lines[-5:]] if cause and cause[0] not in lines[-5:] else lines[-5:])
        raise RuntimeError(f"GenAI {runtime} ({python}) failed with exit code {proc.returncode}: {tail}")
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "runtime_name": f"openvino-genai {runtime}"}


def main() -> int:
    """Read a JSON payload (see :func:`run_genai`) on stdin, print the measurement as one JSON line."""
    argparse.ArgumentParser(description=__doc__).parse_args()
    payload = json.loads(sys.stdin.read())
    print(json.dumps(measure(**payload)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
