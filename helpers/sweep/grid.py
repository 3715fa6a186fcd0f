"""Notebooks 00, 01, 04, 06: Sweep grids: a point is (backend, weight_dtype, group_size, scheme, algorithm,
compute_dtype, ratio); a grid is a named, ordered list of points. ``ratio`` < 1 is NNCF's mixed precision (that share of
the linear weights in the 4-bit format, the rest in int8). Run a grid with ``python -m helpers.sweep``; points a backend
cannot run become rows with ``status="unsupported"`` and the reason, never dropped."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from helpers.core.checks import check_choice

BACKENDS = ("torch", "itrex", "openvino")


@dataclass(frozen=True)
class SweepPoint:
    """One configuration to quantize, measure and record."""

    backend: str
    weight_dtype: str
    group_size: int = 32
    scheme: str = "sym"
    algorithm: str = "RTN"
    compute_dtype: str = "fp32"
    ratio: float = 1.0  # NNCF mixed precision: share of linear weights in weight_dtype, the rest int8 (1 = all)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend={self.backend!r} is not supported: allowed values are {', '.join(BACKENDS)}")
        if isinstance(self.ratio, bool) or not isinstance(self.ratio, (int, float)) or not 0 < self.ratio <= 1:
            raise ValueError(f"ratio={self.ratio!r} is not supported: allowed values are numbers in (0, 1]")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SweepPoint:
        """The point a results row was measured for (rows carry the point's fields)."""
        return cls(
            row["backend"],
            row["weight_dtype"],
            row["group_size"],
            row["scheme"],
            row["algorithm"],
            row["compute_dtype"],
            row.get("ratio", 1.0),
        )

    @property
    def key(self) -> str:
        """Stable id used to resume: the same point always gets the same key."""
        if self.backend == "torch" or self.weight_dtype == "fp32":
            return f"{self.backend}/{self.weight_dtype}"
        axes = (self.weight_dtype, f"g{self.group_size}", self.scheme, self.algorithm, self.compute_dtype)
        key = "/".join((self.backend, *axes))
        return key if self.ratio == 1 else f"{key}/r{self.ratio:g}"  # ratio 1 keeps the keys of older results

    @property
    def label(self) -> str:
        """Short label for plots, unique within a grid (the compute dtype shows when it is not the default)."""
        if self.backend == "torch" or self.weight_dtype == "fp32":
            return f"{self.backend} {self.weight_dtype}"
        algo = "" if self.algorithm == "RTN" else f" {self.algorithm}"
        mixed = "" if self.ratio == 1 else f" {self.ratio:.0%}+int8"
        compute = "" if self.compute_dtype in ("fp32", "auto") else f" {self.compute_dtype}-compute"
        group = "per-channel" if self.group_size == -1 else f"g{self.group_size}"
        if self.backend == "openvino" and self.weight_dtype == "int8" and self.group_size != -1:
            group = f"per-channel (g{self.group_size} asked)"  # NNCF int8 has no groups: the IR is per-channel
        return f"{self.backend} {self.weight_dtype} {group} {self.scheme}{algo}{mixed}{compute}"


@dataclass(frozen=True)
class Grid:
    """A named grid: the cartesian product of the axes per backend, plus the fp32 baseline."""

    name: str
    description: str
    itrex_dtypes: tuple[str, ...] = ()
    openvino_dtypes: tuple[str, ...] = ()
    group_sizes: tuple[int, ...] = (32,)
    schemes: tuple[str, ...] = ("sym",)
    algorithms: tuple[str, ...] = ("RTN",)
    compute_dtypes: tuple[str, ...] = ("fp32",)
    baseline: bool = True
    extra: tuple[SweepPoint, ...] = ()  # hand-picked points appended after the product (duplicates dropped)

    def points(self) -> list[SweepPoint]:
        """Expand the grid in a deterministic order (baseline first, then the product, then ``extra``)."""
        points = [SweepPoint("torch", "fp32")] if self.baseline else []
        axes = (self.group_sizes, self.schemes, self.algorithms)
        for dtype, (group, scheme, algo), compute in itertools.product(
            self.itrex_dtypes, itertools.product(*axes), self.compute_dtypes
        ):
            points.append(SweepPoint("itrex", dtype, group, scheme, algo, compute))
        for dtype, (group, scheme, algo) in itertools.product(self.openvino_dtypes, itertools.product(*axes)):
            points.append(SweepPoint("openvino", dtype, group, scheme, algo, "auto"))
        seen = {p.key for p in points}
        for point in self.extra:
            if point.key not in seen:
                points.append(point)
                seen.add(point.key)
        return points


def _itrex(dtype: str, group: int = 32, scheme: str = "sym", algo: str = "RTN", compute: str = "fp32") -> SweepPoint:
    return SweepPoint("itrex", dtype, group, scheme, algo, compute)


def _ov(dtype: str, group: int = 32, scheme: str = "sym", algo: str = "RTN", ratio: float = 1.0) -> SweepPoint:
    return SweepPoint("openvino", dtype, group, scheme, algo, "auto", ratio)


GRIDS: dict[str, Grid] = {
    "smoke": Grid(
        "smoke",
        "3 points in seconds: fp32 baseline, seed nf4 RTN, OpenVINO int4 (tests)",
        itrex_dtypes=("nf4",),
        openvino_dtypes=("int4",),
    ),
    "dtypes": Grid(
        "dtypes",
        "every weight dtype of both backends at g32 sym RTN",
        itrex_dtypes=("int8", "int4_fullrange", "int4_clip", "nf4", "fp4_e2m1"),
        openvino_dtypes=("int8", "int4", "nf4"),
    ),
    "full": Grid(
        "full",
        "39 points (54 min on 2 AVX-512 cores, TEQ 22 min of it; 86 min on the AVX2 EPYC): every dtype at g32 sym "
        "RTN on both backends, then one axis at a time: group size, scheme, algorithm (AWQ, TEQ, GPTQ), int4/int8 "
        "mixed precision and compute dtype, plus the g64 points the QLoRA and NNCF comparisons need",
        itrex_dtypes=("int8", "int4_fullrange", "int4_clip", "nf4", "fp4_e2m1"),
        openvino_dtypes=("int8", "int4", "nf4"),
        extra=(
            # group size
            *(_itrex("int4_clip", g) for g in (64, 128, -1)),
            *(_itrex(d, g) for d in ("nf4", "fp4_e2m1") for g in (64, 128)),
            *(_ov(d, g) for d in ("int4", "nf4") for g in (64, 128)),
            # scheme
            _itrex("int4_clip", 32, "asym"),
            _itrex("int8", 32, "asym"),
            _ov("int4", 32, "asym"),
            _ov("int4", 64, "asym"),
            # algorithm
            _itrex("int4_clip", 32, "sym", "AWQ"),
            _itrex("int4_clip", 32, "sym", "TEQ"),
            _itrex("int4_clip", 32, "sym", "GPTQ"),
            _itrex("nf4", 32, "sym", "AWQ"),
            _ov("int4", 64, "sym", "AWQ"),
            _ov("int4", 64, "sym", "GPTQ"),
            _ov("int4", 64, "sym", "TEQ"),
            _ov("int4", 32, "asym", "AWQ"),  # the most accurate all-4-bit recipe found here: asym g32 + AWQ + SE
            # mixed precision (NNCF ratio): the most sensitive linear layers stay int8. optimum-intel's own int4
            # presets use ratios 0.6-1.0, mostly 0.8; notebook 04 counts ratio >= 0.8 as int4-class
            _ov("int4", 32, "asym", "RTN", 0.8),
            _ov("int4", 32, "asym", "AWQ", 0.8),
            _ov("int4", 32, "asym", "AWQ", 0.6),
            # the backend's own formats (NNCF 2.11 has int8/int4/nf4 only: recorded as unsupported with the reason)
            _ov("mxfp4"),
            # compute dtype (recorded as unsupported where the CPU lacks the ISA)
            _itrex("int4_clip", 32, "sym", "RTN", "int8"),
            _itrex("int4_clip", 32, "sym", "RTN", "bf16"),
            _itrex("int8", 32, "sym", "RTN", "int8"),
        ),
    ),
    "reproduce": Grid(
        "reproduce",
        "19 points, most informative first (the committed run): seed nf4/int4 and OpenVINO int4/nf4, every other "
        "dtype at g32, and the g64, AWQ and GPTQ points notebook 05 compares with published results, and asym g32",
        extra=(
            _itrex("nf4"),
            _ov("int4", 64),
            _itrex("int4_clip"),
            _ov("nf4", 64),
            _ov("int8"),
            _itrex("int8"),
            _itrex("fp4_e2m1", 64),
            _itrex("int4_clip", 64),
            _itrex("nf4", 64),
            _itrex("fp4_e2m1"),
            _itrex("int4_fullrange"),
            _ov("int4"),
            _ov("nf4"),
            _ov("int4", 64, "sym", "AWQ"),
            _itrex("int4_clip", 32, "sym", "AWQ"),
            _ov("int4", 64, "sym", "GPTQ"),
            # asym at g32 is the grid closest to the packaged Q4_1 checkpoint our fp32 baseline was dequantized from
            _ov("int4", 32, "asym"),
            _itrex("int4_clip", 32, "asym"),
        ),
    ),
    "large": Grid(
        "large",
        "the whole cartesian product for unattended runs (hours; run it with --ray on a bigger machine)",
        itrex_dtypes=("int8", "int4_fullrange", "int4_clip", "nf4", "fp4_e2m1"),
        openvino_dtypes=("int8", "int4", "nf4"),
        group_sizes=(32, 64, 128),
        schemes=("sym", "asym"),
        algorithms=("RTN", "AWQ", "TEQ", "GPTQ"),
        compute_dtypes=("fp32", "bf16", "int8"),
    ),
}

GRIDS["workshop"] = Grid(
    "workshop",
    "9 points for a 2-core laptop (~12 min from scratch with the workshop budget): both fp32 runtimes (torch, "
    "OpenVINO), OpenVINO int8 / nf4 g64 / int4 asym g32 with and without AWQ+SE (the NNCF study's four and the AWQ "
    "ordering, notebook 05), the seed path's int4_clip and nf4 (its default), and a row that only explains why it "
    "cannot run (g128 on 576 channels); the other dtypes, compute dtypes and group sizes are in `full` (make "
    "reproduce), the g16 AWQ+SE 80%+int8 recipe in `openvino`",
    extra=(
        SweepPoint("openvino", "fp32", -1),
        _ov("int8"),
        _ov("nf4", 64),
        _ov("int4", 32, "asym"),
        _ov("int4", 32, "asym", "AWQ"),
        _itrex("int4_clip"),
        _itrex("nf4"),
        _itrex("int4_clip", 128),
    ),
)


GRIDS["openvino"] = Grid(
    "openvino",
    "the fp32 baseline and every OpenVINO point of `full`, plus int4 asym g16 candidates (21 points, ~30 min on 2 "
    "cores): today's path on its own, with the smaller groups that buy int4 accuracy back",
    extra=(
        *(p for p in GRIDS["full"].points() if p.backend == "openvino"),
        # smaller groups, the other lever on int4 error (more scale/zero-point bytes): all-4-bit and 80 % + int8
        _ov("int4", 16, "asym"),
        _ov("int4", 16, "asym", "AWQ"),
        _ov("int4", 16, "asym", "AWQ", 0.8),
    ),
)


def get_grid(name: str) -> Grid:
    """A grid by name, with an error listing the names."""
    check_choice("grid", name, GRIDS)
    return GRIDS[name]
