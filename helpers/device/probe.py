"""Every notebook: Which Intel libraries are importable and what they see (torch, OpenVINO devices, IPEX), without
raising."""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass, field

from helpers.device.cpu import CpuInfo


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
