"""helpers.latency.floor and sizes: bytes a decode step reads, the triad, and the size table built from rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.core import timing
from helpers.latency import floor, sizes


def _safetensors(folder: Path, tensors: dict[str, tuple[int, ...]]) -> None:
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file({name: np.zeros(shape, dtype=np.float32) for name, shape in tensors.items()}, folder / "m.safetensors")


def test_hf_bytes_leave_out_an_untied_embedding_and_reprice_linear_weights(tmp_path: Path) -> None:
    layer = {"model.layers.0.mlp.up_proj.weight": (8, 4), "model.norm.weight": (4,)}
    _safetensors(tmp_path / "tied", {"model.embed_tokens.weight": (10, 4), **layer})
    _safetensors(tmp_path / "untied", {"model.embed_tokens.weight": (10, 4), "lm_head.weight": (10, 4), **layer})
    assert floor.hf_weight_bytes(tmp_path / "tied") == 4 * (40 + 32 + 4)  # tied: the embedding is the output layer
    assert floor.hf_weight_bytes(tmp_path / "untied") == 4 * (40 + 32 + 4)  # lm_head read, the lookup table not
    assert floor.hf_weight_bytes(tmp_path / "untied", 0.5) == 4 * 40 + 16 + 4 * 4  # only the decoder's Linear packed


def test_kv_cache_bytes_follow_the_config_and_the_runtime(tmp_path: Path) -> None:
    config = {"num_attention_heads": 4, "num_key_value_heads": 2, "hidden_size": 32, "num_hidden_layers": 3}
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert floor.kv_cache_bytes(tmp_path, "llama.cpp", 100) == 2 * 3 * 2 * 8 * 100 * 2
    assert floor.kv_cache_bytes(tmp_path, "genai-2026", 100) == 2 * 3 * 2 * 8 * 100


def test_ir_bytes_leave_out_a_table_only_the_lookup_reads(tmp_path: Path) -> None:
    import openvino as ov
    from openvino.runtime import opset13 as ops

    ids = ops.parameter([1, 1], ov.Type.i64, name="input_ids")
    table = ops.constant(np.ones((50, 8), dtype=np.float32))
    hidden = ops.gather(table, ids, ops.constant(np.int64(0)))
    head = ops.constant(np.ones((50, 8), dtype=np.float32))
    logits = ops.matmul(hidden, head, False, True)
    ov.save_model(ov.Model([logits], [ids]), tmp_path / "m.xml", compress_to_fp16=False)
    total = (tmp_path / "m.bin").stat().st_size
    assert floor.ir_weight_bytes(tmp_path / "m.xml") == total - 50 * 8 * 4


def test_triad_measures_and_refuses_bad_sizes() -> None:
    samples = timing.triad_gb_s(1, megabytes=8, repeats=3)
    assert len(samples) == 3 and all(s > 0 for s in samples)
    with pytest.raises(ValueError, match="megabytes=1"):
        timing.triad_gb_s(1, megabytes=1)


def _rows() -> pd.DataFrame:
    def row(model: str, runtime: str, weights: str, tpot: list[float], weights_bytes: int) -> dict:
        return {"key": f"{model}/{runtime}/{weights}", "status": "ok", "model": model, "runtime": runtime,
                "weights": weights, "num_threads": 2, "round": 1, "tpot_s_samples": tpot,
                "ttft_s_samples": [1.0, 1.1, 1.2], "e2e_s_samples": [2.0, 2.1, 2.2], "new_tokens": 64,
                "decode_step_bytes": {"weights": weights_bytes, "kv_cache": 0}}
    return pd.DataFrame([
        row("qwen2.5-coder-1.5b-instruct", "llama.cpp", "q4_k_m", [0.040, 0.041, 0.039, 0.040], 1_000_000_000),
        row("qwen2.5-coder-1.5b-instruct", "genai-2026", "int4-sym-g64", [0.050, 0.051, 0.049, 0.050], 1_100_000_000),
        row("smollm2-135m-instruct", "llama.cpp", "q4_1", [0.010, 0.011, 0.010], 100_000_000),
    ])


def test_size_table_floor_share_and_peer_ratio() -> None:
    table = sizes.size_table(_rows(), {"qwen2.5-coder-1.5b-instruct": [30.0, 31.0, 32.0]})
    big = table[table["model"] == "qwen2.5-coder-1.5b-instruct"].set_index("runtime")
    assert big.loc["llama.cpp", "floor_ms"] == pytest.approx(1000 / 31)  # 1,000 MB at 31 GB/s
    assert big.loc["llama.cpp", "share_of_floor"] == pytest.approx(1000 / 31 / 40)
    assert big.loc["genai-2026", "vs_llama"] == pytest.approx(0.8)
    assert big.loc["llama.cpp", "settings"] == "n/a (not OpenVINO GenAI)"
    assert big.loc["genai-2026", "settings"].startswith("not read back")  # these rows carry none
    small = table[table["model"] == "smollm2-135m-instruct"]
    assert small["floor_ms"].isna().all()  # no bandwidth measured in that sitting: no floor, not a guess
    lines = sizes.size_verdicts(table)
    assert "qwen2.5-coder-1.5b-instruct" in lines[0] and lines[0].endswith("missed")
    assert "of its memory floor" in lines[1]
    assert "runs closer to its own floor" in lines[2] and "llama.cpp q4_k_m" in lines[2]  # 81 % vs 71 %, beyond noise


def test_no_closer_case_line_when_the_int4_case_is_the_closest() -> None:
    rows = _rows()
    rows = rows[rows["runtime"] != "llama.cpp"]
    lines = sizes.size_verdicts(sizes.size_table(rows, {"qwen2.5-coder-1.5b-instruct": [30.0, 31.0, 32.0]}))
    assert len(lines) == 2 and "no llama.cpp case" in lines[0]


def test_size_verdicts_on_no_rows_say_how_to_measure() -> None:
    assert "python -m helpers.latency --model" in sizes.size_verdicts(pd.DataFrame())[0]
    assert sizes.parameters("qwen2.5-coder-1.5b-instruct") == 1.5e9


def test_settings_effects_compare_each_setting_with_the_same_ir_without_it() -> None:
    base = _rows().iloc[1].to_dict()
    rows = [base]
    for setting, tpot in (("kvf16", [0.040, 0.041, 0.039, 0.040]), ("dq0", [0.070, 0.071, 0.069, 0.070]),
                          ("bf16", [0.049, 0.052, 0.048, 0.051])):
        rows.append({**base, "key": f"k/{setting}", "weights": f"int4-sym-g64@{setting}", "tpot_s_samples": tpot})
    rows.append({**base, "key": "k/orphan", "weights": "int4-sym-g128-all@kvf16"})  # its base was not measured
    lines = sizes.settings_effects(sizes.size_table(pd.DataFrame(rows), {}))
    assert len(lines) == 3
    assert "int4-sym-g64@kvf16 decodes 1.25x" in lines[0] and lines[0].endswith(": faster")
    assert "@bf16" in lines[1] and lines[1].endswith("tie within noise")
    assert "@dq0" in lines[2] and lines[2].endswith(": slower")
