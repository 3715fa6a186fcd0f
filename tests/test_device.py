"""Unit tests for helpers.device on recorded /proc/cpuinfo samples, plus a smoke test of detect()."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import device
from helpers.device import CpuInfo, DeviceReport, recommend, summary_line, supported_compute_dtypes

FIXTURES = Path(__file__).parent / "fixtures" / "cpuinfo"
GIB = 2**30


def load(name: str, mem_gib: float = 16.0) -> CpuInfo:
    return CpuInfo.from_cpuinfo_text((FIXTURES / f"{name}.txt").read_text(), mem_bytes=int(mem_gib * GIB))


def flags_on(cpu: CpuInfo) -> set[str]:
    return {name for name, ok in cpu.isa_flags().items() if ok}


@pytest.mark.parametrize(
    ("name", "physical", "logical", "flags"),
    [
        ("host_amd_epyc", 2, 2, {"avx2"}),
        ("skylake_i7_6700", 4, 8, {"avx2"}),
        ("alder_lake_i5_1235u", 10, 12, {"avx2", "avx_vnni"}),
        ("cascade_lake_2s_xeon_6230", 4, 8, {"avx2", "avx512f", "avx512_vnni"}),
        ("sapphire_rapids_xeon_8480", 4, 8, set(device.ISA_FLAGS)),
    ],
)
def test_parse_samples(name: str, physical: int, logical: int, flags: set[str]) -> None:
    cpu = load(name)
    assert (cpu.physical_cores, cpu.logical_cores) == (physical, logical)
    assert flags_on(cpu) == flags
    assert cpu.memory_gib == 16.0


def test_model_and_vendor() -> None:
    cpu = load("sapphire_rapids_xeon_8480")
    assert cpu.model_name == "Intel(R) Xeon(R) Platinum 8480+"
    assert cpu.vendor == "GenuineIntel"
    host = load("host_amd_epyc")
    assert (host.model_name, host.vendor) == ("AMD EPYC", "AuthenticAMD")


def test_multi_socket_counts_unique_socket_core_pairs() -> None:
    # core ids 0 and 4 exist on both sockets: counting core ids alone would give 2, not 4
    cpu = load("cascade_lake_2s_xeon_6230")
    assert cpu.physical_cores == 4
    assert recommend(cpu).num_threads == 4


def test_missing_topology_falls_back_and_empty_text_is_safe() -> None:
    text = "processor\t: 0\nflags\t\t: avx2\n\nprocessor\t: 1\nflags\t\t: avx2\n"
    cpu = CpuInfo.from_cpuinfo_text(text, mem_bytes=GIB)
    assert cpu.logical_cores >= 2 and 1 <= cpu.physical_cores <= cpu.logical_cores
    assert cpu.avx2 and cpu.memory_gib == 1.0
    empty = CpuInfo.from_cpuinfo_text("", mem_bytes=0)
    assert empty.physical_cores >= 1 and not flags_on(empty)


def test_cpuinfo_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        load("skylake_i7_6700").avx2 = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "dtypes", "compute"),
    [
        ("host_amd_epyc", ["fp32"], "fp32"),
        ("skylake_i7_6700", ["fp32"], "fp32"),
        ("alder_lake_i5_1235u", ["fp32", "int8"], "int8"),
        ("cascade_lake_2s_xeon_6230", ["fp32", "int8"], "int8"),
        ("sapphire_rapids_xeon_8480", ["fp32", "bf16", "int8"], "int8"),
    ],
)
def test_compute_dtype_rules(name: str, dtypes: list[str], compute: str) -> None:
    cpu = load(name)
    assert supported_compute_dtypes(cpu) == dtypes
    rec = recommend(cpu)
    assert rec.compute_dtype == compute
    assert rec.compute_dtype in dtypes


def test_bf16_needs_bf16_flag_and_int8_needs_vnni_or_amx() -> None:
    avx512 = load("cascade_lake_2s_xeon_6230")
    plain = dataclasses.replace(avx512, avx512_vnni=False)
    assert supported_compute_dtypes(plain) == ["fp32"]
    assert recommend(plain).compute_dtype == "fp32"
    bf16_only = dataclasses.replace(plain, avx512_bf16=True)
    assert supported_compute_dtypes(bf16_only) == ["fp32", "bf16"]
    assert recommend(bf16_only).compute_dtype == "bf16"
    amx_int8_only = dataclasses.replace(plain, amx_int8=True, amx_tile=True)
    assert supported_compute_dtypes(amx_int8_only) == ["fp32", "int8"]
    amx_bf16_only = dataclasses.replace(plain, amx_bf16=True, amx_tile=True)
    assert supported_compute_dtypes(amx_bf16_only) == ["fp32", "bf16"]


def test_backend_threads_and_reasons() -> None:
    cpu = load("skylake_i7_6700")
    rec_ov = recommend(cpu, openvino_available=True)
    rec_pt = recommend(cpu, openvino_available=False)
    assert (rec_ov.backend, rec_pt.backend) == ("openvino", "torch")
    assert rec_ov.num_threads == 4  # physical cores, not the 8 hyperthreads
    # OpenVINO's weights are named as NNCF names them (int4_fullrange is an ITREX dtype); the seed path keeps ITREX's
    assert (rec_ov.weight_dtype, rec_pt.weight_dtype) == ("int8", device.DEFAULT_WEIGHT_DTYPE)
    for word in ("backend", "compute_dtype", "weight_dtype", "num_threads"):
        assert any(r.startswith(word) for r in rec_ov.reasons), word
    assert recommend(dataclasses.replace(cpu, physical_cores=0)).num_threads == 1


def test_summary_line_contains_key_facts() -> None:
    report = DeviceReport(
        cpu=load("sapphire_rapids_xeon_8480", mem_gib=251.4),
        torch_version="2.1.2",
        torch_threads=4,
        openvino_version="2024.2.0",
        openvino_devices=["CPU"],
        ipex_version="2.1.100",
    )
    line = summary_line(report)
    assert "\n" not in line
    for fact in (
        "Intel(R) Xeon(R) Platinum 8480+",
        "4 physical / 8 logical",
        "251.4 GiB",
        "AVX512F",
        "AMX-INT8",
        "AMX-BF16",
        "torch 2.1.2 x4 threads",
        "IPEX 2.1.100",
        "OpenVINO: CPU",
    ):
        assert fact in line, fact
    assert "no AMX" not in line


def test_summary_line_without_libraries() -> None:
    line = summary_line(DeviceReport(cpu=load("skylake_i7_6700", mem_gib=31.9)))
    assert "AVX2 (no AVX-512, no AMX)" in line
    assert "31.9 GiB" in line and "torch: missing" in line and "OpenVINO: missing" in line


def test_report_text_lists_recommendation() -> None:
    report = DeviceReport(cpu=load("alder_lake_i5_1235u"), openvino_version="2024.2.0", openvino_devices=["CPU"])
    text = device.report_text(report)
    assert text.splitlines()[0] == summary_line(report)
    assert "backend       : openvino" in text and "compute_dtype : int8" in text
    assert "avx_vnni=yes" in text and "avx512f=no" in text


def test_detect_runs_here() -> None:
    report = device.detect()
    assert report.cpu.logical_cores >= report.cpu.physical_cores >= 1
    assert report.cpu.memory_gib > 0
    assert report.cpu.model_name
    if report.torch_version is not None:
        assert report.torch_threads is not None and report.torch_threads >= 1
    if report.openvino_available:
        assert "CPU" in report.openvino_devices
    assert summary_line(report).startswith("CPU: ")


def test_module_main_prints_report() -> None:
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-m", "helpers.device"], cwd=root, capture_output=True, text=True, check=True, timeout=300
    ).stdout
    assert out.startswith("CPU: ") and "Recommendation" in out and "reasons:" in out


@pytest.mark.parametrize(
    ("name", "isa", "profile"),
    [
        ("host_amd_epyc", "avx2", "amd-epyc-avx2-t2"),
        ("skylake_i7_6700", "avx2", "intel-core-i7-6700-avx2-t2"),
        ("alder_lake_i5_1235u", "avx2", "12th-gen-intel-core-i5-1235u-avx2-t2"),  # AVX-VNNI is not AVX-512
        ("cascade_lake_2s_xeon_6230", "avx512-vnni", "intel-xeon-gold-6230-avx512-vnni-t2"),
        ("sapphire_rapids_xeon_8480", "amx", "intel-xeon-platinum-8480-amx-t2"),
    ],
)
def test_isa_class_and_profile_of_recorded_cpus(name: str, isa: str, profile: str, monkeypatch) -> None:
    monkeypatch.delenv(device.PROFILE_ENV, raising=False)
    cpu = load(name)
    assert device.isa_class(cpu) == isa
    assert device.machine_profile(2, cpu) == profile
    assert device.is_profile(profile)


def test_isa_class_order_same_cpu_name_different_kernels(monkeypatch) -> None:
    # the case of issue 13: two "AMD EPYC" machines, AVX2-only and AVX-512 with VNNI and BF16, must not share a file
    monkeypatch.delenv(device.PROFILE_ENV, raising=False)
    avx2 = load("host_amd_epyc")
    steps = [
        ({"avx512f": True}, "avx512"),
        ({"avx512_vnni": True}, "avx512-vnni"),
        ({"avx512_bf16": True}, "avx512-bf16"),
        ({"amx_bf16": True}, "amx"),
    ]
    cpu = avx2
    for change, isa in steps:
        cpu = dataclasses.replace(cpu, **change)
        assert device.isa_class(cpu) == isa
    assert device.isa_class(dataclasses.replace(avx2, amx_int8=True)) == "amx"
    assert device.isa_class(dataclasses.replace(avx2, avx2=False)) == "base"
    bf16 = dataclasses.replace(avx2, avx512f=True, avx512_vnni=True, avx512_bf16=True)
    assert device.machine_profile(2, bf16) == "amd-epyc-avx512-bf16-t2" != device.machine_profile(2, avx2)
    assert device.machine_profile(4, avx2) == "amd-epyc-avx2-t4"
    assert [device.isa_class(c) for c in (bf16, avx2)] == sorted(
        [device.isa_class(c) for c in (bf16, avx2)], key=device.ISA_CLASSES.index
    )


@pytest.mark.parametrize(
    ("model_name", "slug"),
    [
        ("AMD EPYC 7763 64-Core Processor", "amd-epyc-7763-64-core"),
        ("Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz", "intel-xeon-gold-6230"),
        ("", "cpu"),
        ("((()))", "cpu"),
    ],
)
def test_cpu_slug(model_name: str, slug: str) -> None:
    assert device.cpu_slug(model_name) == slug


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("amd-epyc-avx2-t2", True),
        ("cpu-base-t1", True),
        ("intel-xeon-avx512-bf16-t16", True),
        ("rag", False),
        ("sweep", False),
        ("scratch", False),
        ("amd-epyc-t2", False),  # the old machine tag: no ISA class
        ("amd-epyc-avx2-t0", False),
        ("AMD-EPYC-avx2-t2", False),
    ],
)
def test_is_profile(name: str, ok: bool) -> None:
    assert device.is_profile(name) is ok


def test_profile_override_and_bad_values(monkeypatch) -> None:
    monkeypatch.setenv(device.PROFILE_ENV, "amd-epyc-avx2-t2")
    assert device.machine_profile(8) == "amd-epyc-avx2-t2"
    monkeypatch.setenv(device.PROFILE_ENV, "amd-epyc-t2")
    with pytest.raises(ValueError, match=r"COOKBOOK_PROFILE='amd-epyc-t2' is invalid: allowed values are .*avx2"):
        device.machine_profile(2)
    monkeypatch.delenv(device.PROFILE_ENV)
    with pytest.raises(ValueError, match="num_threads=0 is invalid: allowed values are integers >= 1"):
        device.machine_profile(0, load("host_amd_epyc"))


def test_module_main_prints_profile(monkeypatch) -> None:
    monkeypatch.delenv(device.PROFILE_ENV, raising=False)
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-m", "helpers.device", "--profile", "--threads", "3"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.strip()
    assert out == device.machine_profile(3) and out.endswith("-t3") and device.is_profile(out)
