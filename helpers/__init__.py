"""Every notebook: the plumbing around the cookbook's recipes, one folder per chapter or job.

Layers, top to bottom (a folder imports only the folders below it; import-linter checks it in ``make lint``)::

    publish/                README block, decision guide, site                        make run / make test
    sweep/ latency/ size/   chapter engines: weight-only sweeps (04-05), RAG latency (06), what size changes
    llm/  rag/  tools/      LLM builds and LangChain models (03); embedders + RAG (01); notebook runner, pre-flight
    models/   data.py       offline models (hash-checked) and data sets
    core/                   settings, results, profiles, runner, cached builds, timing, intervals, metrics, plots
    device/   quant/        the CPU and its ISA class; WeightOnlyQuantConfig, its backends and arithmetic (02)

The recipes a reader copies (the LangChain, ITREX, OpenVINO and NNCF calls) are written in the notebooks' cells.
"""
