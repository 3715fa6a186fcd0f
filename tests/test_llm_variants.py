"""Notebook 03's side-by-side helpers that need no model: the neural-speed check, recorded rows, the bars."""

import json

import pandas as pd

from helpers.llm import variants


def _config(tmp_path, layers, model_type="llama"):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type, "num_hidden_layers": layers}))
    return tmp_path


def test_neural_speed_status_explains_each_case(tmp_path, monkeypatch):
    monkeypatch.setattr(variants.importlib.util, "find_spec", lambda name: None)
    status, reason = variants.neural_speed_status(_config(tmp_path, 30))
    assert status == "not installed" and "pip install --no-deps neural-speed==1.0" in reason

    monkeypatch.setattr(variants.importlib.util, "find_spec", lambda name: object())
    status, reason = variants.neural_speed_status(_config(tmp_path, 30))
    assert status == "unsupported" and "this model has 30 layers" in reason and "22, 32, 40" in reason
    assert variants.neural_speed_status(_config(tmp_path, 32))[0] == "available"


def test_recorded_rows_and_verdicts():
    runner = object.__new__(variants.VariantRunner)  # no model needed for the bookkeeping
    runner.rows = [
        {"variant": "torch fp32", "status": "ok", "decode_ms_per_token": 60.0, "decode_tokens_per_s": 16.7},
        {"variant": "ITREX nf4", "status": "ok", "decode_ms_per_token": 50.0, "decode_tokens_per_s": 20.0},
        {"variant": "OpenVINO int4 g64", "status": "ok", "decode_ms_per_token": 15.0, "decode_tokens_per_s": 66.7},
    ]
    runner.record("neural-speed int4", "unsupported", "30 layers")
    frame = runner.frame()
    assert frame.loc[frame["variant"] == "OpenVINO int4 g64", "decode_speedup"].item() == 4.0
    assert frame.loc[frame["variant"] == "neural-speed int4", "reason"].item() == "30 layers"
    lines = variants.variant_verdicts(frame)
    assert lines == [
        "ITREX nf4: 20.0 tok/s = 1.20x torch fp32 decode (misses the 1.5x bar)",
        "OpenVINO int4 g64: 66.7 tok/s = 4.00x torch fp32 decode (meets the 3x bar)",
        "the seed path (every ITREX row, 1): 1.20x-1.20x torch fp32 decode; fastest: ITREX nf4",
    ]
    assert variants.variant_verdicts(pd.DataFrame([{"variant": "x", "status": "ok", "decode_ms_per_token": 1.0}])) == [
        "no 'torch fp32' row to compare with"
    ]
