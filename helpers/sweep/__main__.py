"""``python -m helpers.sweep --grid NAME``: run or resume a sweep grid (see :mod:`helpers.sweep.run`)."""

from helpers.sweep.run import main

raise SystemExit(main())
