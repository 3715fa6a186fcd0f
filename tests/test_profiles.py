"""Results are kept per machine profile (``results/<profile>/<kind>.jsonl``): rows of two profiles never mix in a
table or a verdict, the committed reference profiles are shown beside this machine's own rows, and notebooks 04 and
05 run top to bottom on a machine with no results of its own as well as on one whose profile has committed results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import device
from helpers.core import settings
from helpers.core.results import ResultsStore
from helpers.publish import readme
from helpers.sweep import analysis as sa
from helpers.sweep import published
from helpers.sweep import verdicts as sv
from helpers.tools import notebooks

MINE = "test-cpu-avx512-bf16-t2"
REF = "test-cpu-avx2-t2"
COMMITTED = "amd-epyc-avx512-bf16-t2"  # the committed profile with a full grid: AVX-512 BF16 AMD EPYC, 2 threads


def _row(key: str, ppl: float, ms: float, **extra) -> dict:
    backend, dtype = ("torch", "fp32") if key == sa.BASELINE_KEY else ("openvino", key.split("/")[1])
    return {
        "key": key,
        "label": key.replace("/", " "),
        "backend": backend,
        "weight_dtype": dtype,
        "algorithm": "RTN",
        "status": "ok",
        "perplexity": ppl,
        "decode_ms_per_token": ms,
        "decode_tokens_per_s": 1000 / ms,
        "prefill_ms": 100.0,
        "model_bytes": 1000,
        "faq_choice_accuracy": 0.25,
        "num_threads": 2,
        **extra,
    }


def _write(root: Path, profile: str, kind: str, rows: list[dict]) -> Path:
    path = settings.results_path(kind, profile=profile, root=root)
    store = ResultsStore(path)
    for row in rows:
        store.append(row)
    return path


def _sweep(scale: float = 1.0, **extra) -> list[dict]:
    return [
        _row(sa.BASELINE_KEY, 10.0, 100.0 * scale, **extra),
        _row("openvino/int4/g64/sym/RTN/auto", 10.5, 20.0 * scale, **extra),
        _row("openvino/int8/g32/sym/RTN/auto", 10.1, 25.0 * scale, **extra),
    ]


def test_rows_without_profile_take_their_folder_and_a_file_never_mixes_profiles(tmp_path):
    path = _write(tmp_path, REF, "full", _sweep())  # rows written before profiles were recorded
    assert set(sa.results_frame(path)["profile"]) == {REF}
    store = ResultsStore(path)
    store.append(_row("openvino/nf4/g64/sym/RTN/auto", 11.0, 22.0, profile=MINE))  # another machine resumed it
    with pytest.raises(ValueError, match=rf"profile='{MINE}' in .* is invalid: .* allowed values are '{REF}'"):
        sa.results_frame(path)
    moved = _write(tmp_path, MINE, "full", _sweep(profile=REF))  # a file copied into another profile's folder
    with pytest.raises(ValueError, match=rf"profile='{REF}' .* allowed values are '{MINE}'"):
        sa.results_frame(moved)
    loose = tmp_path / "loose.jsonl"  # outside the layout: one profile per file still holds
    ResultsStore(loose).extend([_sweep(profile=REF)[0], _sweep(profile=MINE)[1]])
    with pytest.raises(ValueError, match="profile="):
        sa.results_frame(loose)


def test_verdicts_and_run_comparisons_refuse_another_profile(tmp_path):
    ref = sa.results_frame(_write(tmp_path, REF, "full", _sweep(profile=REF)))
    mine = sa.results_frame(_write(tmp_path, MINE, "full", _sweep(0.5, profile=MINE)))
    peer = {"status": "ok", "decode_ms_per_token": 10.0, "decode_tokens_per_s": 100.0, "profile": MINE}
    with pytest.raises(ValueError, match=rf"profile=\['{MINE}'\] of the llama.cpp peer row is invalid"):
        sv.pick_lines(ref, peer)
    assert any("llama.cpp" in line for line in sv.pick_lines(mine, peer))
    with pytest.raises(ValueError, match=rf"allowed values are \['{REF}'\]"):
        sv.verdict_movement(ref, mine, ("a", "b"))


def test_profile_runs_show_mine_first_then_each_reference_once(tmp_path):
    committed, own = tmp_path / "committed", tmp_path / "own"
    _write(committed, REF, "full", _sweep(profile=REF))
    _write(committed, REF, "openvino", _sweep(2.0, profile=REF))
    _write(committed, REF, "peers", [{"key": "llama.cpp/t2", "status": "not installed", "reason": "x"}])
    (committed / "scratch").mkdir()
    (committed / "scratch" / "full.jsonl").write_text("")  # not a profile folder: ignored
    mine = settings.results_path("smoke", profile=MINE, root=own)

    runs = sa.profile_runs(mine, "full", committed)  # no results of its own yet
    assert [(r.profile, r.mine) for r in runs] == [(REF, False)]
    assert sa.runs_overview(runs, mine)[0].startswith(f"{MINE} (this machine): no results yet")
    table = sa.stacked(runs, ["label", "decode_speedup"], sort_by="decode_speedup")
    assert set(table["profile"]) == {f"{REF} (reference)"} and len(table) == 3
    assert runs[0].beside("peers") == committed / REF / "peers.jsonl"

    _write(own, MINE, "smoke", _sweep(0.5))
    runs = sa.profile_runs(mine, "full", committed)
    assert [r.name for r in runs] == [f"{MINE} (this machine)", f"{REF} (reference)"]
    rows, summary = published.compare_runs(runs)
    assert list(summary["profile"]) == [runs[0].name] * 4 + [runs[1].name] * 4
    assert rows.columns[0] == "profile" and summary.columns[0] == "profile"

    same = settings.results_path("full", profile=REF, root=committed)  # this machine's file is a committed one
    assert [(r.profile, r.mine) for r in sa.profile_runs(same, "full", committed)] == [(REF, True)]


def test_nothing_to_show_gives_empty_tables_not_errors(tmp_path):
    mine = settings.results_path("full", profile=MINE, root=tmp_path)
    runs = sa.profile_runs(mine, None)
    assert runs == [] and "no results yet" in sa.runs_overview(runs, mine)[0]
    assert list(sa.stacked(runs, ["label", "perplexity"]).columns) == ["profile", "label", "perplexity"]
    rows, summary = published.compare_runs(runs)
    assert set(rows["status"]) == {"not in results"} and summary["agrees"].isna().all()


def test_report_shows_each_profile_in_its_own_sections(tmp_path, monkeypatch, capsys):
    committed, own = tmp_path / "committed", tmp_path / "own"
    _write(committed, REF, "full", _sweep(profile=REF))
    _write(own, MINE, "full", _sweep(0.5, profile=MINE))
    monkeypatch.setattr(settings, "COMMITTED_RESULTS", committed)
    monkeypatch.setenv(settings.RESULTS_ENV, str(own))  # this machine's results kept outside the repository
    monkeypatch.setenv(device.PROFILE_ENV, MINE)
    assert readme.main([]) == 0
    text = capsys.readouterr().out
    assert f"#### Weight-only sweep (full grid, {REF})" in text and f"#### Verdicts ({REF}/full.jsonl)" in text
    assert f"#### Weight-only sweep (full grid, {MINE}, this machine)" in text
    assert f"Measured on: {MINE}, 2 threads" in text and f"Measured on: {REF}, 2 threads" in text
    assert text.index(f"Verdicts ({REF}/") < text.index(f"grid, {MINE}, this machine)")  # profile after profile
    assert text.count("- openvino: fastest within +10% perplexity") == 2  # one verdict per profile
    assert text.count(f"#### What to run ({REF})") == 1 and text.count(f"#### What to run ({MINE}, this machine)") == 1


def test_committed_results_record_their_profile():
    committed = settings.results_files("full")
    assert COMMITTED in committed
    folders = {p.parent for kind in ("full", "embedders", "peers") for p in settings.results_files(kind).values()}
    for folder in folders:
        for path in folder.glob("*.jsonl"):
            rows = [json.loads(line) for line in path.read_text().splitlines()]
            assert {r["profile"] for r in rows} == {folder.name}, path
            isa = {r["isa_class"] for r in rows}
            assert len(isa) == 1 and isa <= set(device.ISA_CLASSES) and f"-{isa.pop()}-t" in folder.name, path
            assert all(list(r) == sorted(r) for r in rows), f"{path}: rows are written with sort_keys=True"
    assert (committed[COMMITTED].parent / "embedders.hf-fp32.t2-d20-qNone-n128-i3.npy").is_file()


def _outputs(path: Path) -> tuple[str, list[dict]]:
    nb = json.loads(path.read_text())
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    text = "\n".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", "")) for o in outputs)
    return text, [o for o in outputs if o.get("output_type") == "error"]


#: Parameters that make a notebook only read results (beside its smoke parameters).
READ_ONLY = {"04_weight_only_sweeps": {"recompute": False}, "05_reproducing_published_results": {}}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(READ_ONLY))
def test_notebook_on_a_profile_without_committed_results(name, tmp_path, monkeypatch):
    """This machine's results folder is empty (as on any machine the committed results were not measured on): the
    notebook says so and shows the committed reference profile instead of failing."""
    monkeypatch.setenv(settings.RESULTS_ENV, str(tmp_path / "results"))
    monkeypatch.delenv(device.PROFILE_ENV, raising=False)
    overrides = {**READ_ONLY[name], "results_root": None}
    out = notebooks.execute(notebooks.get(name), "smoke", tmp_path / f"{name}.ipynb", overrides)
    text, errors = _outputs(out)
    assert not errors, errors
    assert f"{device.machine_profile(2)} (this machine): no results yet" in text
    assert f"{COMMITTED} (reference)" in text


@pytest.mark.slow
@pytest.mark.parametrize("name", list(READ_ONLY))
def test_notebook_on_a_profile_with_committed_results(name, tmp_path, monkeypatch):
    """On the committed profile's own machine (simulated with the test-only profile override), its committed full
    grid is this machine's run, shown once and never also as a reference."""
    monkeypatch.delenv(settings.RESULTS_ENV, raising=False)
    monkeypatch.setenv(device.PROFILE_ENV, COMMITTED)
    overrides = {**READ_ONLY[name], "grid": "full", "results_root": None}
    out = notebooks.execute(notebooks.get(name), "smoke", tmp_path / f"{name}.ipynb", overrides)
    text, errors = _outputs(out)
    assert not errors, errors
    assert f"{COMMITTED} (this machine)" in text and f"{COMMITTED} (reference)" not in text
    if name.startswith("04"):
        assert "fastest int4-class point (by median): openvino nf4 g64 sym" in text  # the committed run's verdicts
