"""NNCF 2.11 vs 3.4: today's builds (helpers.sweep.today_builds, helpers.today.nncf_build) and their table."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.sweep import today_builds, tools_compare, transfer
from helpers.sweep.grid import SweepPoint
from helpers.today import nncf_build


def test_today_cases_have_their_own_keys_and_bad_tools_are_refused_first() -> None:
    case = transfer.TransferCase("smollm2-135m-instruct", transfer.POINTS[1], "2026")
    assert case.key == "smollm2-135m-instruct/openvino/int4/g64/sym/RTN/fp32/tools-2026"
    assert transfer.TransferCase("smollm2-135m-instruct", transfer.POINTS[1]).key.endswith("/RTN/fp32")
    with pytest.raises(ValueError, match="tools='2025' is not supported: allowed values are 2024, 2026"):
        transfer.run(["smollm2-135m-instruct"], tools=("2024", "2025"))


def test_only_compressed_openvino_points_have_a_today_build() -> None:
    for point in (SweepPoint("openvino", "fp32", -1), SweepPoint("itrex", "int4_clip", 32)):
        with pytest.raises(ValueError, match="allowed are compressed openvino points"):
            today_builds.today_ir_for(point, "smollm2-135m-instruct")


def test_calibration_inputs_cross_as_plain_arrays(tmp_path: Path) -> None:
    items = [
        {"input_ids": np.array([[1, 2, 3]]), "attention_mask": np.ones((1, 3), dtype=np.int64)},
        {"input_ids": np.array([[4, 5]]), "attention_mask": np.ones((1, 2), dtype=np.int64)},
    ]
    path = tmp_path / "calibration.npz"
    today_builds._save_calibration(items, path)
    back = list(nncf_build._dataset(str(path)).get_inference_data())
    assert [item["input_ids"].tolist() for item in back] == [[[1, 2, 3]], [[4, 5]]]
    assert nncf_build._dataset(None) is None


def test_an_unknown_action_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps({"action": "train"})))
    with pytest.raises(ValueError, match="action='train' is not supported: allowed values are export, compress"):
        nncf_build.main()


def _row(tools: str | None, kld: tuple[float, float, float], label: str = "openvino int4 g64 sym") -> dict:
    row = {"status": "ok", "model": "smollm2-135m-instruct", "label": label, "tools": tools,
           "key": "smollm2-135m-instruct/openvino/int4/g64/sym/RTN/fp32", "quantize_s": 3.0, "model_bytes": 2**20}
    for col, (v, lo, hi) in {"kld_mean": kld, "kld_top64_mean": kld, "top1_agreement": (0.8, 0.7, 0.9),
                             "ppl_change": (0.05, 0.01, 0.09)}.items():
        row |= {col: v, f"{col}_lo": lo, f"{col}_hi": hi}
    return row


def test_the_tools_table_calls_overlapping_intervals_a_tie() -> None:
    tie = pd.DataFrame([_row(None, (0.5, 0.4, 0.6)), _row("2026", (0.45, 0.35, 0.55))])
    table = tools_compare.tools_table(tie)
    assert table.loc[0, "kld"] == "tie within noise"
    assert table.loc[0, "KLD 2024"] == "0.5000 [0.4000, 0.6000]" and table.loc[0, "MB 2026"] == 1.0
    apart = pd.DataFrame([_row("2024", (0.5, 0.45, 0.55)), _row("2026", (0.3, 0.25, 0.35))])
    assert tools_compare.tools_table(apart).loc[0, "kld"] == "2026 lower"
    assert len(transfer.summary(apart)) == 1  # the accuracy-transfer table keeps the 2024 builds only
