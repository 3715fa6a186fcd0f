"""helpers.size.answers on fakes (no model is loaded): questions across the FAQ, bad names refused before any build,
one row per model, format and question, resumable, and the summary's means with intervals."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document

from helpers.size import answers


class FakeRetriever:
    def invoke(self, question):
        return [Document(page_content="Use the pickle or shelve modules.", metadata={"source": "faq/library.rst"})]


class FakeLLM:
    def __init__(self, reply):
        self.reply = reply
        self.prompts = []

    def invoke(self, prompt):
        self.prompts.append(prompt)
        return self.reply


class FakeTokenizer:
    def apply_chat_template(self, messages, tokenize, add_generation_prompt):
        return f"<user>{messages[-1]['content']}<assistant>"


@pytest.fixture
def fakes(monkeypatch):
    loaded = []

    def answering_llm(model, fmt, num_threads, max_new_tokens=answers.MAX_NEW_TOKENS):
        loaded.append((model, fmt))
        return FakeLLM("pickle or shelve" if model == "qwen2.5-coder-0.5b-instruct" else "no idea"), FakeTokenizer()

    monkeypatch.setattr(
        answers, "faq_retriever", lambda num_threads, k=answers.TOP_K, chunking=answers.CHUNKING: FakeRetriever()
    )
    monkeypatch.setattr(answers, "answering_llm", answering_llm)
    return loaded


def test_questions_come_from_every_page_and_bad_counts_are_refused():
    picked = answers.questions(24)
    assert len({qa.id for qa in picked}) == 24 and len({qa.source for qa in picked}) > 3
    assert picked == answers.questions(24)  # fixed seed
    with pytest.raises(ValueError, match="questions=0 is invalid: allowed values are 1 to"):
        answers.questions(0)


def test_bad_names_are_refused_before_any_model_is_built(fakes, tmp_path):
    with pytest.raises(ValueError, match="model='gpt-5' is unknown"):
        answers.run(["gpt-5"], ["fp32"], 2, out=tmp_path / "a.jsonl")
    with pytest.raises(ValueError, match="format='int3' is unknown: allowed values are fp32, int8, int4"):
        answers.run(["smollm2-135m-instruct"], ["int3"], 2, out=tmp_path / "a.jsonl")
    with pytest.raises(ValueError, match="chunking='words' is unknown: allowed values are questions, characters"):
        answers.run(["smollm2-135m-instruct"], ["int8"], 2, out=tmp_path / "a.jsonl", chunkings=("words",))
    assert not fakes


def test_one_row_per_case_resumable_and_summarised(fakes, tmp_path):
    out = tmp_path / "rag_answers.jsonl"
    names, formats = ["smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"], ["fp32", "int4"]
    store = answers.run(names, formats, 3, out=out)
    rows = store.to_frame()
    assert len(rows) == 12 and set(rows["status"]) == {"ok"}
    assert fakes == [(m, f) for m in names for f in formats]  # each model and format loaded once
    qwen = rows[rows["model"] == "qwen2.5-coder-0.5b-instruct"]
    assert (qwen["support"] == 1.0).all() and (qwen["answer"] == "pickle or shelve").all()
    answers.run(names, formats, 3, out=out)  # resumed: nothing answered again
    assert len(fakes) == 4
    table = answers.summary(answers.ResultsStore(out).to_frame())
    assert list(table["questions"]) == [3, 3, 3, 3]
    by = table.set_index(["model", "format"])
    assert by.loc[("smollm2-135m-instruct", "fp32"), "support"] == 0.0
    assert (table["token_f1_lo"] <= table["token_f1"]).all() and (table["token_f1"] <= table["token_f1_hi"]).all()


def test_the_readme_shows_the_answers_of_a_profile_not_as_a_sweep(fakes, tmp_path):
    from helpers.core.settings import results_path
    from helpers.core.timing import profile_record
    from helpers.publish import readme

    profile = profile_record(2)["profile"]  # the rows are stamped with this machine's profile
    out = results_path("rag_answers", profile=profile, root=tmp_path)
    answers.run(["qwen2.5-coder-0.5b-instruct"], ["int4"], 2, out=out)
    text = "\n\n".join(readme.profile_sections(profile, tmp_path))
    assert f"#### Does the RAG chain answer? ({profile})" in text and "Weight-only sweep" not in text
    assert "| qwen2.5-coder-0.5b-instruct | int4" in text


def test_rows_of_another_prompt_are_answered_again_and_never_summarised(fakes, tmp_path):
    out = tmp_path / "rag_answers.jsonl"
    answers.run(["qwen2.5-coder-0.5b-instruct"], ["int8"], 2, out=out)
    store = answers.ResultsStore(out)
    for row in store.rows():  # the same questions, answered earlier with another prompt
        store.append({**row, "prompt_id": "an-old-one", "f1": 0.0})
    assert answers.summary(store.to_frame()).empty
    answers.run(["qwen2.5-coder-0.5b-instruct"], ["int8"], 2, out=out)
    assert len(fakes) == 2  # answered again with the current prompt
    table = answers.summary(store.to_frame())
    assert list(table["questions"]) == [2]
    assert set(store.to_frame()["prompt_id"]) == {answers.prompt_id()}


def test_each_chunking_has_its_rows_and_the_gain_is_paired_by_question(fakes, tmp_path):
    out = tmp_path / "rag_answers.jsonl"
    answers.run(["qwen2.5-coder-0.5b-instruct"], ["int8"], 3, out=out, chunkings=answers.CHUNKINGS)
    store = answers.ResultsStore(out)
    frame = store.to_frame()
    assert len(frame) == 6 and set(frame["chunking"]) == set(answers.CHUNKINGS)
    characters = frame[frame["chunking"] == "characters"]
    assert not characters["key"].str.endswith("/characters").any()  # the first rows' keys, unchanged
    for row in characters.to_dict("records"):  # as the first rows were written: no chunking, a lower F1
        store.append({**{k: v for k, v in row.items() if k != "chunking"}, "f1": row["f1"] - 0.25})
    table = answers.summary(store.to_frame())
    assert sorted(table["chunking"]) == ["characters", "questions"] and list(table["questions"]) == [3, 3]
    gain = answers.chunking_gain(store.to_frame(), "qwen2.5-coder-0.5b-instruct", "int8")
    assert "token F1 by +0.250 [+0.250, +0.250] over the same 3 scored questions" in gain
    assert answers.chunking_gain(store.to_frame(), "smollm2-135m-instruct", "int8") == ""


def test_held_out_questions_are_never_scored_ones_and_are_summarised_apart(fakes, tmp_path):
    scored, held = answers.question_set("scored", 24), answers.question_set("held-out", 24)
    assert len(held) == 24 and not {qa.id for qa in held} & {qa.id for qa in scored}
    assert scored == answers.questions(24)  # the first scored questions: the first rows' ones
    everything = answers.question_set("scored", 148)  # the whole FAQ but the held-out questions
    assert {qa.id for qa in scored} < {qa.id for qa in everything} and not set(everything) & set(held)
    with pytest.raises(ValueError, match="question_set='dev' is unknown: allowed values are scored, held-out"):
        answers.question_set("dev", 3)
    with pytest.raises(ValueError, match="questions=100 is invalid for held-out questions: allowed values are 1 to"):
        answers.question_set("held-out", 100)
    out = tmp_path / "rag_answers.jsonl"
    answers.run(["qwen2.5-coder-0.5b-instruct"], ["int8"], 2, out=out)
    answers.run(["qwen2.5-coder-0.5b-instruct"], ["int8"], 2, out=out, asked="held-out")
    frame = answers.ResultsStore(out).to_frame()
    assert len(frame) == 4 and frame["key"].str.endswith("/held-out").sum() == 2
    table = answers.summary(frame)
    assert sorted(table["question_set"]) == ["held-out", "scored"] and list(table["questions"]) == [2, 2]


def test_more_scored_questions_are_summarised_apart_with_the_bar_verdict(fakes, tmp_path):
    out = tmp_path / "rag_answers.jsonl"
    answers.run(["smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"], ["int8"], 24, out=out)
    answers.run(["qwen2.5-coder-0.5b-instruct"], ["int8"], 30, out=out)  # six more scored questions for one model
    rows = answers.ResultsStore(out).to_frame()
    assert len(rows) == 54
    table = answers.summary(answers.comparable(rows))
    assert list(table["questions"]) == [24, 24]  # compared on the same questions
    (line,) = answers.whole_faq_lines(rows)
    assert line.startswith("qwen2.5-coder-0.5b-instruct int8 (pages cut at questions) over all 30 scored questions")
    assert "(bar >= 0.45: " in line
    assert answers.whole_faq_lines(rows, "smollm2-135m-instruct") == []


def test_the_answer_is_cut_at_the_next_passage_and_what_that_changed_is_paired(monkeypatch, tmp_path):
    def answering_llm(model, fmt, num_threads, max_new_tokens=answers.MAX_NEW_TOKENS):
        return FakeLLM("pickle or shelve\n[2] (faq/library.rst) Use a database."), FakeTokenizer()

    monkeypatch.setattr(
        answers, "faq_retriever", lambda num_threads, k=answers.TOP_K, chunking=answers.CHUNKING: FakeRetriever()
    )
    monkeypatch.setattr(answers, "answering_llm", answering_llm)
    out = tmp_path / "rag_answers.jsonl"
    rows = answers.run(["qwen2.5-coder-0.5b-instruct"], ["int8"], 3, out=out).to_frame()
    assert (rows["answer"] == "pickle or shelve").all() and rows["stopped"].all()
    assert (rows["f1"] != rows["f1_unstopped"]).any()  # the text past the stop was scored too
    gain = answers.stop_gain(rows, "qwen2.5-coder-0.5b-instruct", "int8")
    assert gain.startswith(
        "stopping at the next passage's marker changed qwen2.5-coder-0.5b-instruct int8's token F1 by "
    )
    assert gain.endswith("over the same 3 scored questions (3 answers stopped there)")
    assert answers.stop_gain(rows, "qwen2.5-coder-0.5b-instruct", "int8", "held-out") == ""
