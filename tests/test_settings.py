import os
from pathlib import Path

import pytest

from helpers.core import settings


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


def test_results_path_is_profile_folder_then_kind(monkeypatch, tmp_path):
    from helpers import device

    monkeypatch.delenv(device.PROFILE_ENV, raising=False)
    monkeypatch.setenv(settings.RESULTS_ENV, str(tmp_path / "r"))
    mine = device.machine_profile(2)
    assert settings.results_path("full", num_threads=2) == tmp_path / "r" / mine / "full.jsonl"
    assert settings.results_path("peers", profile="amd-epyc-avx2-t2", root=tmp_path) == (
        tmp_path / "amd-epyc-avx2-t2" / "peers.jsonl"
    )
    monkeypatch.setenv(device.PROFILE_ENV, "test-cpu-avx512-vnni-t2")  # the test-only override names the folder
    assert settings.results_path("embedders", num_threads=2, root="x").parts == (
        "x",
        "test-cpu-avx512-vnni-t2",
        "embedders.jsonl",
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "full-amd", "num_threads": 2, "profile": "amd-epyc-avx2-t2"}, "exactly one of them"),
        ({"kind": "full"}, "exactly one of them"),
        ({"kind": "Full", "num_threads": 2}, "kind='Full' is invalid: allowed values are lower-case names"),
        ({"kind": "../x", "num_threads": 2}, "kind='../x' is invalid"),
        ({"kind": "full", "profile": "amd-epyc-t2"}, "profile='amd-epyc-t2' is invalid: allowed values are"),
    ],
)
def test_results_path_rejects_bad_names(kwargs, match):
    with pytest.raises(ValueError, match=match):
        settings.results_path(**kwargs)


def test_results_files_lists_profiles_and_skips_other_folders(tmp_path):
    for folder in ("amd-epyc-avx2-t2", "amd-epyc-avx512-bf16-t2", "scratch", "sweep"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "full.jsonl").write_text("")
    (tmp_path / "amd-epyc-avx2-t2" / "peers.jsonl").write_text("")
    found = settings.results_files("full", tmp_path)
    assert list(found) == ["amd-epyc-avx2-t2", "amd-epyc-avx512-bf16-t2"]
    assert found["amd-epyc-avx2-t2"] == tmp_path / "amd-epyc-avx2-t2" / "full.jsonl"
    assert list(settings.results_files("peers", tmp_path)) == ["amd-epyc-avx2-t2"]
    assert settings.results_files("openvino", tmp_path) == {}


def test_committed_results_are_in_profile_folders():
    committed = settings.results_files("full")
    assert "amd-epyc-avx512-bf16-t2" in committed
    loose = [p for p in settings.COMMITTED_RESULTS.rglob("*") if p.is_file() and p.parent == settings.COMMITTED_RESULTS]
    assert not loose, "results files belong in results/<profile>/"


def test_quiet_known_noise_filters_only_known_messages(monkeypatch):
    import warnings

    from helpers.core import settings

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        settings.quiet_known_noise()
        noise = "In CPU autocast, but the target dtype is not supported. Disabling autocast."
        warnings.warn(noise, UserWarning, stacklevel=1)
        warnings.warn("something new the reader should see", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["something new the reader should see"]
    assert os.environ["TQDM_DISABLE"] == "1"


def test_quiet_known_noise_drops_known_log_records_only(caplog):
    import logging

    from helpers.core import settings

    settings.quiet_known_noise(progress_bars=True)
    log = logging.getLogger("neural_compressor")
    with caplog.at_level(logging.WARNING, logger="neural_compressor"):
        log.warning("use_llm_runtime is deprecated in version 1.3.2, please use_neural_speed instead.")
        log.warning("[Strategy] Please install `mpi4py` correctly if using distributed tuning; otherwise, ignore")
        log.warning("a new warning stays visible")
    assert [r.getMessage() for r in caplog.records] == ["a new warning stays visible"]
    settings.quiet_known_noise(progress_bars=True)  # idempotent: one filter
    assert sum(type(f).__name__ == "_KnownLogNoise" for f in log.filters) == 1


def test_openvino_telemetry_is_opted_out_once_and_a_choice_is_kept(tmp_path: Path) -> None:
    consent = tmp_path / "intel" / "openvino_telemetry"
    assert "opted out" in settings.opt_out_of_openvino_telemetry(consent)
    assert consent.read_text() == "0"  # what openvino-telemetry reads as declined
    consent.write_text("1")  # the owner opted in: left alone
    assert "left as this machine has it" in settings.opt_out_of_openvino_telemetry(consent)
    assert consent.read_text() == "1"
