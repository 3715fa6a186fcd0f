"""Notebooks 00, 01, 02, 04, 05, 06: machine profiles of results rows (a results file holds one profile; two never
mix) and the nearest measured profile to a machine."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from helpers import device
from helpers.core.settings import results_files, results_path

_PROFILE_PARTS = re.compile(rf"(?P<cpu>.+)-(?P<isa>{'|'.join(device.ISA_CLASSES)})-t(?P<threads>[0-9]+)")


def check_profile(df: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """Give every row a ``profile`` (rows written without one take their ``results/<profile>/`` folder's) and refuse
    a file whose rows belong to another profile than its folder (or to several): their numbers must never mix."""
    path = Path(path)
    folder = path.parent.name if device.is_profile(path.parent.name) else None
    if df.empty:
        return df
    df["profile"] = df["profile"].fillna(folder or "unknown") if "profile" in df else folder or "unknown"
    allowed = folder or str(df["profile"].iloc[0])
    other = sorted(set(df["profile"]) - {allowed})
    if other:
        raise ValueError(
            f"profile={other[0]!r} in {path} is invalid: a results file holds rows of one machine profile; allowed "
            f"values are {allowed!r} (measure another machine into its own results/<profile>/ folder)"
        )
    return df


def _profiles(df: pd.DataFrame | dict) -> set[str]:
    """The profiles a frame's rows (or one row) name; empty for rows written without one."""
    if isinstance(df, dict):
        return {df["profile"]} if df.get("profile") else set()
    return set(df["profile"].dropna()) if "profile" in df else set()


def refuse_mixed_profiles(a: pd.DataFrame | dict, b: pd.DataFrame | dict, what: str) -> None:
    """ValueError when ``b``'s rows come from another machine profile than ``a``'s (one verdict, one profile)."""
    if _profiles(a) and _profiles(b) and _profiles(a) != _profiles(b):
        raise ValueError(
            f"profile={sorted(_profiles(b))} of the {what} is invalid: one verdict compares rows of one machine "
            f"profile; allowed values are {sorted(_profiles(a))}"
        )


@dataclass(frozen=True)
class ProfileRun:
    """One profile's results file of one kind, read with :func:`results_frame`."""

    profile: str
    path: Path
    mine: bool  # this machine's file; else a committed reference
    frame: pd.DataFrame = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        """``<profile> (this machine)`` or ``<profile> (reference)``: the label of its rows in tables and plots."""
        return f"{self.profile} ({'this machine' if self.mine else 'reference'})"

    def beside(self, kind: str) -> Path:
        """The ``kind`` results file of the same profile and results folder (its peer, its second run)."""
        return results_path(kind, profile=self.profile, root=self.path.parent.parent)


def profile_parts(profile: str) -> tuple[str, str, int]:
    """``(cpu slug, ISA class, threads)`` of a profile name; ValueError naming the allowed form otherwise."""
    match = _PROFILE_PARTS.fullmatch(profile)
    if match is None:
        raise ValueError(
            f"profile={profile!r} is invalid: allowed values are <cpu slug>-<isa class>-t<threads> with an isa class "
            f"in {', '.join(device.ISA_CLASSES)}"
        )
    return match["cpu"], match["isa"], int(match["threads"])


def nearest_profile(profile: str, measured: list[str]) -> str | None:
    """The profile itself when measured, else the measured one of the same ISA class with the nearest thread count
    (then the same CPU, then the name, to break ties); None when no profile of that class is measured."""
    cpu, isa, threads = profile_parts(profile)
    same_class = [p for p in measured if profile_parts(p)[1] == isa]
    if not same_class:
        return None
    ranked = sorted(
        same_class,
        key=lambda p: (abs(profile_parts(p)[2] - threads), profile_parts(p)[0] != cpu, p),
    )
    return ranked[0]


def nearest_results(kind: str, profile: str, root: str | Path | None = None) -> tuple[str, Path] | None:
    """``profile``'s committed ``kind`` results file, else the nearest measured profile's (:func:`nearest_profile`):
    ``(that profile, its file)``; None when no profile of the same ISA class has one."""
    files = results_files(kind, root)
    at = nearest_profile(profile, list(files))
    return None if at is None else (at, files[at])
