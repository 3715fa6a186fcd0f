"""Every notebook: Settings that fit a CPU (backend, compute dtype, weights, threads) with a reason each, and the
printed report."""

from __future__ import annotations

import argparse
from dataclasses import fields

from helpers.device.cpu import _ISA_LABELS, DEFAULT_WEIGHT_DTYPE, CpuInfo, machine_profile
from helpers.device.probe import DeviceReport, Recommendation, detect


def supported_compute_dtypes(cpu: CpuInfo) -> list[str]:
    """Compute dtypes with native kernels here: fp32 always, bf16 with AVX512-BF16/AMX-BF16, int8 with VNNI/AMX-INT8."""
    dtypes = ["fp32"]
    if cpu.has_bf16:
        dtypes.append("bf16")
    if cpu.has_int8:
        dtypes.append("int8")
    return dtypes


def _present(cpu: CpuInfo, names: tuple[str, ...]) -> str:
    return "/".join(_ISA_LABELS[n] for n in names if getattr(cpu, n))


def recommend(cpu: CpuInfo, openvino_available: bool = False) -> Recommendation:
    """Suggest backend, compute/weight dtypes and threads for ``cpu`` (pure: pass ``openvino_available`` in)."""
    reasons: list[str] = []
    if openvino_available:
        backend = "openvino"
        reasons.append("backend openvino: OpenVINO is importable and its CPU plugin is the fast path on Intel CPUs")
    else:
        backend = "torch"
        reasons.append("backend torch: OpenVINO is not importable, so use the ITREX/IPEX (PyTorch) seed path")

    if cpu.has_int8:
        compute = "int8"
        found = _present(cpu, ("avx512_vnni", "avx_vnni", "amx_int8"))
        reasons.append(
            f"compute_dtype int8: {found} gives native int8 dot products (ITREX's int8-compute kernels need them); "
            "whether they beat fp32 compute on your model is measured in notebooks 03 and 04, not assumed"
        )
    elif cpu.has_bf16:
        compute = "bf16"
        found = _present(cpu, ("avx512_bf16", "amx_bf16"))
        reasons.append(f"compute_dtype bf16: {found} present but no VNNI/AMX-INT8 for int8 compute")
    else:
        compute = "fp32"
        reasons.append("compute_dtype fp32: no VNNI/AMX-INT8 (int8) and no AVX512-BF16/AMX-BF16 (bf16) on this CPU")

    if backend == "openvino":
        weight = "int8"  # NNCF's weight formats are int8 / int4 / nf4 ...; int4_fullrange is ITREX's name
        reasons.append(
            "weight_dtype int8 (NNCF, per channel): half the bytes of 16-bit weights with the smallest accuracy loss "
            "of the weight formats; a 4-bit format only where a measurement puts its perplexity within budget on "
            "your model (helpers.advice.pick reads the measured results; this rule is what it falls back to)"
        )
    else:
        weight = DEFAULT_WEIGHT_DTYPE
        reasons.append(
            f"weight_dtype {weight}: ITREX's 4-bit integer weights cut model size and memory traffic per token and, "
            "unlike nf4/fp4, also pair with int8 compute (sym scheme); notebooks 04 and 06 measure what it buys here"
        )
    threads = max(1, cpu.physical_cores)
    smt = (
        f"the other {cpu.logical_cores - threads} logical CPUs are hyperthreads sharing those cores' vector units"
        if cpu.logical_cores > threads
        else "no hyperthreads"
    )
    reasons.append(f"num_threads {threads}: one per physical core; {smt}")
    return Recommendation(
        backend=backend, compute_dtype=compute, weight_dtype=weight, num_threads=threads, reasons=reasons
    )


def _isa_summary(cpu: CpuInfo) -> str:
    tokens = [label for name, label in _ISA_LABELS.items() if getattr(cpu, name)]
    missing = [label for ok, label in ((cpu.avx512f, "AVX-512"), (cpu.has_amx, "AMX")) if not ok]
    text = " ".join(tokens) or "no AVX2"
    return f"{text} (no {', no '.join(missing)})" if missing else text


def summary_line(report: DeviceReport) -> str:
    """One line with CPU, cores, memory, ISA, torch/IPEX and OpenVINO devices; notebooks print it first."""
    cpu = report.cpu
    parts = [
        f"CPU: {cpu.model_name}",
        f"{cpu.physical_cores} physical / {cpu.logical_cores} logical cores",
        f"{cpu.memory_gib:.1f} GiB",
        _isa_summary(cpu),
        f"torch {report.torch_version} x{report.torch_threads} threads" if report.torch_version else "torch: missing",
        f"IPEX {report.ipex_version}" if report.ipex_version else "IPEX: missing",
        f"OpenVINO: {', '.join(report.openvino_devices) or 'no devices'}"
        if report.openvino_available
        else "OpenVINO: missing",
    ]
    return " | ".join(parts)


def report_text(report: DeviceReport, rec: Recommendation | None = None) -> str:
    """Multi-line report: CPU facts, libraries, supported dtypes, then the recommendation with reasons."""
    cpu = report.cpu
    rec = rec or recommend(cpu, openvino_available=report.openvino_available)
    flags = " ".join(f"{name}={'yes' if ok else 'no'}" for name, ok in cpu.isa_flags().items())
    ov = "not available"
    if report.openvino_available:
        ov = f"{report.openvino_version}; devices: {', '.join(report.openvino_devices) or 'none'}"
        if report.openvino_cpu_capabilities:
            ov += f"; CPU capabilities: {' '.join(report.openvino_cpu_capabilities)}"
    torch_text = f"{report.torch_version} ({report.torch_threads} threads)" if report.torch_version else "not available"
    lines = [
        summary_line(report),
        "",
        f"CPU            : {cpu.model_name} ({cpu.vendor})",
        f"Cores          : {cpu.physical_cores} physical / {cpu.logical_cores} logical",
        f"Memory         : {cpu.memory_gib:.1f} GiB",
        f"ISA flags      : {flags}",
        f"torch          : {torch_text}",
        f"IPEX           : {report.ipex_version or 'not available'}",
        f"OpenVINO       : {ov}",
        f"Compute dtypes : {', '.join(supported_compute_dtypes(cpu))}",
        f"Profile        : {machine_profile(rec.num_threads, cpu)} (results/<profile>/ with {rec.num_threads} threads)",
        "",
        "Recommendation",
    ]
    lines += [f"  {f.name:<14}: {getattr(rec, f.name)}" for f in fields(rec) if f.name != "reasons"]
    lines += ["  reasons:"] + [f"    - {r}" for r in rec.reasons]
    if report.notes:
        lines += ["", "Notes"] + [f"  - {n}" for n in report.notes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", action="store_true", help="print only this machine's results profile")
    parser.add_argument(
        "--threads", type=int, default=2, help="thread count of the profile (the benchmarks' default: 2)"
    )
    args = parser.parse_args(argv)
    if args.profile:
        print(machine_profile(args.threads))
        return 0
    print(report_text(detect()))
    return 0
