"""The committed sweep results meet the accuracy-and-noise protocol: every measured row of every grid file of every
profile has KLD mean/p99, top-1 agreement and perplexity with 95 % intervals over >= 8,000 scored tokens from two
held-out sources, and per-run timing samples for its speed intervals. Rows of an earlier protocol live in
``results/legacy/`` (not a profile, never read)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from helpers import device
from helpers.core import settings
from helpers.sweep.accuracy import DEFAULT_SOURCES as SOURCES
from helpers.sweep.grid import GRIDS

WITH_INTERVALS = ("kld_mean", "kld_p99", "top1_agreement", "perplexity", "ppl_change")
#: Every committed sweep row scores at least this many predictions (the workshop budget: 2 x 2,048 tokens in 256-token
#: windows, 4,080; standard and full: 2 x 4,096 in 512-token windows, 8,176) over at least this many windows per source
#: (the bootstrap intervals resample windows).
MIN_EVAL_TOKENS = 4_000
MIN_WINDOWS_PER_SOURCE = 8


def _sweep_files() -> list[Path]:
    files = []
    for folder in sorted(p for p in settings.COMMITTED_RESULTS.iterdir() if device.is_profile(p.name)):
        files += [f for f in sorted(folder.glob("*.jsonl")) if f.stem.removesuffix("-rerun") in GRIDS]
    return files


def _measured_rows() -> list[tuple[str, dict]]:
    rows = []
    for path in _sweep_files():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            row = json.loads(line)
            if row.get("status") == "ok":
                rows.append((f"{path.parent.name}/{path.name}:{n}", row))
    return rows


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def test_there_are_committed_sweep_rows():
    assert len(_measured_rows()) >= 20


def test_the_legacy_folder_is_not_a_profile():
    assert not device.is_profile("legacy")
    assert (settings.COMMITTED_RESULTS / "legacy" / "README.md").is_file()
    assert not list((settings.COMMITTED_RESULTS / "legacy").glob("*.jsonl"))  # only inside its own subfolders


@pytest.mark.parametrize(("where", "row"), _measured_rows(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_measured_row_has_accuracy_with_intervals(where, row):
    for metric in WITH_INTERVALS:
        for suffix in ("", "_lo", "_hi"):
            assert _finite(row.get(metric + suffix)), f"{where}: {metric}{suffix} missing"
        assert row[metric + "_lo"] <= row[metric] <= row[metric + "_hi"], f"{where}: {metric} outside its interval"
        for source, suffix in ((s, x) for s in SOURCES for x in ("", "_lo", "_hi")):  # reported per source too
            assert _finite(row.get(f"{metric}_{source}{suffix}")), f"{where}: {metric}_{source}{suffix} missing"
    assert row["eval_tokens"] >= MIN_EVAL_TOKENS, f"{where}: {row['eval_tokens']} evaluation tokens"
    for source in SOURCES:
        windows = row[f"eval_windows_{source}"]
        assert windows >= MIN_WINDOWS_PER_SOURCE, f"{where}: {windows} windows of {source}"
    assert sum(row[f"eval_tokens_{source}"] for source in SOURCES) == row["eval_tokens"], where
    assert 0 <= row["top1_agreement"] <= 1 and row["kld_mean"] >= 0, where


@pytest.mark.parametrize(("where", "row"), _measured_rows(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_measured_row_keeps_its_timing_samples(where, row):
    samples = row.get("decode_ms_samples") or []
    assert len(samples) >= 5 and all(_finite(s) and s > 0 for s in samples), f"{where}: {len(samples)} samples"
    if row.get("genai_2026_tpot_ms_samples") is not None:
        assert len(row["genai_2026_tpot_ms_samples"]) >= 5, where


@pytest.mark.parametrize("path", _sweep_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_labels_are_unique_and_match_the_points_keys(path):
    from helpers.sweep.grid import SweepPoint

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len({r["label"] for r in rows}) == len({r["key"] for r in rows}), f"{path}: two points share a label"
    for r in rows:
        if "compute_dtype" in r:
            point = SweepPoint.from_row(r)
            assert (point.key, point.label) == (r["key"], r["label"]), f"{path}: {r['key']} labelled {r['label']!r}"
