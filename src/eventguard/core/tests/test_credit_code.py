import random

import pytest
from django.core.exceptions import ValidationError

from eventguard.core.credit_code import (
    credit_code_error,
    generate_credit_code,
    validate_credit_code,
)

# Codes published by real organisations (their check characters are known to be right).
REAL_CODES = ["91310000MA1FL1MMXL", "91110000600037341L", "91440300708461136T"]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_pass(code):
    validate_credit_code(code)


def test_generated_codes_pass():
    rng = random.Random(1)
    for _ in range(200):
        assert credit_code_error(generate_credit_code(rng)) is None


@pytest.mark.parametrize(
    "code, fragment",
    [
        ("91310000MA1FL1MMXA", "should be L"),
        ("91310000MA1FL1MMX", "18 characters"),
        ("91310000MA1FL1MMIL", "not allowed"),
        ("", "18 characters"),
    ],
)
def test_bad_codes_name_the_problem(code, fragment):
    with pytest.raises(ValidationError) as info:
        validate_credit_code(code)
    assert fragment in " ".join(info.value.messages)
