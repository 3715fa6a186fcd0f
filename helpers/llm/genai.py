"""Notebooks 01, 03, 04, 06: OpenVINO GenAI's C++ ``LLMPipeline`` (openvino-genai 2024.2) as a LangChain LLM, and the
tokenizer IRs it reads.

``LLMPipeline`` loads a folder with a *stateful* ``openvino_model.xml`` (KV cache inside: 3 or 4 inputs) plus
``openvino_tokenizer.xml`` / ``openvino_detokenizer.xml`` (:func:`convert_tokenizer_irs`), then tokenizes, decodes and
detokenizes in C++. What 2024.2 lacks or gets wrong, and what this module does about it:

* Its callable streamer (``str -> bool``) raises ``UnicodeDecodeError`` when a token ends inside a multi-byte
  character: a ``StreamerBase`` subclass (``put(token_id) -> bool``, ``end()``) re-decodes the ids instead.
  ``generate`` holds the GIL in C++, so :meth:`OpenVINOGenAILLM._stream` runs it in a worker thread.
* No stop strings, no ``min_new_tokens``, no perf metrics: stop sequences are cut here (GenAI is told to stop once one
  appears); fix the output length with ``ignore_eos=True``; :meth:`OpenVINOGenAILLM.generate_timed` times tokens.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Self

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.llms import LLM
from langchain_core.outputs import GenerationChunk
from pydantic import ConfigDict, PrivateAttr, model_validator

from helpers.core.genai_timing import token_ids
from helpers.core.settings import enforce_offline, ov_config
from helpers.llm.common import OV_XML_NAME, load_tokenizer
from helpers.llm.openvino_build import check_stateful
from helpers.llm.tokenizer_irs import DETOKENIZER_XML, TOKENIZER_XML, convert_tokenizer_irs

MODEL_XML = OV_XML_NAME  # the stateful LLM IR GenAI loads
#: OpenVINO LLM compilation has crashed (SIGFPE) with ``INFERENCE_NUM_THREADS=1``: 1 is raised to this.
MIN_THREADS = 2
PRECISION_HINTS = ("f32", "bf16")
#: Generation settings a single call may override: ``llm.invoke(prompt, max_new_tokens=8)``.
GENERATION_FIELDS = ("max_new_tokens", "ignore_eos", "do_sample", "temperature", "top_p", "top_k", "repetition_penalty")

logger = logging.getLogger(__name__)


def cut_at_stop(text: str, stops: Sequence[str]) -> str:
    """``text`` up to (not including) the earliest of its stop sequences."""
    found = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return text[: min(found)] if found else text


class _StopScanner:
    """Takes streamed text; releases only text that can no longer turn out to be part of a stop sequence."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops, self.text, self.sent, self.stopped = [s for s in stops if s], "", 0, False

    def feed(self, chunk: str) -> str:
        """Add a chunk, return the newly releasable text; ``stopped`` turns True once a stop sequence appears."""
        if self.stopped:
            return ""
        self.text += chunk
        safe = len(cut_at_stop(self.text, self.stops))
        self.stopped = safe < len(self.text)
        if not self.stopped:  # hold back the longest tail that starts a stop sequence
            tails = [k for s in self.stops for k in range(1, len(s)) if self.text.endswith(s[:k])]
            safe -= max(tails, default=0)
        out, self.sent = self.text[self.sent : max(safe, self.sent)], max(safe, self.sent)
        return out

    def flush(self) -> str:
        """The held-back tail once generation has ended without a stop sequence."""
        out, self.sent = ("" if self.stopped else self.text[self.sent :]), len(self.text)
        return out


def prompt_token_ids(tokenizer: Any, prompts: Sequence[str]) -> list[list[int]]:
    """Each prompt as the model's own Hugging Face tokenizer encodes it (no special tokens added): what GenAI is fed
    so it sees the same tokens as torch, ITREX and llama.cpp (see :meth:`OpenVINOGenAILLM.encode`). ``tokenizer``:
    a loaded tokenizer, or the model (IR) folder to load it from."""
    if isinstance(tokenizer, (str, Path)):
        tokenizer = load_tokenizer(tokenizer)
    return [tokenizer.encode(prompt, add_special_tokens=False) for prompt in prompts]


@functools.cache
def _streamer_class() -> type:
    """``openvino_genai.StreamerBase`` subclass: token ids in, text out through a :class:`_StopScanner`, times kept."""
    import openvino_genai

    class TextStreamer(openvino_genai.StreamerBase):
        def __init__(self, tokenizer: Any, stops: Sequence[str] = (), sink: Callable[[str], Any] | None = None) -> None:
            super().__init__()
            self.tokenizer, self.scanner, self.sink = tokenizer, _StopScanner(stops), sink
            self.tokens: list[int] = []
            self.times: list[float] = []
            self.cancel = threading.Event()
            self.decoded = 0

        def _decode(self) -> str:  # batch overload: 2024.2's decode(list[int]) returns a garbage int
            return self.tokenizer.decode([self.tokens])[0] if self.tokens else ""

        def _emit(self, text: str) -> None:
            piece, self.decoded = text[self.decoded :], max(self.decoded, len(text))
            out = self.scanner.feed(piece)
            if self.sink is not None and out:
                self.sink(out)

        def put(self, token: int) -> bool:
            """Called by GenAI per new token; True tells it to stop."""
            self.times.append(time.perf_counter())
            self.tokens.append(token)
            if self.sink is not None or self.scanner.stops:  # timing only: no decoding
                self._emit(self._decode().rstrip("\ufffd"))  # a split character waits for its other bytes
            return self.scanner.stopped or self.cancel.is_set()

        def write(self, token: Any) -> Any:
            """GenAI 2025+ calls this instead of ``put``: one id, or a list when a step accepts several."""
            stop = any([self.put(t) for t in token_ids(token)])  # every id kept, even after a stop
            return openvino_genai.StreamingStatus.STOP if stop else openvino_genai.StreamingStatus.RUNNING

        def end(self) -> None:
            """2024.2 skips this when it stops early: :meth:`finish` runs after ``generate`` instead."""

        def finish(self) -> None:
            """Hand out what is left (held-back split characters, a tail that did not become a stop sequence)."""
            self._emit(self._decode())
            if self.sink is not None and (tail := self.scanner.flush()):
                self.sink(tail)

    return TextStreamer


def _check_generation(values: dict[str, Any]) -> None:
    """ValueError naming the field, its value and the allowed values for a bad generation setting."""
    sampling = bool(values["do_sample"])
    rules = {
        "max_new_tokens": (lambda v: isinstance(v, int) and v >= 1, "integers >= 1"),
        "temperature": (lambda v: v > 0 or not sampling, "floats > 0 (with do_sample=True)"),
        "top_p": (lambda v: 0 < v <= 1, "floats in (0, 1]"),
        "top_k": (lambda v: isinstance(v, int) and v >= 1, "integers >= 1"),
        "repetition_penalty": (lambda v: v > 0, "floats > 0"),
    }
    for name, (ok, allowed) in rules.items():
        if not ok(values[name]):
            raise ValueError(f"{name}={values[name]!r} is invalid: allowed values are {allowed}")


def require_structured_output() -> None:
    """NotImplementedError, naming the installed version, unless this GenAI has structured output (2025.1+)."""
    import openvino_genai

    if not hasattr(openvino_genai, "StructuredOutputConfig"):
        raise NotImplementedError(
            f"structured output needs openvino-genai >= 2025.1 (StructuredOutputConfig); this environment has "
            f"{openvino_genai.__version__.split('-')[0]}: run it in the today environment (.venv-today)"
        )


def structured_output_config(json_schema: str) -> Any:
    """GenAI's ``StructuredOutputConfig`` for a JSON Schema (text); NotImplementedError on a runtime without it."""
    import openvino_genai

    require_structured_output()
    return openvino_genai.StructuredOutputConfig(json_schema=json_schema)


class OpenVINOGenAILLM(LLM):
    """LangChain LLM over ``openvino_genai.LLMPipeline`` on CPU (greedy by default; created lazily, kept).

    ``stop`` (default stop sequences) is replaced by a call's own ``stop``. Pass ``ignore_eos=True`` with
    ``max_new_tokens`` for fixed-length timing. ``num_threads=1`` is raised to 2 (OpenVINO LLM compile crashed).
    """

    model_config = ConfigDict(protected_namespaces=())

    model_dir: Path
    tokenizer_dir: Path | None = None  # the Hugging Face tokenizer's folder when it is not inside model_dir
    num_threads: int = MIN_THREADS
    precision_hint: str | None = None
    max_new_tokens: int = 64
    ignore_eos: bool = False
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 50
    repetition_penalty: float = 1.0
    stop: list[str] = []

    _pipe: Any = PrivateAttr(default=None)
    _hf_tokenizer: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.RLock)  # one generate at a time per pipeline

    @model_validator(mode="after")
    def _check(self) -> OpenVINOGenAILLM:
        """Refuse bad settings and missing files before anything is loaded."""
        if not isinstance(self.num_threads, int) or self.num_threads < 1:
            raise ValueError(f"num_threads={self.num_threads!r} is invalid: allowed values are integers >= 1")
        if self.precision_hint is not None and self.precision_hint not in PRECISION_HINTS:
            allowed = ", ".join(map(repr, (None, *PRECISION_HINTS)))
            raise ValueError(f"precision_hint={self.precision_hint!r} is invalid: allowed values are {allowed}")
        _check_generation({name: getattr(self, name) for name in GENERATION_FIELDS})
        for name in (MODEL_XML, TOKENIZER_XML, DETOKENIZER_XML):
            if not (self.model_dir / name).is_file():
                raise FileNotFoundError(
                    f"model_dir={str(self.model_dir)!r} has no {name}: allowed is a folder with {MODEL_XML} "
                    f"(stateful), {TOKENIZER_XML} and {DETOKENIZER_XML} (see convert_tokenizer_irs)"
                )
        return self

    @classmethod
    def from_model_dir(cls, model_dir: str | Path, *, tokenizer_dir: str | Path | None = None, **fields: Any) -> Self:
        """Build the LLM over an IR folder; with ``tokenizer_dir``, missing tokenizer IRs are converted first."""
        model_dir = Path(model_dir)
        missing = not all((model_dir / n).is_file() for n in (TOKENIZER_XML, DETOKENIZER_XML))
        if tokenizer_dir is not None and missing:
            convert_tokenizer_irs(tokenizer_dir, model_dir)
        return cls(model_dir=model_dir, tokenizer_dir=tokenizer_dir, **fields)

    @property
    def _llm_type(self) -> str:
        return "openvino_genai"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        params = {name: getattr(self, name) for name in (*GENERATION_FIELDS, "num_threads", "precision_hint")}
        return {"model_dir": str(self.model_dir), **params, "stop": list(self.stop)}

    def plugin_config(self) -> dict[str, str]:
        """The OpenVINO CPU properties the pipeline is compiled with (threads fixed, optional precision hint)."""
        threads = max(MIN_THREADS, self.num_threads)
        if threads != self.num_threads:
            logger.warning("num_threads=%d raised to %d (1 crashed OpenVINO LLM compile)", self.num_threads, threads)
        config = ov_config(threads)
        if self.precision_hint is not None:
            config["INFERENCE_PRECISION_HINT"] = self.precision_hint
        return config

    def pipeline(self) -> Any:
        """The ``openvino_genai.LLMPipeline``, created on first use (IR checked to be stateful first)."""
        with self._lock:
            if self._pipe is None:
                enforce_offline()
                check_stateful(self.model_dir / MODEL_XML)  # the one stateful check (helpers.llm)
                # the HF tokenizer (transformers, hence torch) first: importing torch after a 2024.2 LLMPipeline is
                # compiled makes its generate() segfault at random (2 to 6 runs in 10 here; never with torch first)
                self.hf_tokenizer()
                import openvino_genai

                self._pipe = openvino_genai.LLMPipeline(str(self.model_dir), "CPU", self.plugin_config())
            return self._pipe

    def generation_config(self, json_schema: str | None = None, **overrides: Any) -> Any:
        """An ``openvino_genai.GenerationConfig`` from the fields, with per-call ``overrides`` (checked).

        ``json_schema`` (a JSON Schema as text) constrains the answer to JSON of that schema: GenAI's structured
        output, which 2025+ has and 2024.2 does not (NotImplementedError there, naming the runtime's version).
        """
        unknown = sorted(set(overrides) - set(GENERATION_FIELDS))
        if unknown:
            allowed = [*GENERATION_FIELDS, "json_schema"]
            raise ValueError(f"generation options {unknown} are invalid: allowed names are {allowed}")
        values = {name: overrides.get(name, getattr(self, name)) for name in GENERATION_FIELDS}
        _check_generation(values)
        # start from the pipeline's own config: it carries the model's eos_token_id (a fresh GenerationConfig has -1,
        # so generation would run past the end of the answer into a made-up next turn)
        config = self.pipeline().get_generation_config()
        for name, value in values.items():
            setattr(config, name, value)
        if json_schema is not None:
            config.structured_output_config = structured_output_config(json_schema)
        return config

    def encode(self, prompt: str) -> Any:
        """``openvino_genai.TokenizedInputs`` from the model's own Hugging Face tokenizer (the IR folder's files).

        GenAI could tokenize the text itself, but the 2024.2 tokenizer IR of this model splits chat special tokens
        such as ``<|im_start|>`` into plain text pieces (66 tokens instead of 37 for a one-line chat prompt), and
        the model then imitates the broken markup instead of answering. Decoding ids back to text is correct.
        """
        import numpy as np
        import openvino as ov
        import openvino_genai

        self.pipeline()  # loads the HF tokenizer first (see pipeline())
        ids = np.asarray(prompt_token_ids(self.hf_tokenizer(), [prompt]), dtype=np.int64)
        return openvino_genai.TokenizedInputs(ov.Tensor(ids), ov.Tensor(np.ones_like(ids)))

    def hf_tokenizer(self) -> Any:
        """The model's own Hugging Face tokenizer (loaded once, offline, from the tokenizer or model folder)."""
        if self._hf_tokenizer is None:
            self._hf_tokenizer = load_tokenizer(self.tokenizer_dir or self.model_dir)
        return self._hf_tokenizer

    def _streamer(self, stop: list[str] | None, sink: Callable[[str], Any] | None = None) -> Any:
        stops = self.stop if stop is None else stop  # a call's own stop list replaces the default
        return _streamer_class()(self.pipeline().get_tokenizer(), stops, sink)

    def _call(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> str:
        """Generate in one piece; with stop sequences GenAI is halted at the first one and the text cut there."""
        config, streamer, pipe = self.generation_config(**kwargs), self._streamer(stop), self.pipeline()
        with self._lock:
            pipe.generate(self.encode(prompt), config, streamer)  # token ids in: see encode()
        return cut_at_stop(streamer._decode(), streamer.scanner.stops)

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        """Yield text chunks as GenAI decodes them (a worker thread runs ``generate``); end at a stop sequence."""
        chunks: queue.Queue[str | Exception | None] = queue.Queue()
        config, streamer, pipe = self.generation_config(**kwargs), self._streamer(stop, chunks.put), self.pipeline()

        def work() -> None:
            try:
                with self._lock:
                    pipe.generate(self.encode(prompt), config, streamer)
                streamer.finish()
            except Exception as exc:  # raised in the consumer
                chunks.put(exc)
            finally:
                chunks.put(None)

        worker = threading.Thread(target=work, name="openvino-genai-generate", daemon=True)
        worker.start()
        try:
            while (item := chunks.get()) is not None:
                if isinstance(item, Exception):
                    raise item
                chunk = GenerationChunk(text=item)
                if run_manager is not None:
                    run_manager.on_llm_new_token(item, chunk=chunk)
                yield chunk
        finally:
            streamer.cancel.set()  # a consumer that leaves early stops GenAI at its next token
            worker.join()

    def generate_timed(self, prompt: str, **overrides: Any) -> dict[str, Any]:
        """One timed generation (2024.2 has no perf metrics): text, new tokens, TTFT, decode ms/token, e2e seconds.

        No stop sequences and no decoding while it runs; pass ``ignore_eos=True`` to fix the length.
        """
        config, clock, pipe = self.generation_config(**overrides), self._streamer([]), self.pipeline()
        with self._lock:
            start = time.perf_counter()
            pipe.generate(self.encode(prompt), config, clock)
            total = time.perf_counter() - start
        text = clock._decode()
        n, times = len(clock.times), clock.times
        decode = (times[-1] - times[0]) / (n - 1) * 1000 if n > 1 else float("nan")
        ttft = (times[0] - start) * 1000 if n else float("nan")
        return {"text": text, "new_tokens": n, "ttft_ms": ttft, "decode_ms_per_token": decode, "e2e_s": total}
