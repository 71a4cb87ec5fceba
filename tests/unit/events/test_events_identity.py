"""GB 11643 resident identity numbers: check character, messages, masking, generation."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from events.identity import (
    ResidentId,
    check_character,
    is_valid_resident_id,
    make_resident_id,
    mask_resident_id,
    resident_id_error,
)

# The worked example of GB 11643 and a second well-known valid number.
STANDARD_EXAMPLE = "11010519491231002X"
OTHER_VALID = "440524188001010014"


def with_check(first17: str) -> str:
    return first17 + check_character(first17)


class Person(BaseModel):
    person_id: ResidentId


regions = st.text(alphabet="0123456789", min_size=6, max_size=6)
births = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))
sequences = st.integers(min_value=0, max_value=999)
valid_ids = st.builds(make_resident_id, regions, births, sequences)


@pytest.mark.parametrize("number", [STANDARD_EXAMPLE, OTHER_VALID])
def test_known_numbers_are_valid(number: str) -> None:
    assert is_valid_resident_id(number)
    assert resident_id_error(number) is None


def test_check_character_of_the_standard_example() -> None:
    assert check_character(STANDARD_EXAMPLE[:17]) == "X"
    assert check_character(OTHER_VALID[:17]) == "4"


def test_check_character_needs_17_digits() -> None:
    with pytest.raises(ValueError, match="17 digits"):
        check_character("1234")
    with pytest.raises(ValueError, match="17 digits"):
        check_character("1101051949123100A")


@pytest.mark.parametrize(
    ("number", "length"),
    [("", 0), (STANDARD_EXAMPLE[:17], 17), (STANDARD_EXAMPLE + "1", 19)],
)
def test_wrong_length_is_named(number: str, length: int) -> None:
    error = resident_id_error(number)
    assert error == f"resident identity number must be 18 characters, got {length}"
    assert not is_valid_resident_id(number)


def test_a_non_digit_names_its_position() -> None:
    error = resident_id_error("1101051949A231002X")
    assert error is not None
    assert "position 11 is not a digit" in error


def test_lowercase_x_is_refused_with_a_hint() -> None:
    error = resident_id_error(STANDARD_EXAMPLE.lower())
    assert error is not None
    assert "uppercase 'X'" in error


def test_a_letter_other_than_x_at_the_end_is_refused() -> None:
    error = resident_id_error(STANDARD_EXAMPLE[:17] + "A")
    assert error == "resident identity number must end with a digit or 'X'"


@pytest.mark.parametrize("birth", ["19490230", "19491301", "19490000", "19000229", "20230229"])
def test_an_impossible_birth_date_is_refused_even_with_the_right_check(birth: str) -> None:
    number = with_check("110105" + birth + "002")
    error = resident_id_error(number)
    assert error is not None
    assert "birth date" in error
    assert birth in error


def test_a_leap_day_birth_is_valid() -> None:
    assert is_valid_resident_id(with_check("110105" + "20000229" + "002"))


def test_a_bad_check_character_says_which_was_expected() -> None:
    error = resident_id_error(STANDARD_EXAMPLE[:17] + "1")
    assert error == "resident identity number has a bad check character '1'; expected 'X'"


def test_mask_keeps_first_six_and_last_four() -> None:
    assert mask_resident_id(STANDARD_EXAMPLE) == "110105********002X"


@pytest.mark.parametrize(
    ("raw", "masked"), [("", ""), ("12345", "*****"), ("1234567890", "*" * 10)]
)
def test_mask_hides_everything_when_there_is_no_middle(raw: str, masked: str) -> None:
    assert mask_resident_id(raw) == masked


def test_mask_of_another_length_keeps_the_same_ends() -> None:
    assert mask_resident_id("12345678901") == "123456*8901"


def test_make_resident_id_builds_the_standard_example() -> None:
    assert make_resident_id("110105", date(1949, 12, 31), 2) == STANDARD_EXAMPLE


@pytest.mark.parametrize(
    ("region", "birth", "seq", "message"),
    [
        ("11010", date(1990, 1, 1), 1, "region code"),
        ("11010A", date(1990, 1, 1), 1, "region code"),
        ("110105", date(1990, 1, 1), -1, "sequence"),
        ("110105", date(1990, 1, 1), 1000, "sequence"),
        ("110105", date(999, 1, 1), 1, "birth year"),
    ],
)
def test_make_resident_id_refuses_bad_parts(
    region: str, birth: date, seq: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_resident_id(region, birth, seq)


def test_pydantic_type_accepts_a_valid_number() -> None:
    assert Person(person_id=STANDARD_EXAMPLE).person_id == STANDARD_EXAMPLE
    assert (
        Person.model_validate_json(json.dumps({"person_id": OTHER_VALID})).person_id == OTHER_VALID
    )


def test_pydantic_type_reports_the_field_and_the_reason() -> None:
    with pytest.raises(ValidationError) as caught:
        Person(person_id=STANDARD_EXAMPLE[:17] + "1")
    (error,) = caught.value.errors()
    assert error["loc"] == ("person_id",)
    assert "expected 'X'" in error["msg"]


def test_pydantic_type_does_not_coerce_numbers() -> None:
    with pytest.raises(ValidationError):
        Person.model_validate({"person_id": 440524188001010014})


def test_pydantic_type_json_schema_has_the_pattern() -> None:
    schema = Person.model_json_schema()["properties"]["person_id"]
    assert schema["type"] == "string"
    assert schema["pattern"] == "^[0-9]{17}[0-9X]$"


@given(regions, births, sequences)
def test_made_numbers_always_validate(region: str, birth: date, seq: int) -> None:
    number = make_resident_id(region, birth, seq)
    assert len(number) == 18
    assert number[:6] == region
    assert number[6:14] == birth.strftime("%Y%m%d")
    assert is_valid_resident_id(number)


@given(valid_ids, st.integers(min_value=0, max_value=16), st.integers(min_value=1, max_value=9))
def test_a_single_changed_digit_never_validates_with_the_same_check(
    number: str, position: int, delta: int
) -> None:
    digit = (int(number[position]) + delta) % 10
    changed = number[:position] + str(digit) + number[position + 1 :]
    assert not is_valid_resident_id(changed)


@given(valid_ids, st.integers(min_value=0, max_value=15))
def test_swapping_two_different_adjacent_digits_never_validates(number: str, i: int) -> None:
    if number[i] == number[i + 1]:
        return
    swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
    assert not is_valid_resident_id(swapped)


@given(valid_ids, st.sampled_from("0123456789X"))
def test_any_other_check_character_is_refused(number: str, check: str) -> None:
    if check == number[-1]:
        return
    assert not is_valid_resident_id(number[:-1] + check)


@given(valid_ids)
def test_masked_numbers_never_contain_the_middle_digits(number: str) -> None:
    masked = mask_resident_id(number)
    assert len(masked) == 18
    assert masked[6:14] == "*" * 8
    assert number[6:14] not in masked
    assert masked[:6] == number[:6]
    assert masked[-4:] == number[-4:]


@given(st.text(max_size=30))
def test_arbitrary_text_gets_an_answer_not_an_exception(text: str) -> None:
    error = resident_id_error(text)
    assert (error is None) == is_valid_resident_id(text)
    assert len(mask_resident_id(text)) == len(text)
