"""helpers.core.checks: the one error for a name a function does not accept."""

import pytest

from helpers.core.checks import check_choice


def test_a_known_value_passes():
    check_choice("format", "int8", ("fp32", "int8"))
    check_choice("grid", "workshop", {"workshop": 1, "full": 2})  # a mapping's keys are its allowed values


def test_an_unknown_value_names_the_field_the_value_and_the_allowed_values():
    with pytest.raises(ValueError, match=r"format='int3' is unknown: allowed values are fp32, int8"):
        check_choice("format", "int3", ("fp32", "int8"))
