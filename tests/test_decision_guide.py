"""docs/decision_guide.md is generated from recorded cpuinfo files and the committed results, and kept current."""

from helpers.publish import decision_guide


def test_decision_guide_is_current():
    committed = decision_guide.GUIDE.read_text(encoding="utf-8")
    assert committed == decision_guide.guide_text(), "run: python -m helpers.publish.decision_guide"


def test_decision_guide_covers_every_isa_class_and_says_what_is_unmeasured():
    text = decision_guide.guide_text()
    for isa in ("avx2", "avx512-vnni", "avx512-bf16", "amx"):
        assert f"\n## {isa} (recorded: " in text
    assert "Measured on `intel-xeon-amx-t2`" in text  # the AMX Xeon: embedders and the workshop grid
    assert "Measured on `amd-epyc-avx2-t2`" in text and "Measured on `amd-epyc-avx512-bf16-t2`" in text
    assert "amd-epyc-avx2-t2/workshop.jsonl" in text  # the AVX2 EPYC's workshop grid, measured 2026-12-06
