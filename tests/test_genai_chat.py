"""helpers.llm.genai_chat.ChatOpenVINOGenAI under LangChain's own standard suites (langchain-tests), offline, on
SmolLM2-135M-Instruct's int4 IR (the cookbook's cached build), served by OpenVINO GenAI 2024.2.

Runs in the GenAI test process (make unit): see the Makefile for why GenAI's tests get a process of their own. What a
local GenAI 2024.2 model does not do (tool calling, structured output, JSON mode, images, audio, PDF) is declared
through the suites' own properties, so those tests skip with the suite's reason.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

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
    def chat_model_params(self) -> dict:
        return {"model_dir": smollm2_int4_ir(), "num_threads": 2, "precision_hint": "f32"}

    @property
    def has_tool_calling(self) -> bool:
        return False

    @property
    def has_structured_output(self) -> bool:
        return False  # GenAI 2024.2 has no constrained decoding

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
