"""Every notebook: What CPU is this, which Intel libraries are importable, and which quantization settings fit it.

Light at import (stdlib + psutil). ``torch``, ``openvino`` and IPEX are imported lazily inside
:func:`detect`; a missing or broken library is recorded in the report instead of raising.

The machine **profile** (``<cpu slug>-<isa class>-t<threads>``, e.g. ``amd-epyc-avx2-t2``) names where results
are kept (``results/<profile>/``): two CPUs with the same name but different ISA run different kernels, so their
numbers never share a file. :func:`machine_profile` is the one place it is computed.

``python -m helpers.device`` prints the full report with the recommendation and its reasons;
``python -m helpers.device --profile [--threads N]`` prints only the profile.
"""

from __future__ import annotations

from helpers.device.cpu import (
    _ISA_LABELS,
    DEFAULT_WEIGHT_DTYPE,
    ISA_CLASSES,
    ISA_FLAGS,
    PROFILE_ENV,
    CpuInfo,
    cpu_slug,
    is_profile,
    isa_class,
    machine_profile,
)
from helpers.device.probe import (
    DeviceReport,
    Recommendation,
    detect,
)
from helpers.device.recommend import (
    main,
    recommend,
    report_text,
    summary_line,
    supported_compute_dtypes,
)

__all__ = [
    "CpuInfo",
    "DEFAULT_WEIGHT_DTYPE",
    "DeviceReport",
    "ISA_CLASSES",
    "ISA_FLAGS",
    "PROFILE_ENV",
    "Recommendation",
    "_ISA_LABELS",
    "cpu_slug",
    "detect",
    "is_profile",
    "isa_class",
    "machine_profile",
    "main",
    "recommend",
    "report_text",
    "summary_line",
    "supported_compute_dtypes",
]
