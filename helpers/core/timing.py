"""Notebooks 00, 01, 02, 03, 04, 06: Honest timing: fixed threads, warm-up, several iterations, medians and p90, peak
RSS, machine load.

Benchmarks write results files; tests never assert on timings.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from helpers import device
from helpers.core.settings import quiet_known_noise, set_threads


@dataclass(frozen=True)
class TimingStats:
    """Wall-clock seconds of each measured iteration (warm-up excluded) and their summary."""

    seconds: tuple[float, ...]
    warmup: int

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p90(self) -> float:
        return float(np.percentile(self.seconds, 90))

    @property
    def iterations(self) -> int:
        return len(self.seconds)

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        """Flat dict for a results row: median, p90, min, iterations."""
        return {
            f"{prefix}median_s": self.median,
            f"{prefix}p90_s": self.p90,
            f"{prefix}min_s": min(self.seconds),
            f"{prefix}iterations": self.iterations,
        }


def run_in_fresh_process(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a freshly spawned process (clean thread pools, no state from earlier runs).

    A worker that dies (SIGILL in a native library, OOM kill) raises ``BrokenProcessPool`` here instead of hanging,
    so callers can record it as a failure. ``fn`` and ``args`` must be picklable.
    """
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"), initializer=_quiet_worker) as pool:
        return pool.submit(fn, *args).result()


def _quiet_worker() -> None:
    """Worker start: known third-party warnings and progress bars stay out of the notebook that started it (the
    kernel captures its children's output)."""

    quiet_known_noise()


def time_call(fn: Callable[[], Any], *, warmup: int = 1, iterations: int = 5) -> TimingStats:
    """Run ``fn`` ``warmup`` times untimed, then ``iterations`` times timed with ``perf_counter``."""
    if iterations < 1:
        raise ValueError(f"iterations={iterations!r} is invalid: allowed values are integers >= 1")
    if warmup < 0:
        raise ValueError(f"warmup={warmup!r} is invalid: allowed values are integers >= 0")
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return TimingStats(tuple(seconds), warmup)


def triad_gb_s(threads: int, megabytes: int = 256, repeats: int = 12) -> list[float]:
    """GB/s of ``a = b + 2.5 * c`` over three fp32 arrays of ``megabytes`` each (24 bytes moved per element, as
    STREAM counts), ``repeats`` times after one warm-up, torch on ``threads`` threads: the memory bandwidth a decode
    step's weight reads are bounded by."""
    import torch

    if threads < 1 or megabytes < 8 or repeats < 3:
        raise ValueError(f"threads={threads}, megabytes={megabytes}, repeats={repeats}: allowed >= 1, >= 8, >= 3")
    set_threads(threads)
    torch.set_num_threads(threads)
    n = megabytes * 2**20 // 4
    a, b, c = torch.empty(n), torch.rand(n), torch.rand(n)
    samples = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        torch.add(b, c, alpha=2.5, out=a)
        seconds = time.perf_counter() - start
        if i:
            samples.append(3 * 4 * n / seconds / 1e9)
    return samples


def peak_rss_mb(status: str | None = None) -> float:
    """Peak resident set size of this process so far, in MiB: ``VmHWM`` of ``/proc/self/status`` (``status``: that
    file's text, for tests). Not ``ru_maxrss``: Linux keeps it across ``execve``, so a worker spawned from a 2 GB
    notebook kernel would report the kernel's 2 GB whatever it loads itself."""
    if status is None:
        path = Path("/proc/self/status")
        status = path.read_text() if path.is_file() else ""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0  # kB
    import resource  # not Linux: the rusage figure, with its caveat

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    """Current resident set size of this process, in MiB."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


QUIET_IDLE_PERCENT = 80.0  # below this CPU idle share before a timing, the machine counts as busy


def is_quiet(cpu_idle_percent: float) -> bool:
    """Was the CPU quiet enough for a timing (idle share at least :data:`QUIET_IDLE_PERCENT`)?"""
    return cpu_idle_percent >= QUIET_IDLE_PERCENT


@dataclass
class MachineLoad:
    """CPU load seen just before a measurement: 2-core timings are worthless when another process is busy."""

    loadavg_1min: float
    cpu_idle_percent: float
    logical_cpus: int
    notes: list[str] = field(default_factory=list)

    @property
    def quiet(self) -> bool:
        return is_quiet(self.cpu_idle_percent)


def machine_load(sample_seconds: float = 0.5) -> MachineLoad:
    """Measure CPU idle over a short window plus the 1-minute load average."""
    import psutil

    times = psutil.cpu_times_percent(interval=sample_seconds)
    load = MachineLoad(os.getloadavg()[0], float(times.idle), os.cpu_count() or 1)
    if not load.quiet:
        load.notes.append(f"machine busy: {load.cpu_idle_percent:.0f}% idle; timings are pessimistic and noisy")
    return load


def profile_record(num_threads: int) -> dict[str, Any]:
    """Which machine profile a row belongs to: ``profile`` (its ``results/<profile>/`` folder), ``isa_class`` and the
    ISA flags that decide the kernels (``isa_flags``, ``/proc/cpuinfo`` spelling). Every results row carries these."""

    cpu = device.CpuInfo.from_host()
    return {
        "profile": device.machine_profile(num_threads, cpu),
        "isa_class": device.isa_class(cpu),
        "isa_flags": sorted(cpu.present_flags(), key=device.ISA_FLAGS.index),
    }


def environment_record(num_threads: int) -> dict[str, Any]:
    """What a results row needs to say where and how it was measured: CPU, profile (:func:`profile_record`),
    threads, Python, machine load just before, time."""

    load = machine_load()
    info = device.CpuInfo.from_host()
    return {
        "cpu": info.model_name,
        "physical_cores": info.physical_cores,
        **profile_record(num_threads),
        "num_threads": num_threads,
        "python": platform.python_version(),
        "loadavg_1min": round(load.loadavg_1min, 2),
        "cpu_idle_percent": round(load.cpu_idle_percent, 1),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def as_row(**parts: Any) -> dict[str, Any]:
    """Merge dicts and dataclasses into one flat results row."""
    row: dict[str, Any] = {}
    for key, value in parts.items():
        if hasattr(value, "__dataclass_fields__"):
            value = asdict(value)
        if isinstance(value, dict):
            row.update(value)
        else:
            row[key] = value
    return row
