"""Resident identity numbers (GB 11643): validation, masking and generation."""

from __future__ import annotations

import functools
import operator
from datetime import date
from typing import Annotated, Final

from pydantic import AfterValidator, WithJsonSchema

LENGTH: Final = 18
WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS: Final = "10X98765432"
_DIGITS: Final = frozenset("0123456789")
_BIRTH: Final = slice(6, 14)  # positions 7-14 (1-based): YYYYMMDD


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of 17 digits."""
    if len(first17) != LENGTH - 1 or not set(first17) <= _DIGITS:
        raise ValueError("the check character is computed over exactly 17 digits")
    total = sum(map(operator.mul, map(int, first17), WEIGHTS))
    return CHECK_CHARS[total % 11]


def _birth_date(digits8: str) -> date | None:
    try:
        return date(int(digits8[:4]), int(digits8[4:6]), int(digits8[6:8]))
    except ValueError:
        return None


def resident_id_error(s: str) -> str | None:
    """What is wrong with a resident identity number, or None when it is valid."""
    if len(s) != LENGTH:
        return f"resident identity number must be {LENGTH} characters, got {len(s)}"
    first17, check = s[:-1], s[-1]
    if not set(first17) <= _DIGITS:
        bad = next(i for i, c in enumerate(first17, start=1) if c not in _DIGITS)
        return f"resident identity number must start with 17 digits; position {bad} is not a digit"
    if check == "x":
        return "resident identity number check character must be an uppercase 'X'"
    if check not in _DIGITS and check != "X":
        return "resident identity number must end with a digit or 'X'"
    if _birth_date(s[_BIRTH]) is None:
        return (
            f"resident identity number has an impossible birth date {s[_BIRTH]!r} (positions 7-14)"
        )
    expected = check_character(first17)
    if check != expected:
        return (
            f"resident identity number has a bad check character {check!r}; expected {expected!r}"
        )
    return None


def is_valid_resident_id(s: str) -> bool:
    """True when `s` is a GB 11643 number: 18 characters, a real birth date, the right check."""
    return resident_id_error(s) is None


def mask_resident_id(s: str) -> str:
    """Keep the first 6 and the last 4 characters, mask the rest with '*'."""
    # Too short to have a middle: hide everything rather than leak most of it.
    if len(s) <= 10:
        return "*" * len(s)
    return s[:6] + "*" * (len(s) - 10) + s[-4:]


def make_resident_id(region6: str, birth: date, seq3: int) -> str:
    """A valid number for a region, birth date and 3-digit sequence (test and demo data)."""
    if len(region6) != 6 or not set(region6) <= _DIGITS:
        raise ValueError(f"region code must be 6 digits, got {region6!r}")
    if not 0 <= seq3 <= 999:
        raise ValueError(f"sequence must be within 0..999, got {seq3}")
    if not 1000 <= birth.year <= 9999:
        raise ValueError(f"birth year must have 4 digits, got {birth.year}")
    first17 = f"{region6}{birth:%Y%m%d}{seq3:03d}"
    return first17 + check_character(first17)


# The same persons come back in every event of their household, and every service decodes
# those events: remembering the verdicts saves most of the checking (64k ids, a few MB).
_remembered_error = functools.lru_cache(maxsize=1 << 16)(resident_id_error)


def _validate(s: str) -> str:
    error = _remembered_error(s)
    if error is not None:
        raise ValueError(error)
    return s


ResidentId = Annotated[
    str,
    AfterValidator(_validate),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[0-9]{17}[0-9X]$",
            "description": "18-character resident identity number (GB 11643, ISO 7064 MOD 11-2)",
        }
    ),
]
"""A GB 11643 resident identity number; pydantic reports what is wrong with a bad one."""
