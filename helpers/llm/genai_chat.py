"""Notebooks 01 and 06 (and tests/test_genai_chat.py, LangChain's standard suites): ``ChatOpenVINOGenAI``, a LangChain
chat model over OpenVINO GenAI's ``LLMPipeline``.

Messages go through the model's own chat template (its Hugging Face tokenizer's ``apply_chat_template``), then the
generation plumbing of :class:`helpers.llm.genai.OpenVINOGenAILLM` runs them: token ids in, stop sequences cut,
streaming from a worker thread. LangChain's standard parameters are honoured: ``temperature`` (0 is greedy),
``max_tokens``, ``stop``; ``timeout`` and ``max_retries`` are accepted and unused (no network). Token usage counts the
prompt's ids and the answer's ids. No tool calling. ``with_structured_output`` constrains the answer to JSON of a
schema through GenAI's structured output (2025+: the today environment); GenAI 2024.2 has no constrained decoding, so
there it raises NotImplementedError, and the standard suites (run on 2024.2) are told so through their own properties.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ChatMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import ConfigDict, PrivateAttr, model_validator

from helpers.llm.genai import MIN_THREADS, OpenVINOGenAILLM, require_structured_output
from helpers.models import chat_prompt

#: LangChain message types -> the chat-template roles of Hugging Face tokenizers.
ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}
#: New tokens per answer when neither the model nor the call sets ``max_tokens``.
DEFAULT_MAX_TOKENS = 256


@functools.cache
def _shared_llm(model_dir: Path, tokenizer_dir: Path | None, num_threads: int, precision_hint: str | None):
    """One compiled pipeline per IR folder and runtime settings: chat models re-created with the same settings (as
    chains and tests do) reuse it instead of compiling the IR again."""
    return OpenVINOGenAILLM(
        model_dir=model_dir, tokenizer_dir=tokenizer_dir, num_threads=num_threads, precision_hint=precision_hint
    )


def chat_turns(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages as ``{"role", "content"}`` turns for a chat template (text content only)."""
    turns = []
    for message in messages:
        role = message.role if isinstance(message, ChatMessage) else ROLES.get(message.type)
        if role is None:
            raise ValueError(f"message type={message.type!r} is invalid: allowed values are {', '.join(ROLES)}")
        turns.append({"role": role, "content": message.text})
    return turns


#: LangChain's ``with_structured_output`` methods, all served by GenAI's structured output (it has no tool calling).
STRUCTURED_METHODS = ("json_schema", "function_calling", "json_mode")


class ChatOpenVINOGenAI(BaseChatModel):
    """LangChain chat model over ``openvino_genai.LLMPipeline`` on CPU, for a folder holding a stateful IR, its
    tokenizer IRs and the model's Hugging Face tokenizer (with its chat template)."""

    model_config = ConfigDict(protected_namespaces=())

    model_dir: Path
    tokenizer_dir: Path | None = None  # the Hugging Face tokenizer's folder when it is not inside model_dir
    num_threads: int = MIN_THREADS
    precision_hint: str | None = None  # "f32" keeps BF16 CPUs from computing in bf16
    temperature: float = 0.0  # 0: greedy; > 0: sampling at that temperature
    max_tokens: int | None = DEFAULT_MAX_TOKENS  # new tokens per answer (None: DEFAULT_MAX_TOKENS)
    stop: list[str] | None = None
    timeout: float | None = None  # accepted: LangChain's standard parameter; a local model never waits on a network
    max_retries: int = 0  # accepted, as timeout
    streaming: bool = False  # accepted: stream() streams whatever this says

    _llm: OpenVINOGenAILLM = PrivateAttr()

    @model_validator(mode="after")
    def _check(self) -> ChatOpenVINOGenAI:
        """Refuse bad settings and missing files before anything is compiled."""
        if self.temperature < 0:
            raise ValueError(f"temperature={self.temperature!r} is invalid: allowed values are 0 (greedy) or > 0")
        if self.max_tokens is not None and (not isinstance(self.max_tokens, int) or self.max_tokens < 1):
            raise ValueError(f"max_tokens={self.max_tokens!r} is invalid: allowed values are None or integers >= 1")
        self.model_dir = Path(self.model_dir)
        tokenizer_dir = Path(self.tokenizer_dir) if self.tokenizer_dir is not None else None
        self._llm = _shared_llm(self.model_dir, tokenizer_dir, self.num_threads, self.precision_hint)
        return self

    @property
    def _llm_type(self) -> str:
        return "openvino_genai_chat"

    @property
    def model_name(self) -> str:
        """The IR folder's name, e.g. ``qwen2.5-coder-0.5b-instruct-fp32-int8_sym-pc-fda43fb1``."""
        return self.model_dir.name

    @property
    def _identifying_params(self) -> dict[str, Any]:
        fields = ("num_threads", "precision_hint", "temperature", "max_tokens", "stop")
        return {"model_dir": str(self.model_dir), **{name: getattr(self, name) for name in fields}}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider="openvino_genai",
            ls_model_name=kwargs.get("model", self.model_name),  # a per-call override names the call's model
            ls_model_type="chat",
            ls_temperature=self.temperature,
        )
        if self.max_tokens is not None:
            params["ls_max_tokens"] = self.max_tokens
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    def prompt_text(self, messages: Sequence[BaseMessage]) -> str:
        """The conversation in the model's own chat template, ending where the assistant's answer starts."""
        return chat_prompt(self._llm.hf_tokenizer(), chat_turns(messages))

    def _generation(self, **kwargs: Any) -> dict[str, Any]:
        """Per-call generation settings for OpenVINOGenAILLM: max_tokens / temperature of the call or the fields."""
        max_tokens = kwargs.pop("max_tokens", self.max_tokens) or DEFAULT_MAX_TOKENS
        temperature = kwargs.pop("temperature", self.temperature)
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        return {"max_new_tokens": max_tokens, **sampling, **kwargs}

    def _stops(self, stop: list[str] | None) -> list[str]:
        """The call's stop sequences (else the field's) and the tokenizer's end of turn, decoded as text by GenAI."""
        eos = self._llm.hf_tokenizer().eos_token
        return [*(stop if stop is not None else self.stop or []), *([eos] if eos else [])]

    def _metadata(self) -> dict[str, str]:
        """``response_metadata`` of every answer (the standard suites require the model's name)."""
        return {"model_name": self.model_name, "model_provider": "openvino_genai"}

    def _usage(self, prompt: str, answer: str) -> UsageMetadata:
        tokenizer = self._llm.hf_tokenizer()
        n_in = len(tokenizer.encode(prompt, add_special_tokens=False))
        n_out = len(tokenizer.encode(answer, add_special_tokens=False)) if answer else 0
        return UsageMetadata(input_tokens=n_in, output_tokens=n_out, total_tokens=n_in + n_out)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """One answer, in one piece."""
        prompt = self.prompt_text(messages)
        text = self._llm._call(prompt, stop=self._stops(stop), **self._generation(**kwargs))
        message = AIMessage(
            content=text,
            usage_metadata=self._usage(prompt, text),
            response_metadata=self._metadata(),
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Text chunks as GenAI decodes them; a last, empty chunk carries the token usage and the model name."""
        prompt = self.prompt_text(messages)
        pieces = []
        for piece in self._llm._stream(prompt, stop=self._stops(stop), **self._generation(**kwargs)):
            pieces.append(piece.text)
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece.text))
            if run_manager is not None:
                run_manager.on_llm_new_token(piece.text, chunk=chunk)
            yield chunk
        last = AIMessageChunk(
            content="",
            usage_metadata=self._usage(prompt, "".join(pieces)),
            response_metadata=self._metadata(),
            chunk_position="last",
        )
        yield ChatGenerationChunk(message=last)

    def with_structured_output(
        self,
        schema: dict | type | None = None,
        *,
        method: str = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable:
        """Answers constrained to JSON of ``schema`` (a Pydantic class, a TypedDict or a JSON Schema dict) by GenAI's
        structured output, parsed into that class (or a dict). ``include_raw=True`` returns ``{"raw", "parsed",
        "parsing_error"}`` as LangChain's other chat models do. GenAI has no tool calling, so every method of
        :data:`STRUCTURED_METHODS` is the same grammar (``json_mode`` without a schema: any JSON object), and the
        answer is always strict: the grammar never lets it leave the schema, whatever ``strict`` says."""
        if method not in STRUCTURED_METHODS:
            raise ValueError(f"method={method!r} is invalid: allowed values are {', '.join(STRUCTURED_METHODS)}")
        if strict not in (None, True, False):
            raise ValueError(f"strict={strict!r} is invalid: allowed values are None, True, False")
        if kwargs:
            raise ValueError(f"with_structured_output options {sorted(kwargs)} are invalid: allowed are none")
        if schema is None and method != "json_mode":
            raise ValueError(f"schema=None is invalid with method={method!r}: allowed only with method=json_mode")
        json_schema = json.dumps(convert_to_json_schema(schema) if schema is not None else {"type": "object"})
        require_structured_output()  # refuse a runtime without structured output now, not at invoke
        traced = {"kwargs": {"method": method}, "schema": schema}  # what LangSmith shows of a structured call
        model = self.bind(json_schema=json_schema, ls_structured_output_format=traced)
        pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        parser = PydanticOutputParser(pydantic_object=schema) if pydantic else JsonOutputParser()
        if not include_raw:
            return model | parser
        parsed = RunnablePassthrough.assign(parsed=itemgetter("raw") | parser, parsing_error=lambda _: None)
        failed = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=model) | parsed.with_fallbacks([failed], exception_key="parsing_error")
