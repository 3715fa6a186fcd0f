"""Every notebook: The CPU from ``/proc/cpuinfo``: its ISA flags, ISA class and machine profile (where its results are
kept)."""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
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
    #: Not ISA class flags (rows do not record them): oneDNN names an AVX512-FP16 CPU without AMX ``avx512_core_fp16``
    #: and one with AMX-FP16 ``avx512_core_amx_fp16``, ISAs the ITREX neural engine refuses
    #: (helpers.rag.embedders.registry).
    avx512_fp16: bool = False
    amx_fp16: bool = False

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
            avx512_fp16="avx512_fp16" in flags,
            amx_fp16="amx_fp16" in flags,
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
