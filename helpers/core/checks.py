"""Every notebook: the one check of a name against the names a function accepts, with the error the cookbook gives
for bad input (the field, the value, the allowed values), raised before any heavy work."""

from __future__ import annotations

from collections.abc import Iterable


def check_choice(field: str, value: object, allowed: Iterable[object]) -> None:
    """Raise ``ValueError`` naming ``field``, ``value`` and the ``allowed`` values unless ``value`` is one of them."""
    names = list(allowed)
    if value not in names:
        raise ValueError(f"{field}={value!r} is unknown: allowed values are {', '.join(map(str, names))}")
