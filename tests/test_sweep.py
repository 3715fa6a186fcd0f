import pytest

from helpers.core import runner
from helpers.core.results import ResultsStore
from helpers.core.settings import REPO_ROOT
from helpers.sweep import grid


class Killed(BaseException):
    """Stands in for SIGKILL / Ctrl-C half-way through a sweep."""


def fake_evaluate(calls):
    def evaluate(point):
        calls.append(point.key)
        return {"perplexity": 10.0 + len(calls), "decode_ms_per_token": 5.0}

    return evaluate


def test_grid_points_are_deterministic_and_keys_unique():
    points = grid.get_grid("large").points()
    assert points == grid.get_grid("large").points()
    assert len({p.key for p in grid.get_grid("full").points()}) == len(grid.get_grid("full").points())
    assert len({p.key for p in points}) == len(points)
    assert points[0].key == "torch/fp32"


@pytest.mark.parametrize("name", sorted(grid.GRIDS))
def test_labels_are_unique_within_every_grid(name):
    labels = [p.label for p in grid.get_grid(name).points()]
    assert len(set(labels)) == len(labels)
    assert (
        grid.SweepPoint("itrex", "int4_clip", compute_dtype="bf16").label
        == "itrex int4_clip g32 sym bf16-compute"
    )


def test_ratio_keeps_old_keys_and_names_mixed_points():
    assert grid.SweepPoint("openvino", "int4", 32, "asym", "AWQ", "auto").key == "openvino/int4/g32/asym/AWQ/auto"
    mixed = grid.SweepPoint("openvino", "int4", 32, "asym", "AWQ", "auto", 0.8)
    assert mixed.key == "openvino/int4/g32/asym/AWQ/auto/r0.8"
    assert mixed.label == "openvino int4 g32 asym AWQ 80%+int8"
    with pytest.raises(ValueError, match=r"ratio=0 is not supported: allowed values are numbers in \(0, 1\]"):
        grid.SweepPoint("openvino", "int4", ratio=0)


def test_unknown_grid_and_backend_are_refused_with_allowed_values():
    with pytest.raises(ValueError, match="allowed values are smoke"):
        grid.get_grid("huge")
    with pytest.raises(ValueError, match="allowed values are torch, itrex, openvino"):
        grid.SweepPoint("cuda", "nf4")


def test_resume_after_kill_loses_nothing_and_recomputes_nothing(tmp_path):
    store = ResultsStore(tmp_path / "sweep.jsonl")
    points = grid.get_grid("dtypes").points()
    calls: list[str] = []
    inner = fake_evaluate(calls)

    def dies_on_fourth(point):
        if len(calls) == 3:
            raise Killed()
        return inner(point)

    with pytest.raises(Killed):
        runner.run_sweep(points, store, dies_on_fourth, progress=False)
    finished = store.done_keys()
    assert finished == {p.key for p in points[:3]}
    first_rows = {k: dict(v) for k, v in store.latest().items()}

    calls.clear()
    runner.run_sweep(points, store, fake_evaluate(calls), progress=False)
    assert calls == [p.key for p in points[3:]]  # nothing finished was recomputed
    assert store.done_keys() == {p.key for p in points}
    for key, row in first_rows.items():  # nothing finished was lost or changed
        assert store.latest()[key] == row


def test_unsupported_points_carry_a_reason_and_failures_are_recorded(tmp_path):
    store = ResultsStore(tmp_path / "s.jsonl")
    points = [grid.SweepPoint("torch", "fp32"), grid.SweepPoint("openvino", "fp4_e2m1")]

    def reason(point):
        return "fp4_e2m1 has no OpenVINO 2024.2 equivalent" if point.weight_dtype == "fp4_e2m1" else None

    def boom(point):
        raise RuntimeError(f"out of memory reading {REPO_ROOT / '.cache' / 'model.bin'}")

    rows = runner.run_sweep(points, store, boom, unsupported_reason=reason, progress=False)
    by_key = {r["key"]: r for r in rows}
    assert by_key[points[1].key]["status"] == "unsupported"
    assert "no OpenVINO" in by_key[points[1].key]["reason"]
    assert by_key["torch/fp32"]["status"] == "failed"
    assert by_key["torch/fp32"]["reason"] == "RuntimeError: out of memory reading .cache/model.bin"  # no machine path
    assert str(REPO_ROOT) not in by_key["torch/fp32"]["traceback"]


def _ray_evaluate(point):
    return {"perplexity": 12.0, "decode_ms_per_token": 4.0}


@pytest.mark.slow
def test_ray_sweep_on_local_single_node_cluster(tmp_path):
    ray = pytest.importorskip("ray", reason="optional extra: pip install -r requirements-distributed.txt")
    store = ResultsStore(tmp_path / "ray.jsonl")
    points = grid.get_grid("smoke").points()
    store.append({"key": points[0].key, "status": "ok", "perplexity": 1.0})  # already finished: must be skipped
    try:
        import sys

        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the test module is not on workers' path
        ray.init(
            num_cpus=2,
            _node_ip_address="127.0.0.1",  # keep the local cluster on loopback
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
        rows = runner.run_sweep_ray(points, store, _ray_evaluate, num_threads=1)
    finally:
        ray.shutdown()
    assert {r["key"] for r in rows} == {p.key for p in points[1:]}
    assert store.done_keys() == {p.key for p in points}
    assert store.latest()[points[0].key]["perplexity"] == 1.0


def test_resume_measures_again_only_the_rows_the_rule_rejects(tmp_path):
    store = ResultsStore(tmp_path / "sweep.jsonl")
    points = grid.get_grid("smoke").points()
    calls: list[str] = []
    runner.run_sweep(points, store, fake_evaluate(calls), progress=False)
    old = store.latest()

    def reuse(row):  # e.g. "measured with the budget asked for now"
        return row["key"] != points[1].key

    assert runner.points_to_run(points, store, reuse) == [points[1]]
    calls.clear()
    runner.run_sweep(points, store, fake_evaluate(calls), progress=False, reuse=reuse)
    assert calls == [points[1].key]
    assert store.latest()[points[1].key] != old[points[1].key]  # the new row supersedes the old one
    assert {k: v for k, v in store.latest().items() if k != points[1].key} == {
        k: v for k, v in old.items() if k != points[1].key
    }


def test_stamp_goes_into_every_row_unsupported_ones_too(tmp_path):
    store = ResultsStore(tmp_path / "s.jsonl")
    points = [grid.SweepPoint("torch", "fp32"), grid.SweepPoint("openvino", "fp4_e2m1")]
    stamp = {"profile": "cpu-avx2-t2", "isa_class": "avx2"}
    rows = runner.run_sweep(
        points,
        store,
        lambda point: {"v": 1},
        unsupported_reason=lambda p: "no fp4" if p.weight_dtype == "fp4_e2m1" else None,
        progress=False,
        stamp=stamp,
    )
    assert [r["status"] for r in rows] == ["ok", "unsupported"]
    assert all(r["profile"] == "cpu-avx2-t2" and r["isa_class"] == "avx2" for r in store.rows())
