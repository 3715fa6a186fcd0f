"""Prompt-lookup vs plain decoding (helpers.latency.decode_less, GenAI's decoding modes): names checked before any
work, answers paired per prompt, the verdict from the interval. No model runs here (06 reads the committed rows)."""

from types import SimpleNamespace

import pandas as pd
import pytest

from helpers.core import genai_timing
from helpers.latency import decode_less
from helpers.latency import decode_less_analysis as analysis


def test_cases_alternate_the_order_per_round_and_refuse_bad_names():
    cases = decode_less.decode_cases(rounds=2)
    one = ["plain", "prompt_lookup", "prompt_lookup_2"]  # GenAI: lookup proposing 5 tokens per step, and 2
    assert [c.decoding for c in cases] == one + one[::-1]
    assert len({c.key for c in cases}) == 6
    with pytest.raises(ValueError, match="weights='int3' is unknown: allowed values are int8"):
        decode_less.decode_cases(weights="int3")
    with pytest.raises(ValueError, match="allowed"):
        decode_less.decode_cases(model="gpt-5")
    with pytest.raises(ValueError, match="n_prompts=1"):
        decode_less.run(n_prompts=1)


def test_the_larger_model_adds_speculative_decoding_and_llama_cpp_its_own_modes():
    cases = decode_less.decode_cases("qwen2.5-coder-1.5b-instruct", ("int4-sym-g64", "gguf"), rounds=2)
    first = [(c.weights, c.decoding) for c in cases if c.round == 1]
    assert first == [
        ("int4-sym-g64", "plain"), ("int4-sym-g64", "prompt_lookup"), ("int4-sym-g64", "prompt_lookup_2"),
        ("int4-sym-g64", "speculative"), ("gguf", "plain"), ("gguf", "prompt_lookup"),
    ]
    assert [(c.weights, c.decoding) for c in cases if c.round == 2] == first[::-1]
    assert decode_less.modes("qwen2.5-coder-0.5b-instruct", "int8") == ("plain", "prompt_lookup", "prompt_lookup_2")
    assert decode_less.modes("qwen2.5-coder-0.5b-instruct", "gguf") == ("plain", "prompt_lookup")  # llama.cpp: 2


def test_modes_are_printed_with_the_tokens_they_propose_per_step():
    row = {"decoding": "prompt_lookup_2", "decoding_config": genai_timing.DECODING["prompt_lookup_2"]}
    assert analysis.mode_label(row) == "prompt lookup, 2 proposed per step"
    llama_cpp = {"decoding": "prompt_lookup", "decoding_config": {"num_pred_tokens": 2}}
    assert analysis.mode_label(llama_cpp) == "prompt lookup, 2 proposed per step"
    assert analysis.mode_label({"decoding": "plain", "decoding_config": {}}) == "plain"


def test_every_mode_names_its_method_in_data_not_in_its_name():
    assert set(genai_timing.DECODING_METHOD) == set(genai_timing.DECODING)
    assert set(genai_timing.DECODING_METHOD.values()) == {"plain", "prompt_lookup", "speculative"}
    row = {"decoding": "lookup-two", "decoding_method": "prompt_lookup", "decoding_config": {"num_assistant_tokens": 2}}
    assert analysis.mode_label(row) == "prompt lookup, 2 proposed per step"


def _rates_row(weights: str, decoding: str, rates: list[float]) -> dict:
    runs = [{"e2e_s": 1.0 + 40 / r, "ttft_s": 1.0, "new_tokens": 41, "answer_sha1": "x"} for r in rates]
    return {"status": "ok", "model": "m", "weights": weights, "decoding": decoding, "round": 1, "runs": runs}


def test_versus_llama_cpp_pairs_each_sides_best_mode_by_decode_rate():
    rows = [
        _rates_row("int4-sym-g64", "plain", [20.0, 21.0, 19.0, 20.0, 20.5]),
        _rates_row("int4-sym-g64", "prompt_lookup", [30.0, 31.0, 29.0, 30.0, 30.5]),
        _rates_row("gguf", "plain", [25.0, 25.0, 25.0, 25.0, 25.0]),
        _rates_row("gguf", "prompt_lookup", [24.0, 24.0, 24.0, 24.0, 24.0]),
    ]
    row = analysis.versus_llama_cpp(rows).iloc[0]
    assert row["openvino"] == "int4-sym-g64 prompt lookup" and row["llama_cpp"] == "Q4_K_M plain"
    assert row["ratio"] == pytest.approx(1.2) and row["verdict"] == "missed"  # 30 / 25, wholly below 1.3
    line = analysis.peer_findings(analysis.versus_llama_cpp(rows))[0]
    assert "is 1.20x [" in line and "missed against the 1.3x bar" in line
    assert analysis.versus_llama_cpp(rows[:2]).empty  # no llama.cpp rows: nothing to compare


def _row(decoding: str, seconds: list[float], digests: list[str], steps: int | None = 20) -> dict:
    runs = [
        {"e2e_s": s, "ttft_s": 1.0, "new_tokens": 40, "answer_sha1": d, "model_steps": steps}
        for s, d in zip(seconds, digests, strict=True)
    ]
    return {"status": "ok", "model": "m", "weights": "int8", "decoding": decoding, "round": 1, "runs": runs}


def test_table_pairs_answers_by_prompt_and_says_tie_when_the_interval_holds_one():
    digests = ["a", "b", "c", "d", "e"]
    plain = _row("plain", [4.0, 4.2, 3.9, 4.1, 4.0], digests, 41)
    faster = analysis.decode_less_table([plain, _row("prompt_lookup", [2.0, 2.1, 2.0, 2.2, 1.9], digests)]).iloc[0]
    assert faster["identical_answers"] == 5 and faster["verdict"] == "faster"
    assert faster["speedup_lo"] <= faster["speedup"] <= faster["speedup_hi"] and faster["speedup"] == pytest.approx(2.0)
    assert faster["tokens_per_model_step"] == pytest.approx(40 / 19)
    line = analysis.findings(analysis.decode_less_table([plain, _row("prompt_lookup", [2.0] * 5, digests)]))[0]
    assert line.startswith("m int8, prompt lookup (round 1, context docs-only): answers 2.00x") and "5 of 5" in line
    noisy = analysis.decode_less_table(
        [_row("plain", [4.0, 3.0, 5.0, 4.0, 4.5], digests), _row("prompt_lookup", [4.2, 4.0, 3.9, 4.1, 4.4], ["a"] * 5)]
    ).iloc[0]
    assert noisy["verdict"] == "tie within noise" and noisy["identical_answers"] == 1


def test_decoding_modes_are_checked_before_a_pipeline_loads():
    old = SimpleNamespace()  # GenAI 2024.2: no draft_model, no lookup
    assert genai_timing._pipeline_kwargs(old, "plain", None, {}) == {}
    with pytest.raises(ValueError, match="needs OpenVINO GenAI 2025 or newer"):
        genai_timing._pipeline_kwargs(old, "prompt_lookup", None, {})
    new = SimpleNamespace(draft_model=lambda path, device, **kw: ("draft", path))
    assert genai_timing._pipeline_kwargs(new, "prompt_lookup", None, {}) == {"prompt_lookup": True}
    with pytest.raises(ValueError, match="needs draft_dir"):
        genai_timing._pipeline_kwargs(new, "speculative", None, {})
    with pytest.raises(ValueError, match="decoding='beam' is not supported: allowed values are plain, prompt_lookup"):
        genai_timing.run_genai("ir", ["p"], runtime="2024.2", decoding="beam")
    with pytest.raises(ValueError, match="allowed runtimes are 2026"):
        genai_timing.run_genai("ir", ["p"], runtime="2024.2", decoding="prompt_lookup")


def test_speculative_rows_report_the_share_of_drafted_tokens_accepted():
    digests = ["a", "b", "c"]
    plain = _row("plain", [4.0, 4.1, 3.9], digests, 41)
    spec = _row("speculative", [5.0, 5.1, 4.9], digests, 11)
    for run, rate in zip(spec["runs"], (0.3, 0.4, 0.5), strict=True):
        run["draft_acceptance_rate"] = rate  # GenAI's extended metrics: a fraction
    table = analysis.decode_less_table([plain, spec])
    assert table.iloc[0]["draft_acceptance"] == pytest.approx(0.4) and table.iloc[0]["verdict"] == "slower"
    assert "40% of drafted tokens accepted" in analysis.findings(table)[0]


def test_contexts_are_named_in_keys_and_rows_of_two_contexts_are_never_paired():
    cases = decode_less.decode_cases(rounds=1)
    assert {c.context for c in cases} == {"with-answer"} and cases[0].key.endswith("/t2/with-answer")
    old = decode_less.decode_cases(rounds=1, context="docs-only")[0]
    assert old.key == "qwen2.5-coder-0.5b-instruct/r1/int8/plain/t2"  # the rows written before contexts had names
    with pytest.raises(ValueError, match="context='oracle' is unknown: allowed values are with-answer, docs-only"):
        decode_less.decode_cases(context="oracle")
    digests = ["a", "b", "c"]
    plain = _row("plain", [4.0, 4.1, 3.9], digests)  # no context field: an early row, docs only
    lookup = {**_row("prompt_lookup", [2.0, 2.1, 1.9], digests), "context": "with-answer"}
    assert analysis.decode_less_table([plain, lookup]).empty  # other prompts: nothing to pair
    table = analysis.decode_less_table([plain, {**lookup, "context": "docs-only"}])
    assert table.iloc[0]["context"] == "docs-only"


def test_prompts_with_the_answer_start_their_context_with_the_faq_answer():
    from helpers import data
    from helpers.latency import cases

    faq = data.load_faq()[0]
    with_answer, docs_only = (cases.rag_prompts(1, answer_in_context=flag)[0] for flag in (True, False))
    opening = " ".join(faq.answer.split()[:12])
    assert opening in " ".join(with_answer.split()) and opening not in " ".join(docs_only.split())
    assert faq.question in with_answer and faq.question in docs_only


def test_questions_by_kind_take_the_kinds_in_turn_and_bad_requests_name_the_allowed_values():
    from helpers import data
    from helpers.latency import cases

    assert data.question_kind("How do I get a single keypress at a time?") == "how-to"
    assert data.question_kind("Is there an equivalent of C's '?:' ternary operator?") == "yes-no"
    assert data.question_kind("How fast are exceptions?") == "other"
    faq = {q.id: q.question for q in data.load_faq()}
    picked = cases.questions_by_kind(8)
    assert [data.question_kind(faq[i]) for i in picked] == list(data.QUESTION_KINDS) * 2
    assert len(set(picked)) == 8
    with pytest.raises(ValueError, match="n=0 questions by kind: allowed values are 1 to"):
        cases.questions_by_kind(0)
    with pytest.raises(ValueError, match="question_ids=\\['faq-999'\\]: allowed are at least 1 FAQ ids"):
        cases.rag_prompts(1, question_ids=["faq-999"])
    by_kind = decode_less.decode_cases(rounds=1, questions="by-kind")[0]
    assert by_kind.key.endswith("/t2/with-answer/by-kind")
    assert decode_less.decode_cases(rounds=1)[0].key.endswith("/t2/with-answer")  # the first questions: keys as before
    with pytest.raises(ValueError, match="questions='random' is unknown: allowed values are first, by-kind"):
        decode_less.decode_cases(questions="random")


def test_speedups_are_split_by_kind_of_question_and_never_paired_across_question_sets():
    from helpers.latency import cases

    asked = cases.questions_by_kind(5)[1:]  # the first is the warm-up: how-to... then why, what, yes-no, how-to
    digests = ["a", "b", "c", "d"]
    plain = {**_row("plain", [4.0, 4.0, 4.0, 4.0], digests, 41), "questions": "by-kind", "question_ids": asked}
    lookup = {**_row("prompt_lookup", [2.0, 4.0, 4.0, 1.0], digests), "questions": "by-kind", "question_ids": asked}
    table = analysis.by_question_kind([plain, lookup]).set_index("kind")
    assert table.loc["why", "speedup"] == pytest.approx(2.0) and table.loc["how-to", "speedup"] == pytest.approx(4.0)
    assert table.loc["how-to", "answers"] == 1 and table["identical_answers"].sum() == 4
    line = analysis.kind_findings(table.reset_index())[0]
    assert "questions by-kind" in line and "questions: 2.00x as fast as plain decoding (median of 1 answers" in line
    assert analysis.decode_less_table([plain, {**lookup, "questions": "first"}]).empty  # other prompts: not paired
    first = _row("plain", [4.0] * 3, ["a", "b", "c"])  # an early row: the first FAQ questions after the warm-up
    assert analysis.question_ids(first) == ["faq-001", "faq-002", "faq-003"]


def test_the_speedup_by_kind_plot_draws_a_row_per_kind_and_mode():
    from helpers.latency import plots

    table = pd.DataFrame(
        [{"kind": k, "runtime": r, "weights": w, "mode": "prompt lookup", "speedup": 1.5, "speedup_min": 1.0,
          "speedup_max": 2.0} for k in ("why", "how-to") for r, w in (("genai-2026", "int8"), ("llama.cpp", "gguf"))]
    )
    fig = plots.speedup_by_kind(table)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][0] == "how-to | int8, prompt lookup"
