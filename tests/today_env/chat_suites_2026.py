"""LangChain's standard suites on ChatOpenVINOGenAI again, in the today environment (OpenVINO GenAI 2026), where
structured output is declared and therefore tested (``with_structured_output`` through GenAI's StructuredOutputConfig).

Run by ``tests/test_genai_chat.py::test_langchain_standard_suites_pass_on_genai_2026`` with the today environment's
pytest (no ``test_`` prefix: the seed environment's run never collects this file). ``COOKBOOK_SUITE_IR`` names the
SmolLM2-135M int4 IR the seed-side suites use; :func:`helpers.llm.tokenizer_irs.genai_folder` gives it tokenizer IRs
made by this environment's openvino-tokenizers, which GenAI 2026's grammar engine needs.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from helpers.llm.tokenizer_irs import genai_folder
from tests.test_genai_chat import _Declared, benchmark  # noqa: F401  (benchmark: the suites' untimed fixture)


@functools.cache
def _model_dir() -> Path:
    return genai_folder(Path(os.environ["COOKBOOK_SUITE_IR"]))


class _Declared2026(_Declared):
    @property
    def model_dir(self) -> Path:
        return _model_dir()

    @property
    def has_structured_output(self) -> bool:
        return True  # GenAI 2026: constrained decoding to a JSON Schema

    @property
    def structured_output_kwargs(self) -> dict:
        return {"method": "json_schema"}

    @property
    def supports_json_mode(self) -> bool:
        return True  # the same grammar: JSON of the schema


class TestChatOpenVINOGenAI2026Unit(_Declared2026, ChatModelUnitTests):
    """LangChain's unit suite on GenAI 2026."""


class TestChatOpenVINOGenAI2026Integration(_Declared2026, ChatModelIntegrationTests):
    """LangChain's integration suite on GenAI 2026, structured output included."""
