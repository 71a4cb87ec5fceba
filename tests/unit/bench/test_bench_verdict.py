"""The count check: every expected referral exactly once, nothing else, named by household."""

from __future__ import annotations

from bench.verdict import Delivery, check_deliveries, completion_times

EXPECTED = {
    "HH-1": frozenset(
        {("minimum_living_allowance", "civil_affairs"), ("medical_assistance", "medical_security")}
    ),
    "HH-2": frozenset({("extreme_poverty_support", "civil_affairs")}),
    "HH-3": frozenset(),  # tier NONE: nothing should arrive
}


def issued(household: str, program: str, department: str, at: float = 1.0) -> Delivery:
    return Delivery(household, "ReferralIssued", program, department, at)


def everything() -> list[Delivery]:
    return [
        issued("HH-1", "minimum_living_allowance", "civil_affairs", 1.0),
        issued("HH-2", "extreme_poverty_support", "civil_affairs", 2.0),
        issued("HH-1", "medical_assistance", "medical_security", 3.0),
    ]


def test_exactly_the_expected_referrals_pass() -> None:
    verdict = check_deliveries(EXPECTED, everything())
    assert verdict.ok, verdict.problems
    assert (verdict.households, verdict.referrals_expected, verdict.referrals_seen) == (3, 3, 3)


def test_a_missing_referral_names_its_household() -> None:
    verdict = check_deliveries(EXPECTED, everything()[:2])
    assert verdict.problems == ["HH-1: medical_assistance -> medical_security never arrived"]


def test_a_duplicate_names_its_household() -> None:
    verdict = check_deliveries(EXPECTED, [*everything(), everything()[1]])
    assert verdict.problems == ["HH-2: extreme_poverty_support -> civil_affairs arrived 2 times"]


def test_anything_unexpected_fails_withdrawals_strangers_and_dead_letters_included() -> None:
    extra = [
        issued("HH-3", "medical_assistance", "medical_security"),
        Delivery("HH-2", "ReferralWithdrawn", "extreme_poverty_support", "civil_affairs", 4.0),
        issued("HH-9", "medical_assistance", "medical_security"),
    ]
    verdict = check_deliveries(EXPECTED, everything() + extra, dead_letters=["referral: boom"])
    assert not verdict.ok
    text = "\n".join(verdict.problems)
    assert "HH-3: unexpected ReferralIssued medical_assistance" in text
    assert "HH-2: unexpected ReferralWithdrawn extreme_poverty_support" in text
    assert "HH-9: ReferralIssued medical_assistance for an unknown household" in text
    assert "dead letter: referral: boom" in text


def test_long_lists_of_problems_are_cut_with_a_count() -> None:
    expected = {
        f"HH-{n}": frozenset({("medical_assistance", "medical_security")}) for n in range(30)
    }
    verdict = check_deliveries(expected, [], limit=5)
    assert len(verdict.problems) == 6
    assert verdict.problems[-1] == "... and 25 more missing"


def test_a_household_is_done_at_its_last_expected_referral() -> None:
    done = completion_times(EXPECTED, everything()[:2])
    assert done == {"HH-2": 2.0}  # HH-1 still waits for one
    assert completion_times(EXPECTED, everything()) == {"HH-1": 3.0, "HH-2": 2.0}
