"""helpers.tools.preflight on recorded cpuinfo files: what runs and what is skipped follows the ISA flags."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import device
from helpers.tools import preflight
from helpers.tools.notebooks import CATALOGUE

CPUINFO = Path(__file__).parent / "fixtures" / "cpuinfo"


def _plan(name: str) -> dict[str, preflight.PlanRow]:
    cpu = device.CpuInfo.from_cpuinfo_text((CPUINFO / name).read_text(), mem_bytes=16 << 30)
    return {row.path: row for row in preflight.plan(cpu.present_flags())}


def test_avx2_only_skips_the_neural_engine_bf16_and_int8_with_reasons() -> None:
    rows = _plan("skylake_i7_6700.txt")
    skipped = {path for path, row in rows.items() if not row.runs}
    assert any("QuantizedBgeEmbeddings" in p for p in skipped)
    assert any("compute_dtype=bf16" in p for p in skipped) and any("compute_dtype=int8" in p for p in skipped)
    assert all(rows[p].why for p in skipped)
    assert "needs AVX-512F" in next(r.why for p, r in rows.items() if "QuantizedBgeEmbeddings" in p)


def test_amx_runs_every_cpu_path() -> None:
    rows = _plan("sapphire_rapids_xeon_8480.txt")
    assert all(row.runs for row in rows.values()), [r for r in rows.values() if not r.runs]


def test_avx512_vnni_without_amx_skips_only_itrex_bf16() -> None:
    rows = _plan("cascade_lake_2s_xeon_6230.txt")
    assert [p for p, r in rows.items() if not r.runs] == [
        "OpenVINO embedder with bf16 inference precision",
        "WeightOnlyQuantPipeline compute_dtype=bf16 (nf4 weights)",
    ]


def test_expected_minutes_prefers_this_profiles_record(tmp_path: Path) -> None:
    minutes, source = preflight.expected_minutes("intel-x-avx2-t2", tmp_path)
    assert "catalogue" in source and minutes == sum(s.minutes_full for s in CATALOGUE) + preflight.SETUP_MINUTES
    folder = tmp_path / "amd-epyc-avx2-t2"
    folder.mkdir()
    rows = [{"key": s.name, "notebook": s.name, "seconds": 60.0} for s in CATALOGUE]
    (folder / "notebook_times.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    minutes, source = preflight.expected_minutes("intel-x-avx2-t2", tmp_path)
    assert "amd-epyc-avx2-t2, another profile" in source and minutes == len(CATALOGUE) + preflight.SETUP_MINUTES
    minutes, source = preflight.expected_minutes("amd-epyc-avx2-t2", tmp_path)
    assert source.startswith("measured on this profile")


def test_report_names_the_profile_and_the_expected_time() -> None:
    cpu = device.CpuInfo.from_cpuinfo_text((CPUINFO / "skylake_i7_6700.txt").read_text(), mem_bytes=16 << 30)
    text = preflight.report_text(cpu, with_extras=False)
    assert "avx2-t2" in text and "Expected wall time of make run here: ~" in text and "SKIPPED" in text
