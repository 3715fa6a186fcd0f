"""`make run` (no notebook): Pre-flight for ``make run``: what will run on this CPU, what will be skipped and why, and
how long it should take.

    python -m helpers.tools.preflight            # this machine (``make run`` prints it first)
    python -m helpers.tools.preflight --cpuinfo tests/fixtures/cpuinfo/skylake_i7_6700.txt  # another CPU

The plan is a pure function of the CPU's ISA flags (so it is tested on recorded cpuinfo files); a skipped path is
still recorded by the notebooks as a row with its reason. The expected wall time comes from the notebook wall times
``make run`` recorded for this machine profile, else from another profile's record, else from the catalogue's
estimates; the line says which.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from helpers import device
from helpers.core import genai_timing
from helpers.core.results import ResultsStore
from helpers.core.settings import results_files
from helpers.quant import woq_config as wc
from helpers.tools.notebooks import CATALOGUE, TIMES_KIND

#: make setup from a fresh clone with a warm pip cache (measured 2.6 min); a cold pip cache downloads ~3 GB more.
SETUP_MINUTES = 3.0


@dataclass(frozen=True)
class PlanRow:
    """One path of the cookbook on this CPU."""

    notebook: str
    path: str
    runs: bool
    why: str


def plan(flags: frozenset[str]) -> list[PlanRow]:
    """Every CPU-dependent path of ``make run`` for a CPU with these ISA flags (``/proc/cpuinfo`` spelling)."""
    bf16 = bool(flags & {"avx512_bf16", "amx_bf16"})
    rows = [
        PlanRow("01", "QuantizedBiEncoderEmbeddings (IPEX int8 static)", True, "fp32/AVX2 kernels at least"),
        PlanRow(
            "01",
            "QuantizedBgeEmbeddings (ITREX neural engine)",
            "avx512f" in flags,
            "needs AVX-512F (the engine library dies with SIGILL without it)" if "avx512f" not in flags else "AVX-512F",
        ),
        PlanRow("01", "OpenVINO embedders fp32 / int8", True, "OpenVINO CPU plugin"),
        PlanRow(
            "01",
            "OpenVINO embedder with bf16 inference precision",
            bf16,
            "AVX512-BF16 or AMX-BF16" if bf16 else "needs AVX512-BF16 or AMX-BF16 (OpenVINO would compute in fp32)",
        ),
    ]
    for row in wc.compute_dtype_support(flags):
        rows.append(
            PlanRow(
                "03/04",
                f"WeightOnlyQuantPipeline compute_dtype={row['compute_dtype']} ({row['weight_dtype']} weights)",
                row["runs here"],
                row["why not"] or "native kernels: " + " or ".join(wc.ISA_REQUIREMENTS[row["compute_dtype"]]),
            )
        )
    rows += [
        PlanRow("03/04/06", "OpenVINO int8 / int4 (optimum-intel, GenAI 2024.2)", True, "any x86-64 with AVX2"),
        PlanRow(
            "03/04/06",
            "OpenVINO default inference precision",
            True,
            "bf16 here (the cookbook sets f32 for int4 LLMs: bf16 derails long prompts)" if bf16 else "f32 here",
        ),
    ]
    return rows


def extras() -> list[PlanRow]:
    """Paths that depend on what is installed, not on the CPU: the today env (GenAI 2026), the llama.cpp peer."""
    import importlib.util

    label = "today env (.venv-today: OpenVINO GenAI 2026, NNCF 3.4, optimum-intel 2.2)"
    try:
        genai_timing.genai_python("2026")
        genai = PlanRow("03/06", label, True, "installed by make setup")
    except FileNotFoundError as err:
        genai = PlanRow("03/06", label, False, str(err))
    llama = importlib.util.find_spec("llama_cpp") is not None
    reason = "installed" if llama else "optional extra (requirements-peers.txt): committed reference rows are shown"
    return [genai, PlanRow("04/06", "llama.cpp peer (llama-cpp-python)", llama, reason)]


def expected_minutes(profile: str, results_root: str | Path | None = None) -> tuple[float, str]:
    """Expected ``make run`` minutes (setup included) here, and where the figure comes from."""

    files = results_files(TIMES_KIND, results_root)
    source = profile if profile in files else next(iter(files), None)
    if source is not None:
        rows = ResultsStore(files[source]).latest()
        if all(spec.name in rows for spec in CATALOGUE):
            total = sum(rows[spec.name]["seconds"] for spec in CATALOGUE) / 60 + SETUP_MINUTES
            where = "measured on this profile" if source == profile else f"measured on {source}, another profile"
            return total, f"{where} (notebooks) + ~{SETUP_MINUTES:.0f} min setup"
    total = sum(spec.minutes_full for spec in CATALOGUE) + SETUP_MINUTES
    return total, f"the catalogue's estimates + ~{SETUP_MINUTES:.0f} min setup (no complete recorded run)"


def report_text(cpu: device.CpuInfo, num_threads: int = 2, with_extras: bool = True) -> str:
    """The pre-flight table for ``cpu``."""
    profile = device.machine_profile(num_threads, cpu)
    rows = plan(cpu.present_flags()) + (extras() if with_extras else [])
    width = max(len(r.path) for r in rows)
    lines = [f"Pre-flight for make run on {cpu.model_name} (profile {profile})", ""]
    lines += [f"  {r.notebook:8s} {'runs   ' if r.runs else 'SKIPPED'}  {r.path:{width}s}  {r.why}" for r in rows]
    minutes, source = expected_minutes(profile)
    lines += ["", f"Expected wall time of make run here: ~{minutes:.0f} min ({source})."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpuinfo", type=Path, help="a recorded /proc/cpuinfo instead of this machine's")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    cpu = device.CpuInfo.from_host(args.cpuinfo) if args.cpuinfo else device.CpuInfo.from_host()
    print(report_text(cpu, args.threads, with_extras=args.cpuinfo is None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
