"""``python -m helpers.models``: build and verify every offline model (see :mod:`helpers.models.provision`)."""

from helpers.models.provision import main

raise SystemExit(main())
