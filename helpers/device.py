"""What CPU is this, which Intel libraries are importable, and which quantization settings fit it.

Light at import (stdlib + psutil). ``torch``, ``openvino`` and IPEX are imported lazily inside
:func:`detect`; a missing or broken library is recorded in the report instead of raising.

The machine **profile** (``<cpu slug>-<isa class>-t<threads>``, e.g. ``amd-epyc-avx2-t2``) names where results
are kept (``results/<profile>/``): two CPUs with the same name but different ISA run different kernels, so their
numbers never share a file. :func:`machine_profile` is the one place it is computed.

``python -m helpers.device`` prints the full report with the recommendation and its reasons;
``python -m helpers.device --profile [--threads N]`` prints only the profile.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import re
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path

import psutil

#: ``/proc/cpuinfo`` flags that decide the kernels ITREX/IPEX/OpenVINO can use.
ISA_FLAGS: tuple[str, ...] = (
    "avx2",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_bf16",
    "amx_int8",
    "amx_tile",
)

#: Short labels for :func:`summary_line`, in display order.
_ISA_LABELS: dict[str, str] = {
    "avx2": "AVX2",
    "avx512f": "AVX512F",
    "avx512_vnni": "AVX512-VNNI",
    "avx_vnni": "AVX-VNNI",
    "avx512_bf16": "AVX512-BF16",
    "amx_bf16": "AMX-BF16",
    "amx_int8": "AMX-INT8",
}

#: Weight dtype suggested for the seed ``WeightOnlyQuantConfig`` (4-bit symmetric integer, full range).
DEFAULT_WEIGHT_DTYPE = "int4_fullrange"

_GIB = 2**30

#: Environment variable that replaces this machine's profile (tests only; see :func:`machine_profile`).
PROFILE_ENV = "COOKBOOK_PROFILE"
#: ISA classes, best first: the widest int8/bf16 kernels a CPU can run (``base``: no AVX2, or not x86).
ISA_CLASSES: tuple[str, ...] = ("amx", "avx512-bf16", "avx512-vnni", "avx512", "avx2", "base")
_PROFILE_RE = re.compile(rf"[a-z0-9]+(?:-[a-z0-9]+)*?-({'|'.join(ISA_CLASSES)})-t[1-9][0-9]*")


def _parse_blocks(text: str) -> list[dict[str, str]]:
    """Split ``/proc/cpuinfo`` text into one ``{key: value}`` dict per logical CPU."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition(":")
        if sep:
            current[key.strip()] = value.strip()
    if current:
        blocks.append(current)
    return blocks


@dataclass(frozen=True)
class CpuInfo:
    """CPU model, core counts, memory and the ISA flags relevant to quantized inference."""

    model_name: str
    vendor: str
    physical_cores: int
    logical_cores: int
    memory_gib: float
    avx2: bool = False
    avx512f: bool = False
    avx512_vnni: bool = False
    avx_vnni: bool = False
    avx512_bf16: bool = False
    amx_bf16: bool = False
    amx_int8: bool = False
    amx_tile: bool = False

    @classmethod
    def from_cpuinfo_text(cls, text: str, mem_bytes: int | None = None) -> CpuInfo:
        """Build from ``/proc/cpuinfo`` text; ``mem_bytes`` defaults to this machine's total RAM."""
        blocks = [b for b in _parse_blocks(text) if "processor" in b]
        first = blocks[0] if blocks else {}
        flags = set(first.get("flags", "").split())
        logical = len(blocks) or psutil.cpu_count(logical=True) or os.cpu_count() or 1
        pairs = {(b["physical id"], b["core id"]) for b in blocks if "physical id" in b and "core id" in b}
        physical = len(pairs) or psutil.cpu_count(logical=False) or os.cpu_count() or 1
        if mem_bytes is None:
            mem_bytes = psutil.virtual_memory().total
        return cls(
            model_name=first.get("model name") or platform.processor() or "unknown CPU",
            vendor=first.get("vendor_id", "unknown"),
            physical_cores=physical,
            logical_cores=max(logical, physical),
            memory_gib=round(mem_bytes / _GIB, 1),
            **{name: name in flags for name in ISA_FLAGS},
        )

    @classmethod
    def from_host(cls, path: str | Path = "/proc/cpuinfo") -> CpuInfo:
        """Read this machine's CPU; works (without ISA flags) where ``/proc/cpuinfo`` is missing."""
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        return cls.from_cpuinfo_text(text)

    @property
    def has_vnni(self) -> bool:
        """True with AVX512-VNNI or AVX-VNNI (int8 dot products)."""
        return self.avx512_vnni or self.avx_vnni

    @property
    def has_amx(self) -> bool:
        """True when any AMX flag is present."""
        return self.amx_tile or self.amx_bf16 or self.amx_int8

    @property
    def has_bf16(self) -> bool:
        """True where bf16 compute runs natively (AVX512-BF16 or AMX-BF16)."""
        return self.avx512_bf16 or self.amx_bf16

    @property
    def has_int8(self) -> bool:
        """True where int8 compute runs natively (VNNI or AMX-INT8)."""
        return self.has_vnni or self.amx_int8

    def isa_flags(self) -> dict[str, bool]:
        """The ISA flags as ``{flag: present}``, in :data:`ISA_FLAGS` order."""
        return {name: getattr(self, name) for name in ISA_FLAGS}

    def present_flags(self) -> frozenset[str]:
        """Names of the ISA flags this CPU has (``/proc/cpuinfo`` spelling, e.g. ``avx512_vnni``)."""
        return frozenset(name for name, present in self.isa_flags().items() if present)


def isa_class(cpu: CpuInfo) -> str:
    """The best :data:`ISA_CLASSES` entry this CPU's flags allow (AMX > AVX512-BF16 > AVX512-VNNI > AVX-512 > AVX2)."""
    if cpu.amx_int8 or cpu.amx_bf16:
        return "amx"
    if cpu.avx512_bf16:
        return "avx512-bf16"
    if cpu.avx512_vnni:
        return "avx512-vnni"
    if cpu.avx512f:
        return "avx512"
    return "avx2" if cpu.avx2 else "base"


def cpu_slug(model_name: str) -> str:
    """File-name slug of a CPU model: ``Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz`` -> ``intel-xeon-gold-6230``."""
    name = re.sub(r"\((r|tm)\)|@.*$|\b(cpu|processor)\b", " ", model_name.lower())
    return re.sub(r"[^a-z0-9]+", "-", name).strip("-")[:40].strip("-") or "cpu"


def is_profile(name: str) -> bool:
    """True for a machine profile name ``<cpu slug>-<isa class>-t<threads>`` (e.g. a ``results/`` folder)."""
    return _PROFILE_RE.fullmatch(name) is not None


def machine_profile(num_threads: int, cpu: CpuInfo | None = None) -> str:
    """``<cpu slug>-<isa class>-t<threads>`` of ``cpu`` (default: this machine), e.g. ``amd-epyc-avx2-t2``.

    ``$COOKBOOK_PROFILE`` replaces it (tests only: it lets a test read the committed results of another machine).
    """
    override = os.environ.get(PROFILE_ENV)
    if override:
        if not is_profile(override):
            raise ValueError(
                f"{PROFILE_ENV}={override!r} is invalid: allowed values are <cpu slug>-<isa class>-t<threads> with an "
                f"isa class in {', '.join(ISA_CLASSES)} (e.g. amd-epyc-avx2-t2)"
            )
        return override
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise ValueError(f"num_threads={num_threads!r} is invalid: allowed values are integers >= 1")
    cpu = cpu or CpuInfo.from_host()
    return f"{cpu_slug(cpu.model_name)}-{isa_class(cpu)}-t{num_threads}"


@dataclass
class DeviceReport:
    """The CPU plus what the installed Intel/PyTorch libraries report; ``None`` means not importable."""

    cpu: CpuInfo
    torch_version: str | None = None
    torch_threads: int | None = None
    openvino_version: str | None = None
    openvino_devices: list[str] = field(default_factory=list)
    openvino_cpu_capabilities: list[str] = field(default_factory=list)
    ipex_version: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def openvino_available(self) -> bool:
        """True when ``openvino`` imported and a ``Core`` could be created."""
        return self.openvino_version is not None


@dataclass
class Recommendation:
    """Backend, dtypes and thread count suggested for a CPU, with one reason per choice."""

    backend: str
    compute_dtype: str
    weight_dtype: str
    num_threads: int
    reasons: list[str] = field(default_factory=list)


def _error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _probe_torch(report: DeviceReport) -> None:
    try:
        import torch

        report.torch_version = str(torch.__version__)
        report.torch_threads = int(torch.get_num_threads())
    except Exception as exc:  # noqa: BLE001 - any failure just means "no torch"
        report.notes.append(f"torch not usable ({_error(exc)})")


def _probe_openvino(report: DeviceReport) -> None:
    try:
        import openvino

        core_cls = getattr(openvino, "Core", None)
        if core_cls is None:
            from openvino.runtime import Core as core_cls
        core = core_cls()
        version = getattr(openvino, "__version__", None)
        if version is None:
            from openvino.runtime import get_version

            version = get_version()
        report.openvino_version = str(version)
        report.openvino_devices = [str(d) for d in core.available_devices]
    except Exception as exc:  # noqa: BLE001
        report.notes.append(f"OpenVINO not usable ({_error(exc)})")
        return
    if "CPU" in report.openvino_devices:
        try:
            caps = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
            report.openvino_cpu_capabilities = [str(c) for c in caps]
        except Exception as exc:  # noqa: BLE001
            report.notes.append(f"OpenVINO CPU capabilities unreadable ({_error(exc)})")


def _probe_ipex(report: DeviceReport) -> None:
    sink = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            import intel_extension_for_pytorch as ipex

        report.ipex_version = str(getattr(ipex, "__version__", "unknown"))
    except Exception as exc:  # noqa: BLE001 - IPEX fails on mismatched torch builds; not fatal
        report.notes.append(f"IPEX not usable ({_error(exc)})")


def detect() -> DeviceReport:
    """Probe this machine: CPU, torch (version, threads), OpenVINO (devices, CPU capabilities), IPEX."""
    report = DeviceReport(cpu=CpuInfo.from_host())
    _probe_torch(report)
    _probe_openvino(report)
    if report.torch_version is not None:
        _probe_ipex(report)
    else:
        report.notes.append("IPEX not probed (needs torch)")
    return report


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
        reasons.append(f"compute_dtype int8: {found} gives native int8 dot products, the fastest WOQ kernels")
    elif cpu.has_bf16:
        compute = "bf16"
        found = _present(cpu, ("avx512_bf16", "amx_bf16"))
        reasons.append(f"compute_dtype bf16: {found} present but no VNNI/AMX-INT8 for int8 compute")
    else:
        compute = "fp32"
        reasons.append("compute_dtype fp32: no VNNI/AMX-INT8 (int8) and no AVX512-BF16/AMX-BF16 (bf16) on this CPU")

    reasons.append(
        f"weight_dtype {DEFAULT_WEIGHT_DTYPE}: 4-bit integer weights cut model size and memory traffic per token and, "
        "unlike nf4/fp4, also pair with int8 compute (sym scheme); how much faster decode gets depends on what bounds "
        "it on this model and runtime (notebooks 04 and 06 measure it)"
    )
    threads = max(1, cpu.physical_cores)
    smt = (
        f"the other {cpu.logical_cores - threads} logical CPUs are hyperthreads sharing those cores' vector units"
        if cpu.logical_cores > threads
        else "no hyperthreads"
    )
    reasons.append(f"num_threads {threads}: one per physical core; {smt}")
    return Recommendation(
        backend=backend, compute_dtype=compute, weight_dtype=DEFAULT_WEIGHT_DTYPE, num_threads=threads, reasons=reasons
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


if __name__ == "__main__":
    raise SystemExit(main())
