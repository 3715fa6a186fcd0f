"""helpers.rag.embedders: registry errors (fast) and every embedder this machine can run (slow, cached builds)."""

from __future__ import annotations

import importlib.util
import random
import subprocess

import numpy as np
import pytest

from helpers.core.cache import read_manifest
from helpers.device import CpuInfo
from helpers.rag import embedders
from helpers.rag.embedders import (
    EMBEDDERS,
    EMBEDDING_DIM,
    EmbedderUnavailable,
    MissingPackagesError,
    build_artifact,
    build_embedder,
    embed_matrix,
    model_artifact_path,
)

PROBE_TEXTS = [
    "How do I read a text file line by line in Python?",
    "Dictionaries map hashable keys to arbitrary values.",
    "The global interpreter lock lets only one thread execute bytecode at a time.",
]


def generated_sentences(n: int = 48, seed: int = 0) -> list[str]:
    """Deterministic, varied programming-flavoured sentences of different lengths (the test calibration set)."""
    rng = random.Random(seed)
    subjects = (
        "the parser|a generator|the garbage collector|each worker thread|the import system|a context manager|"
        "the event loop|this dictionary|an iterator|the standard library|a decorator|the compiler"
    ).split("|")
    verbs = "reads|releases|yields|closes|caches|validates|serializes|imports|raises|returns".split("|")
    objects = (
        "the configuration file|a lock|the next value|the socket|every key|a list of integers|an exception|"
        "the module object|a temporary directory|unicode strings|the HTTP response"
    ).split("|")
    tails = (
        "before the interpreter exits|when the buffer is full|if the timeout expires|unless an error occurs|"
        "so that callers never block|after all tasks are done|for each line of input|in constant time"
    ).split("|")
    questions = ["How do I make", "Why does", "When should", "Can"]

    def clause() -> str:
        return f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}"

    out = []
    for i in range(n):
        if i % 3 == 0:
            out.append(f"{clause().capitalize()} {rng.choice(tails)}.")
        elif i % 3 == 1:
            out.append(
                f"{clause().capitalize()} {rng.choice(tails)}. Then {clause()}, and {clause()} {rng.choice(tails)}."
            )
        else:
            verb = rng.choice(verbs).removesuffix("s")
            out.append(f"{rng.choice(questions)} {rng.choice(subjects)} {verb} {rng.choice(objects)}?")
    return out


#: Tiny generated calibration set: 48 sentences (the notebooks calibrate on Python-docs paragraphs instead).
CALIBRATION = generated_sentences()


def test_unknown_name_lists_allowed_names():
    with pytest.raises(ValueError) as info:
        build_embedder("bge-large", 2)
    message = str(info.value)
    assert "'bge-large'" in message
    for name in EMBEDDERS:
        assert name in message
    with pytest.raises(ValueError, match="allowed names"):
        model_artifact_path("nope")


def test_registry_specs_are_consistent():
    assert {spec.family for spec in EMBEDDERS.values()} <= {"baseline", "seed", "openvino"}
    assert [n for n, s in EMBEDDERS.items() if s.family == "baseline"] == ["hf-fp32"]
    for name, spec in EMBEDDERS.items():
        assert spec.name == name
        assert spec.langchain_class.startswith("langchain_community.embeddings.")
        assert spec.packages and spec.precision and spec.description
    rows = embedders.embedder_table()
    assert [row["name"] for row in rows] == list(EMBEDDERS)


def test_missing_package_says_what_to_pip_install(monkeypatch):
    real_find_spec = importlib.util.find_spec

    def fake_find_spec(name, *args, **kwargs):
        return None if name in ("nncf", "openvino") else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", fake_find_spec)
    with pytest.raises(MissingPackagesError) as info:
        build_embedder("ov-int8-static", 2, calibration_texts=CALIBRATION)
    message = str(info.value)
    assert "'ov-int8-static'" in message
    assert "pip install openvino==2024.2.0 nncf==2.11.0" in message
    assert isinstance(info.value, ImportError)
    assert embedders.missing_packages("hf-fp32") == []  # only the patched packages count as missing


def test_calibrated_embedders_require_texts():
    for name in ("ov-int8-static", "ipex-int8-bi-encoder"):
        if embedders.missing_packages(name):
            continue
        with pytest.raises(ValueError, match="calibration_texts"):
            build_embedder(name, 2)
        with pytest.raises(ValueError, match="calibration_texts"):
            build_embedder(name, 2, calibration_texts="one string is not a list")


def test_bad_thread_count_is_rejected():
    with pytest.raises(ValueError, match="num_threads"):
        build_embedder("hf-fp32", 0)


def test_itrex_refuses_an_avx512_fp16_cpu_without_amx(monkeypatch):
    if embedders.missing_packages("itrex-bge-engine"):
        pytest.skip("ITREX not installed")
    flags = "avx2 avx512f avx512bw avx512_vnni avx512_bf16 avx512_fp16"  # a Xeon whose AMX the hypervisor hides
    xeon = CpuInfo.from_cpuinfo_text(f"processor\t: 0\nflags\t\t: {flags}\n", mem_bytes=2**33)
    monkeypatch.setattr(embedders.registry, "_cpu", lambda: xeon)
    with pytest.raises(EmbedderUnavailable, match="avx512_core_fp16"):
        build_embedder("itrex-bge-engine", 2)
    with_amx = CpuInfo.from_cpuinfo_text(f"processor\t: 0\nflags\t\t: {flags} amx_bf16 amx_tile\n", mem_bytes=2**33)
    monkeypatch.setattr(embedders.registry, "_cpu", lambda: with_amx)
    assert "avx512_core_fp16" not in (embedders.unavailable_reason("itrex-bge-engine") or "")
    granite_rapids = CpuInfo.from_cpuinfo_text(
        f"processor\t: 0\nflags\t\t: {flags} amx_bf16 amx_int8 amx_tile amx_fp16\n", mem_bytes=2**33
    )
    monkeypatch.setattr(embedders.registry, "_cpu", lambda: granite_rapids)
    assert "avx512_core_amx_fp16" in (embedders.unavailable_reason("itrex-bge-engine") or "")


@pytest.mark.parametrize(
    ("isa", "refused_as"),
    [
        (0x27, None),
        (0x67, None),
        (0xE7, None),
        (0xFEF, None),
        (0x7, "avx2"),
        (0x1EF, "avx512_core_fp16"),
        (0x1FEF, "avx512_core_amx_fp16"),
        (0x12345, "does not know"),
    ],
)
def test_itrex_engine_isa_check_matches_the_engines_own_list(isa, refused_as):
    problem = embedders.registry.itrex_engine_isa_problem(isa)
    if refused_as is None:
        assert problem is None
    else:
        assert refused_as in problem and "avx512_core_bf16" in problem


@pytest.mark.parametrize(
    ("flags", "isa"),
    [
        ("avx2 fma", 0x7),
        ("avx2 avx_vnni", 0xF),
        ("avx2 avx512f avx512bw", 0x27),
        ("avx2 avx512f avx512_vnni", 0x67),
        ("avx2 avx512f avx512_vnni avx512_bf16", 0xE7),  # e.g. AMD Zen 4
        ("avx2 avx512f avx512_vnni avx512_bf16 avx512_fp16", 0x1EF),  # a Xeon whose AMX the hypervisor hides
        ("avx2 avx512f avx512_vnni avx512_bf16 avx512_fp16 amx_bf16 amx_int8 amx_tile", 0xFEF),
        ("avx2 avx512f avx512_vnni avx512_bf16 avx512_fp16 amx_bf16 amx_int8 amx_tile amx_fp16", 0x1FEF),
    ],
)
def test_onednn_isa_predicted_from_recorded_flags(flags, isa):
    cpu = CpuInfo.from_cpuinfo_text(f"processor\t: 0\nflags\t\t: {flags}\n", mem_bytes=2**33)
    assert embedders.registry.predicted_onednn_isa(cpu) == isa


def test_itrex_probe_agrees_with_the_isa_predicted_from_flags():
    """The child-process probe (the engine's own oneDNN) and the flag prediction give the same verdict here."""
    if embedders.missing_packages("itrex-bge-engine"):
        pytest.skip("ITREX not installed")
    cpu = embedders.registry._cpu()
    if not cpu.avx512f:
        pytest.skip("without avx512f the engine's import dies with SIGILL before any ISA check")
    predicted = embedders.registry.itrex_engine_isa_problem(embedders.registry.predicted_onednn_isa(cpu))
    assert embedders.registry._probe_itrex_engine() == predicted


def test_itrex_refuses_cpu_without_avx512(monkeypatch):
    if embedders.missing_packages("itrex-bge-engine"):
        pytest.skip("ITREX packages not installed")
    avx2_only = CpuInfo.from_cpuinfo_text("processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n", mem_bytes=2**33)
    monkeypatch.setattr(embedders.registry, "_cpu", lambda: avx2_only)  # where unavailable_reason looks it up
    with pytest.raises(EmbedderUnavailable, match="avx512f"):
        build_embedder("itrex-bge-engine", 2)
    with pytest.raises(EmbedderUnavailable, match="bf16"):
        build_embedder("ov-bf16", 2)


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    if embedders.unavailable_reason("hf-fp32"):
        pytest.skip(embedders.unavailable_reason("hf-fp32"))
    return embed_matrix(build_embedder("hf-fp32", 2), PROBE_TEXTS)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(EMBEDDERS))
def test_embedder_matches_fp32_reference(name, reference):
    reason = embedders.unavailable_reason(name, probe=True)
    if reason:
        pytest.skip(f"{name}: {reason}")
    calibration = CALIBRATION if EMBEDDERS[name].needs_calibration else None
    embedder = build_embedder(name, 2, calibration_texts=calibration)
    vectors = embed_matrix(embedder, PROBE_TEXTS)
    assert vectors.shape == (len(PROBE_TEXTS), EMBEDDING_DIM)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() > 0.98, f"{name}: cosine to hf-fp32 {cosines.round(4).tolist()}"
    query = np.asarray(embedder.embed_query(PROBE_TEXTS[0]))
    assert float(query @ reference[0]) > 0.98
    assert model_artifact_path(name, calibration).stat().st_size > 1_000_000
    if EMBEDDERS[name].family == "openvino":
        assert str(embedder.ov_model.request.get_property("INFERENCE_NUM_THREADS")) == "2"


@pytest.mark.slow
def test_itrex_onnx_export_has_engine_layout():
    if embedders.missing_packages("itrex-bge-engine"):
        pytest.skip("ITREX/ONNX packages not installed")
    import onnx

    folder = build_artifact("itrex-bge-engine")
    model = onnx.load(str(folder / embedders.ITREX_ONNX_FILE), load_external_data=False)
    assert [i.name for i in model.graph.input] == list(embedders.ITREX_INPUT_NAMES)
    assert [o.name for o in model.graph.output] == ["last_hidden_state"]
    assert max(op.version for op in model.opset_import if op.domain in ("", "ai.onnx")) == embedders.ITREX_ONNX_OPSET
    assert read_manifest(folder)["onnxruntime_max_abs_diff"] < 1e-3


def test_itrex_probe_reads_the_isa_the_child_prints(monkeypatch):
    registry = embedders.registry

    def child(stdout: str):
        return lambda *args, **kwargs: subprocess.CompletedProcess(args, 0, stdout=stdout, stderr="")

    for stdout, expected in (("a warning\n231\n", None), ("495\n", "avx512_core_fp16"), ("", "printed no oneDNN ISA")):
        monkeypatch.setattr(registry.subprocess, "run", child(stdout))
        registry._probe_itrex_engine_cached.cache_clear()
        problem = registry._probe_itrex_engine()
        assert problem is None if expected is None else expected in problem
    registry._probe_itrex_engine_cached.cache_clear()
