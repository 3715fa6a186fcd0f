"""``python -m helpers.latency --threads N``: the RAG-shaped latency cases (see :mod:`helpers.latency.cases`)."""

from helpers.latency.cases import main

raise SystemExit(main())
