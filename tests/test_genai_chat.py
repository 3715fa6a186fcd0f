"""helpers.llm.genai_chat.ChatOpenVINOGenAI under LangChain's own standard suites (langchain-tests), offline, on
SmolLM2-135M-Instruct's int4 IR (the cookbook's cached build), served by OpenVINO GenAI 2024.2 here and by GenAI 2026
in the today environment (tests/today_env/chat_suites_2026.py, structured output declared there).

Runs in the GenAI test process (make unit): see the Makefile for why GenAI's tests get a process of their own. What a
local GenAI 2024.2 model does not do (tool calling, structured output, JSON mode, images, audio, PDF) is declared
through the suites' own properties, so those tests skip with the suite's reason.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from pathlib import Path
from typing import Literal

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests
from pydantic import BaseModel

from helpers.core.settings import REPO_ROOT
from helpers.llm.genai_chat import ChatOpenVINOGenAI, chat_turns

pytestmark = pytest.mark.slow


@functools.cache
def smollm2_int4_ir() -> Path:
    """SmolLM2-135M-Instruct, int4 sym g64 (the cached IR notebooks 01, 03 and 06 build; built here if missing)."""
    from helpers.llm import variants

    return variants.openvino_int4_dir()


@pytest.fixture
def benchmark():
    """Stands in for pytest-benchmark's fixture in the suites' init-time test (its plugin is off, pyproject addopts):
    below 5.3 it does not run on pytest 9 (it reads ``node._nodeid``), and 5.3 replaces py-cpuinfo's module with
    py-cpuinfo2's. The test's loop of constructions runs once: construction is checked, not its time (tests never
    assert timings)."""
    return lambda function, *args, **kwargs: function(*args, **kwargs)


class _Declared:
    """What the model is and what it does not do, shared by both suites."""

    @property
    def chat_model_class(self) -> type[ChatOpenVINOGenAI]:
        return ChatOpenVINOGenAI

    @property
    def model_dir(self) -> Path:
        return smollm2_int4_ir()

    @property
    def chat_model_params(self) -> dict:
        return {"model_dir": self.model_dir, "num_threads": 2, "precision_hint": "f32"}

    @property
    def has_tool_calling(self) -> bool:
        return False

    @property
    def has_structured_output(self) -> bool:
        return False  # GenAI 2024.2 has no constrained decoding (GenAI 2026's is tested below, in the today env)

    @property
    def supports_json_mode(self) -> bool:
        return False

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supports_model_override(self) -> bool:
        return False  # the model is the IR folder the pipeline compiled, not a name a call could swap


class TestChatOpenVINOGenAIUnit(_Declared, ChatModelUnitTests):
    """LangChain's unit suite: construction, standard parameters, serialisation, init time."""


class TestChatOpenVINOGenAIIntegration(_Declared, ChatModelIntegrationTests):
    """LangChain's integration suite, run for real on the local model (no network)."""


def test_messages_go_through_the_models_own_chat_template() -> None:
    model = ChatOpenVINOGenAI(model_dir=smollm2_int4_ir(), max_tokens=8)
    prompt = model.prompt_text([SystemMessage("Be brief."), HumanMessage("Hi"), AIMessage("Hello"), HumanMessage("?")])
    assert prompt.startswith("<|im_start|>system\nBe brief.<|im_end|>")
    assert prompt.endswith("<|im_start|>user\n?<|im_end|>\n<|im_start|>assistant\n")


def test_greedy_answers_repeat_and_max_tokens_bounds_them() -> None:
    model = ChatOpenVINOGenAI(model_dir=smollm2_int4_ir(), max_tokens=12)
    first, second = (model.invoke("Name a colour.") for _ in range(2))
    assert first.content == second.content
    assert 0 < first.usage_metadata["output_tokens"] <= 12 + 1  # re-encoding the text may merge or split one token


def test_bad_settings_are_refused_with_the_field_and_the_allowed_values(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"temperature=-1\.0 is invalid: allowed values are 0 \(greedy\) or > 0"):
        ChatOpenVINOGenAI(model_dir=smollm2_int4_ir(), temperature=-1.0)
    with pytest.raises(ValueError, match="max_tokens=0 is invalid: allowed values are None or integers >= 1"):
        ChatOpenVINOGenAI(model_dir=smollm2_int4_ir(), max_tokens=0)
    with pytest.raises(FileNotFoundError, match="has no openvino_model.xml"):
        ChatOpenVINOGenAI(model_dir=tmp_path)


def test_unknown_message_types_are_refused() -> None:
    class Odd(HumanMessage):
        type: str = "odd"

    with pytest.raises(ValueError, match="message type='odd' is invalid: allowed values are human, ai, system, tool"):
        chat_turns([Odd("x")])


class Verdict(BaseModel):
    """A one-word verdict and a year (short fields: a tiny model's answer stays within max_tokens)."""

    language: Literal["python", "c", "java"]
    year: int


def test_structured_output_is_refused_where_genai_has_none_and_bad_options_name_the_allowed() -> None:
    model = ChatOpenVINOGenAI(model_dir=smollm2_int4_ir(), max_tokens=8)
    with pytest.raises(NotImplementedError, match=r"openvino-genai >= 2025\.1 .*has 2024\.2.*today environment"):
        model.with_structured_output(Verdict)
    with pytest.raises(ValueError, match="method='xml' is invalid: allowed values are json_schema, function_calling, "):
        model.with_structured_output(Verdict, method="xml")
    with pytest.raises(ValueError, match="strict='yes' is invalid: allowed values are None, True, False"):
        model.with_structured_output(Verdict, strict="yes")
    with pytest.raises(ValueError, match="schema=None is invalid with method='json_schema'"):
        model.with_structured_output()


#: Run in the today environment (GenAI 2026): what a reader writes there, answers printed as JSON for the test.
STRUCTURED_RECIPE = """
import json
from typing import Literal
from pydantic import BaseModel
from typing_extensions import TypedDict
from helpers.llm.genai_chat import ChatOpenVINOGenAI
from helpers.llm.tokenizer_irs import genai_folder

class Verdict(BaseModel):
    language: Literal["python", "c", "java"]
    year: int

class Pair(TypedDict):
    language: Literal["python", "c", "java"]
    year: int

chat = ChatOpenVINOGenAI(model_dir=genai_folder(model_dir), max_tokens=32)
question = "Which language has the Zen of Python, and when was it first released? Reply in JSON."
pydantic = chat.with_structured_output(Verdict).invoke(question)
raw = chat.with_structured_output(Pair, include_raw=True).invoke(question)
chunks = list(chat.with_structured_output(Pair).stream(question))
print(json.dumps({
    "pydantic": [type(pydantic).__name__, pydantic.model_dump()],
    "raw": [sorted(raw), raw["raw"].content, raw["parsed"], raw["parsing_error"]],
    "streamed": chunks[-1], "chunks": len(chunks),
}))
"""


def test_structured_output_on_genai_2026_gives_objects_of_the_schema() -> None:
    from helpers.today import runner

    printed = runner.run_python(STRUCTURED_RECIPE, {"model_dir": smollm2_int4_ir()}, timeout=900)
    answers = json.loads(printed.strip().splitlines()[-1])
    name, fields = answers["pydantic"]
    assert name == "Verdict" and Verdict.model_validate(fields)  # GenAI's grammar kept the answer to the schema
    keys, content, parsed, error = answers["raw"]
    assert keys == ["parsed", "parsing_error", "raw"] and error is None
    assert json.loads(content) == parsed and Verdict.model_validate(parsed)
    assert Verdict.model_validate(answers["streamed"]) and answers["chunks"] >= 1


def test_langchain_standard_suites_pass_on_genai_2026() -> None:
    """The same two suites in the today environment (GenAI 2026, structured output declared): its pytest runs
    ``tests/today_env/chat_suites_2026.py`` (the seed conftest stays out: it imports seed-only packages)."""
    from helpers.core.genai_timing import genai_python

    suite = Path(__file__).parent / "today_env" / "chat_suites_2026.py"
    command = [str(genai_python("2026")), "-m", "pytest", str(suite), "-q", "-p", "no:cacheprovider"]
    env = {**os.environ, "COOKBOOK_SUITE_IR": str(smollm2_int4_ir())}
    done = subprocess.run(
        [*command, f"--confcutdir={suite.parent}"], env=env, cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=1800,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert " passed" in summary and "failed" not in summary, summary
