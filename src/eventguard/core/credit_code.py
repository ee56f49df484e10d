"""Unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters from a 31-character alphabet (no I, O, Z, S, V); the last one is a
check character computed from the first 17 with the weights 3^i mod 31.
"""

import random

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}


def check_character(body: str) -> str:
    """The check character for the first 17 characters of a code."""
    total = sum(_VALUE[ch] * w for ch, w in zip(body, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_error(code: str) -> str | None:
    """Why ``code`` is not a valid credit code, or None when it is."""
    if len(code) != 18:
        return _("A unified social credit code has 18 characters; this one has %(n)d.") % {
            "n": len(code)
        }
    bad = sorted({ch for ch in code if ch not in _VALUE})
    if bad:
        return _("Characters not allowed in a unified social credit code: %(chars)s.") % {
            "chars": " ".join(bad)
        }
    expected = check_character(code[:17])
    if code[17] != expected:
        return _("Check character is %(found)s but should be %(expected)s.") % {
            "found": code[17],
            "expected": expected,
        }
    return None


def validate_credit_code(value: str) -> None:
    error = credit_code_error(value or "")
    if error:
        raise ValidationError(error, code="invalid_credit_code")


def generate_credit_code(rng: random.Random, *, division: str = "310115") -> str:
    """A valid code for test and scenario data: an enterprise (9, 1) in ``division``."""
    org = "".join(rng.choice(ALPHABET) for _ in range(9))
    body = "91" + division + org
    return body + check_character(body)
