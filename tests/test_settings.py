import os

import pytest

from helpers import settings


def test_enforce_offline_sets_hub_flags(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    settings.enforce_offline()
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_cache_and_results_dirs_follow_env(monkeypatch, tmp_path):
    monkeypatch.setenv(settings.CACHE_ENV, str(tmp_path / "c"))
    monkeypatch.setenv(settings.RESULTS_ENV, str(tmp_path / "r"))
    assert settings.cache_dir() == tmp_path / "c" and (tmp_path / "c").is_dir()
    assert settings.results_dir("x") == tmp_path / "r" / "x"


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_set_threads_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="allowed values are integers >= 1"):
        settings.set_threads(bad)


def test_ov_config_has_threads():
    assert settings.ov_config(2)["INFERENCE_NUM_THREADS"] == "2"
