import json

from helpers.sweep import peers


def test_missing_llama_cpp_is_recorded_not_raised(tmp_path, monkeypatch):
    monkeypatch.setattr(peers, "llama_cpp_available", lambda: False)
    row = peers.run(tmp_path / "peers.jsonl", num_threads=2)
    assert row["status"] == "not installed"
    assert "requirements-peers.txt" in row["reason"]
    saved = [json.loads(line) for line in (tmp_path / "peers.jsonl").read_text().splitlines()]
    assert saved[0]["key"] == "llama.cpp/t2"
