"""The impact of a version over households made by the real loop, with figures checked by hand.

Hangzhou (330100) under the shipped version: D = 1240, M = 1.5 * D = 1860. The versions below
move D to 1400 (M = 2100) or to 1000 (M = 1500) from 2026-07-01; Chongqing is left as it is.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from support.loop import CHONGQING, ON, Loop, application, member, of_type, signal
from unit.policy.policy_support import NEXT_MONTH, PolicyState, Service, make_service, version_body

from events.envelope import derived_event_id, new_event
from events.policy import PolicyVersionApproved
from events.schedule import RescreeningDue
from events.types import RescreeningReason, SignalKind
from services.policy.domain.impact import HouseholdSnapshot, compute_impact
from services.policy.domain.referrals import ReferralState
from services.policy.impacts import ImpactJob, ImpactRunner
from services.policy.publishing import policy_event
from services.rules.standards import PolicyBook

ADULT = date(1986, 3, 1)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def households(loop: Loop) -> dict[str, str]:
    """Five households; what each becomes under D = 1400 in Hangzhou."""
    loop.submit(application("HH-A", [member(ADULT, 1300, "employed")]))  # MARGINAL -> DIBAO
    loop.submit(  # pci 1000: DIBAO either way, an unemployed head: employment assistance
        application(
            "HH-B",
            [member(ADULT, 0, "unemployed"), member(ADULT, 2000, "employed", relation="spouse")],
        )
    )
    loop.submit(application("HH-C", [member(ADULT, 2000, "employed")]))  # NONE -> MARGINAL
    loop.submit(application("HH-D", [member(ADULT, 500, "employed")], region=CHONGQING))
    # MARGINAL with an unemployed member, whose employment assistance was delivered already:
    # -> DIBAO issues the allowance and medical assistance, not employment assistance again.
    chained = loop.submit(application("HH-E", [member(ADULT, 1300, "unemployed")]))
    (employment,) = [
        e
        for e in of_type(chained, "ReferralIssued")
        if e.payload.program == "employment_assistance"
    ]
    loop.answer(
        employment.payload.referral_id,
        "human_resources",
        "DELIVERED",
        delivered={"service": "job placement"},
    )
    return {h: h for h in ("HH-A", "HH-B", "HH-C", "HH-D", "HH-E")}


@pytest.fixture
def service() -> tuple[Service, Loop]:
    loop = Loop()
    households(loop)
    assert loop.dead_letters == []
    state = PolicyState()
    state.chain_of(loop)
    return make_service(state), loop


def test_a_raised_standard_counts_transitions_referrals_and_the_gap(
    service: tuple[Service, Loop],
) -> None:
    svc, _ = service
    assert svc.propose(version_body()).status_code == 201

    reply = svc.impact("2026-07")

    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "policy_version": "2026-07",
        "effective_from": "2026-07-01",
        "households": 5,
        "regions": [
            {
                "region_code": "330100",
                "tiers": {"MARGINAL->DIBAO": 2, "NONE->MARGINAL": 1},
                "referrals_issued": {"medical_assistance": 2, "minimum_living_allowance": 2},
                "referrals_withdrawn": {},
                # B: 2 * 1240 - 2000; then A and E: 1400 - 1300 each, B: 2 * 1400 - 2000.
                "minimum_living_gap_before": "480.00",
                "minimum_living_gap_after": "1000.00",
            },
            {
                "region_code": "500000",
                "tiers": {},
                "referrals_issued": {},
                "referrals_withdrawn": {},
                "minimum_living_gap_before": "300.00",  # D: 800 - 500, untouched
                "minimum_living_gap_after": "300.00",
            },
        ],
    }
    progress = svc.call("GET", "/v1/policy/versions/2026-07/impact/progress", "auditor.li")
    assert progress.json() == {"done": 5, "total": 5, "running": False}


def test_a_lowered_standard_withdraws_what_it_no_longer_grounds(
    service: tuple[Service, Loop],
) -> None:
    svc, _ = service
    body = version_body("2026-07-low", regions=[{"region_code": "330100", "dibao_standard": 1000}])
    assert svc.propose(body).status_code == 201

    (hangzhou, _) = svc.impact("2026-07-low").json()["regions"]

    # B: income 2000 = 2 * 1000, so not below D: MARGINAL, still with employment assistance.
    assert hangzhou["tiers"] == {"DIBAO->MARGINAL": 1}
    assert hangzhou["referrals_issued"] == {}
    assert hangzhou["referrals_withdrawn"] == {
        "medical_assistance": 1,
        "minimum_living_allowance": 1,
    }
    assert (hangzhou["minimum_living_gap_before"], hangzhou["minimum_living_gap_after"]) == (
        "480.00",
        "0.00",
    )


def test_the_counts_are_what_the_loop_appends_when_the_version_takes_effect(
    service: tuple[Service, Loop],
) -> None:
    svc, loop = service
    svc.propose(version_body())
    report = svc.impact("2026-07").json()
    tiers_before = {h: _tier(loop, h) for h in ("HH-A", "HH-B", "HH-C", "HH-D", "HH-E")}

    proposal = svc.state.handler.versions.records["2026-07"].proposal
    approval = PolicyVersionApproved(policy_version="2026-07", approved_by="policy.liu")
    for payload in (proposal, approval):
        loop.policy_event(policy_event(payload, ON))
    appended = []
    for household in tiers_before:  # what the scheduler appends on the effective date
        appended += loop.submit(rescreening(household, NEXT_MONTH, "2026-07"))

    transitions: dict[str, int] = {}
    for household, before in tiers_before.items():
        after = _tier(loop, household)
        if after != before:
            transitions[f"{before}->{after}"] = transitions.get(f"{before}->{after}", 0) + 1
    hangzhou = report["regions"][0]
    assert hangzhou["tiers"] == transitions
    assert hangzhou["referrals_issued"] == _programs(of_type(appended, "ReferralIssued"))
    assert hangzhou["referrals_withdrawn"] == _programs(of_type(appended, "ReferralWithdrawn"))


def test_closed_households_are_left_out(service: tuple[Service, Loop]) -> None:
    svc, loop = service
    head = loop.chain_of("HH-A")[0].payload.members[0].person_id
    loop.monitor(signal(SignalKind.DEATH_OF_MEMBER, head))
    assert [e.event_type.value for e in loop.chain_of("HH-A")][-1] == "HouseholdClosed"
    before = svc.state.handler.fingerprint()
    svc.state.chain_of(loop)
    assert svc.state.handler.fingerprint() != before  # a kept impact is not answered again
    svc.propose(version_body())

    report = svc.impact("2026-07").json()

    assert report["households"] == 4
    assert report["regions"][0]["tiers"] == {"MARGINAL->DIBAO": 1, "NONE->MARGINAL": 1}


def test_impact_is_for_policy_and_auditors_only_and_of_known_versions(
    service: tuple[Service, Loop],
) -> None:
    svc, _ = service
    svc.propose(version_body())
    for user in ("education.desk", "clerk.wang", "operator.zhao"):
        assert svc.impact("2026-07", user).status_code == 403
    assert svc.impact("2026-07", "auditor.li").status_code == 200
    assert svc.impact("2099-01").status_code == 404
    assert svc.call("GET", "/v1/policy/versions/2099-01/impact/progress").status_code == 404


def test_a_household_that_cannot_be_judged_is_left_out_not_counted() -> None:
    loop = Loop()
    loop.submit(application("HH-A", [member(ADULT, 1300, "employed")]))
    state = PolicyState()
    state.chain_of(loop)
    (good,) = state.handler.households.snapshot()
    stranger = HouseholdSnapshot("HH-X", "999999", good.evaluated_on, good.facts, ReferralState())
    book = PolicyBook.load_default()

    report = compute_impact("2026-01", date(2026, 7, 1), [good, stranger], book, book)

    assert report.households == 1
    assert [h for h, _ in report.skipped] == ["HH-X"]


async def test_a_result_is_kept_while_the_state_is_unchanged() -> None:
    runner, made = ImpactRunner(), []
    book = PolicyBook.load_default()

    def job() -> ImpactJob:
        made.append(1)
        return ImpactJob("2026-01", date(2026, 7, 1), [], book, book)

    first = await runner.report("2026-01", ("state", 1), job)
    again = await runner.report("2026-01", ("state", 1), job)
    changed = await runner.report("2026-01", ("state", 2), job)

    assert first == again == changed and len(made) == 2


def rescreening(household_id: str, on: date, version: str) -> Any:
    """The RescreeningDue the scheduler appends on a version's effective date."""
    payload = RescreeningDue(reason=RescreeningReason.POLICY_VERSION, on=on, policy_version=version)
    at = datetime.combine(on, time(), SHANGHAI)
    return new_event(
        payload,
        household_id=household_id,
        producer="scheduler",
        occurred_at=at,
        recorded_at=at,
        event_id=derived_event_id(household_id, "rescreening", on.isoformat()),
    )


def _tier(loop: Loop, household_id: str) -> str:
    return str(of_type(loop.chain_of(household_id), "HouseholdClassified")[-1].payload.tier)


def _programs(events: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in events:
        counts[e.payload.program.value] = counts.get(e.payload.program.value, 0) + 1
    return dict(sorted(counts.items()))
