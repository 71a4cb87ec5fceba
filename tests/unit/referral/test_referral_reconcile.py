"""The pure plan of a re-screening: what is issued, amended and withdrawn, nothing mutated."""

from __future__ import annotations

from datetime import date
from types import MappingProxyType

from events.types import Department, Program
from services.rules.programs import PROGRAM_DEPARTMENT, Need
from services.rules.reconcile import (
    Amendment,
    OpenReferral,
    ReferralPlan,
    amendment_reason,
    reconcile,
    withdrawal_reason,
)

P = Program
ON = date(2026, 6, 1)


def need(program: Program, *members: str, ground: str | None = None, **grounds: str) -> Need:
    base = {"tier": "DIBAO", "policy_version": "2026-01", "rule": "r"}
    return Need(program, PROGRAM_DEPARTMENT[program], members or ("a",), base | grounds, ground)


def open_(n: Need, referral_id: str | None = None) -> OpenReferral:
    return OpenReferral.of(referral_id or f"R-{n.program.value}", n)


def test_needs_without_referrals_are_issued_in_program_order() -> None:
    needs = {
        P.MEDICAL_ASSISTANCE: need(P.MEDICAL_ASSISTANCE),
        P.DISASTER_RELIEF: need(P.DISASTER_RELIEF, ground="disaster@2026-06-01"),
    }
    plan = reconcile(needs, {}, frozenset())
    assert [n.program for n in plan.issue] == [P.DISASTER_RELIEF, P.MEDICAL_ASSISTANCE]
    assert plan.amend == () and plan.withdraw == ()


def test_the_same_result_plans_nothing_and_numbers_alone_amend_nothing() -> None:
    before = need(P.MINIMUM_LIVING_ALLOWANCE, "a", "b", per_capita_income="500.00")
    after = need(P.MINIMUM_LIVING_ALLOWANCE, "b", "a", per_capita_income="533.33")
    plan = reconcile({after.program: after}, {before.program: open_(before)}, frozenset())
    assert plan == ReferralPlan()
    assert plan.changes_nothing


def test_changed_members_amend_the_open_referral() -> None:
    before = need(P.EMPLOYMENT_ASSISTANCE, "a")
    after = need(P.EMPLOYMENT_ASSISTANCE, "a", "b")
    referral = open_(before)
    [amendment] = reconcile({after.program: after}, {after.program: referral}, set()).amend
    assert amendment.referral is referral and amendment.need.members == ("a", "b")
    assert amendment.members_changed and not amendment.ground_changed
    assert (
        amendment_reason(amendment, ON)
        == "re-screening on 2026-06-01: members concerned: 1 in, 0 out"
    )


def test_another_emergency_grounding_the_program_amends_it() -> None:
    first = need(P.TEMPORARY_ASSISTANCE, ground="major_accident@2026-05-01")
    second = need(P.TEMPORARY_ASSISTANCE, ground="disaster@2026-05-20")
    [amendment] = reconcile({first.program: second}, {first.program: open_(first)}, set()).amend
    assert amendment.ground_changed and not amendment.members_changed
    assert "now grounded on disaster@2026-05-20 instead of major_accident@2026-05-01" in (
        amendment_reason(amendment, ON)
    )


def test_a_transferred_referral_is_amended_for_the_department_that_holds_it() -> None:
    before = need(P.EMPLOYMENT_ASSISTANCE, "a")
    held = OpenReferral.of("R-1", Need(before.program, Department.CIVIL_AFFAIRS, ("a",), {}))
    after = need(P.EMPLOYMENT_ASSISTANCE, "a", "b")
    [amendment] = reconcile({after.program: after}, {after.program: held}, set()).amend
    assert amendment.need.department is Department.CIVIL_AFFAIRS


def test_a_program_no_longer_needed_is_withdrawn_but_never_charity() -> None:
    allowance, charity = need(P.MINIMUM_LIVING_ALLOWANCE), need(P.CHARITY_LINKAGE)
    referrals = {P.MINIMUM_LIVING_ALLOWANCE: open_(allowance), P.CHARITY_LINKAGE: open_(charity)}
    plan = reconcile({}, referrals, set())
    assert [r.program for r in plan.withdraw] == [P.MINIMUM_LIVING_ALLOWANCE]
    reason = withdrawal_reason(plan.withdraw[0], "MARGINAL", ON)
    assert (
        reason
        == "re-screening on 2026-06-01: tier MARGINAL no longer grounds minimum_living_allowance"
    )


def test_an_answered_ground_is_not_issued_again_while_it_holds() -> None:
    relief = need(P.DISASTER_RELIEF, ground="disaster@2026-05-01")
    answered = {(P.DISASTER_RELIEF, "disaster@2026-05-01"), (P.HOUSING_ASSISTANCE, None)}
    plan = reconcile({relief.program: relief}, {}, answered)
    assert plan.issue == ()
    assert plan.answered == {(P.DISASTER_RELIEF, "disaster@2026-05-01")}  # housing's ground gone


def test_a_new_emergency_after_an_answered_one_is_a_new_need() -> None:
    relief = need(P.DISASTER_RELIEF, ground="disaster@2026-05-31")
    plan = reconcile({relief.program: relief}, {}, {(P.DISASTER_RELIEF, "disaster@2026-05-01")})
    assert plan.issue == (relief,)
    assert plan.answered == frozenset()


def test_an_emergency_that_left_its_window_says_so() -> None:
    relief = open_(need(P.DISASTER_RELIEF, ground="disaster@2026-03-02"))
    # 2026-03-02 + 90 days = 2026-05-31: it counts through the 31st and not on 1 June.
    assert withdrawal_reason(relief, "NONE", date(2026, 6, 1)) == (
        "re-screening on 2026-06-01: the disaster of 2026-03-02 has left its 90-day window "
        "and no other emergency grounds disaster_relief"
    )
    assert "tier NONE" in withdrawal_reason(relief, "NONE", date(2026, 5, 31))


def test_reconcile_changes_none_of_its_inputs() -> None:
    needs = {P.EMPLOYMENT_ASSISTANCE: need(P.EMPLOYMENT_ASSISTANCE, "a", "b")}
    referrals = {
        P.EMPLOYMENT_ASSISTANCE: open_(need(P.EMPLOYMENT_ASSISTANCE, "a")),
        P.HOUSING_ASSISTANCE: open_(need(P.HOUSING_ASSISTANCE)),
    }
    answered = {(P.MEDICAL_ASSISTANCE, None)}
    copies = (dict(needs), dict(referrals), set(answered))
    plan = reconcile(MappingProxyType(needs), MappingProxyType(referrals), frozenset(answered))
    assert (needs, referrals, answered) == copies
    assert isinstance(plan.amend[0], Amendment) and len(plan.withdraw) == 1
