"""The one pick (helpers.advice.pick): nearest measured profile, the rules only where nothing is measured, and the
same sentence everywhere it is printed."""

from __future__ import annotations

import pytest

from helpers import models
from helpers.advice import pick as advice
from helpers.core import profiles as core_profiles
from helpers.core.settings import results_files
from helpers.publish import decision_guide

MEASURED = ["intel-xeon-amx-t2", "amd-epyc-avx512-bf16-t1", "amd-epyc-avx512-bf16-t2", "amd-epyc-avx2-t2"]


def test_profile_parts_and_a_bad_profile_names_the_allowed_form() -> None:
    assert core_profiles.profile_parts("amd-epyc-avx512-bf16-t2") == ("amd-epyc", "avx512-bf16", 2)
    with pytest.raises(ValueError, match="profile='laptop' is invalid: allowed values are <cpu slug>"):
        core_profiles.profile_parts("laptop")


@pytest.mark.parametrize(
    ("profile", "nearest"),
    [
        ("amd-epyc-avx512-bf16-t2", "amd-epyc-avx512-bf16-t2"),  # itself
        ("amd-epyc-avx512-bf16-t8", "amd-epyc-avx512-bf16-t2"),  # same class, nearest thread count
        ("other-cpu-avx512-bf16-t1", "amd-epyc-avx512-bf16-t1"),
        ("intel-xeon-amx-t16", "intel-xeon-amx-t2"),
        ("intel-core-avx512-vnni-t4", None),  # nothing of that class: the rules answer
    ],
)
def test_nearest_profile_is_same_isa_class_then_nearest_threads(profile: str, nearest: str | None) -> None:
    assert core_profiles.nearest_profile(profile, MEASURED) == nearest


def test_nearest_results_reads_the_nearest_measured_profile_file(tmp_path) -> None:
    for profile in ("amd-epyc-avx2-t2", "intel-xeon-amx-t2"):
        (tmp_path / profile).mkdir()
        (tmp_path / profile / "workshop.jsonl").write_text("")
    at, path = core_profiles.nearest_results("workshop", "other-cpu-avx2-t4", tmp_path)
    assert at == "amd-epyc-avx2-t2" and path == tmp_path / "amd-epyc-avx2-t2" / "workshop.jsonl"
    assert core_profiles.nearest_results("workshop", "intel-core-avx512-vnni-t2", tmp_path) is None


def test_every_committed_profile_and_model_gets_one_pick_that_names_its_basis() -> None:
    profiles = sorted({p for kind in ("workshop", "full", "transfer") for p in results_files(kind)})
    assert profiles
    for profile in profiles:
        for spec in models.CAUSAL_LMS.values():
            found = advice.pick(profile, spec.name)
            assert found.model == spec.name and found.basis in ("measured", "nearest", "rules")
            assert found.line() == advice.pick(profile, spec.name).line()  # deterministic
            assert found.point is not None, found.line()


def test_a_class_without_measurements_gets_the_rules_and_says_so() -> None:
    found = advice.pick("intel-core-avx512-vnni-t4")
    assert found.basis == "rules" and found.point == advice.RULES_POINT  # still buildable: the chains run on it
    assert "not both measured for it on this ISA class" in found.line() and "the ISA rules" in found.line()


def test_the_sweep_pick_is_within_the_accuracy_budget_and_says_whether_its_verdict_moved() -> None:
    found = advice.pick("amd-epyc-avx512-bf16-t2", models.DEFAULT_CAUSAL_LM)
    assert found.basis == "measured" and found.source.endswith("workshop.jsonl")
    assert found.moved is not None  # the workshop grid has a second run on this profile


def test_bad_model_fails_before_any_results_are_read() -> None:
    with pytest.raises(ValueError, match="model"):
        advice.pick("amd-epyc-avx512-bf16-t2", "gpt-5")


def test_the_decision_guide_prints_the_pick_of_every_committed_profile() -> None:
    text = decision_guide.guide_text()
    for profile in sorted({p for kind in ("workshop", "full", "transfer") for p in results_files(kind)}):
        for line in advice.pick_lines(profile):
            assert line in text, line


def test_accuracy_without_speed_for_a_model_gets_the_rules(tmp_path) -> None:
    import json

    folder = tmp_path / "acme-cpu-avx2-t2"
    folder.mkdir()
    qwen = "qwen2.5-coder-0.5b-instruct"
    (folder / "transfer.jsonl").write_text(json.dumps({"model": qwen, "status": "ok", "key": f"{qwen}/x"}) + "\n")
    other = {"model": "smollm2-135m-instruct", "status": "ok", "key": "s/x"}
    (folder / "size_latency.jsonl").write_text(json.dumps(other) + "\n")
    found = advice.pick("acme-cpu-avx2-t2", qwen, root=tmp_path)
    assert found.basis == "rules" and found.point == advice.RULES_POINT
