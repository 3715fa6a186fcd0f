"""``python -m helpers.device [--profile] [--threads N]``: this CPU's report (see :mod:`helpers.device.recommend`)."""

from helpers.device.recommend import main

raise SystemExit(main())
