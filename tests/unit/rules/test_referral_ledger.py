"""The shared referral ledger decides what referral's events say: a fresh ledger fed a chain
the whole loop wrote decides exactly the referrals issued, amended and withdrawn on it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.loop import ON, Loop, application, dibao_members, event, of_type, signal

from events.referral import ReferralAmended, ReferralIssued, ReferralWithdrawn
from events.schedule import HouseholdClosed
from events.types import ClosureReason, Program, SignalKind
from services.rules.referral_ledger import (
    CLOSED_REASON,
    Amend,
    Decision,
    Issue,
    LedgerRefused,
    ReferralLedger,
    Withdraw,
)

K = SignalKind


def lived_chain() -> Loop:
    """A DIBAO family through issue, amendment, a decline that links charity, a transfer and
    closure."""
    family = dibao_members()
    loop = Loop()
    loop.submit(application("HH-L", family))
    loop.monitor(signal(K.UNEMPLOYMENT_REGISTERED, family[1]["person_id"]))
    issued = {e.payload.program: e.payload for e in of_type(loop.chain, "ReferralIssued")}
    loop.answer(
        issued[Program.EDUCATION_ASSISTANCE].referral_id,
        "education",
        "DECLINED",
        reason="not_covered",
    )
    loop.answer(
        issued[Program.EMPLOYMENT_ASSISTANCE].referral_id,
        "human_resources",
        "TRANSFERRED",
        transfer_to="charity",
    )
    closure = HouseholdClosed(
        reason=ClosureReason.LAST_MEMBER_DIED,
        on=ON.date(),
        person_id=family[0]["person_id"],
    )
    loop.submit(event(closure, "HH-L", ON + timedelta(days=2), producer="identification"))
    return loop


def test_a_fresh_ledger_decides_every_referral_event_of_the_chain() -> None:
    loop = lived_chain()
    ledger = ReferralLedger()
    decisions: list[Decision] = []
    for chained in loop.chain:
        decisions += ledger.apply(chained, partition=0)
    chain = loop.chain
    issued = [e.payload for e in chain if isinstance(e.payload, ReferralIssued)]
    amended = [e.payload for e in chain if isinstance(e.payload, ReferralAmended)]
    withdrawn = [e.payload for e in chain if isinstance(e.payload, ReferralWithdrawn)]
    assert [d.referral_id for d in decisions if isinstance(d, Issue)] == [
        p.referral_id for p in issued
    ]
    assert [
        d.transferred_from for d in decisions if isinstance(d, Issue) and d.transferred_from
    ] == [p.transferred_from for p in issued if p.transferred_from]
    assert [d.amendment.referral.referral_id for d in decisions if isinstance(d, Amend)] == [
        p.referral_id for p in amended
    ]
    assert [(d.referral.referral_id, d.reason) for d in decisions if isinstance(d, Withdraw)] == [
        (p.referral_id, p.reason) for p in withdrawn
    ]
    # The story did happen: a charity link, a transfer, an amendment, a closure.
    assert Program.CHARITY_LINKAGE in {p.program for p in issued}
    assert any(p.transferred_from for p in issued)
    assert amended
    assert {p.reason for p in withdrawn} == {CLOSED_REASON}
    household = ledger.households["HH-L"]
    assert household.closed and household.open_by_program == {}


def test_the_ledger_holds_what_the_referral_service_holds() -> None:
    loop = lived_chain()
    loop.submit(application("HH-M"))
    ledger = ReferralLedger()
    for chained in loop.chain:
        ledger.apply(chained, partition=0)
    assert set(ledger.households) == {"HH-L", "HH-M"}
    assert ledger.households == loop.referral.households


def test_referral_events_and_unknown_households_decide_nothing() -> None:
    loop = lived_chain()
    ledger = ReferralLedger()
    echoes = [e for e in loop.chain if e.event_type.value.startswith("Referral")]
    assert echoes
    for chained in echoes:
        if chained.event_type.value != "ReferralOutcomeReported":
            assert ledger.apply(chained, partition=0) == []


def test_a_classification_before_its_identification_is_refused() -> None:
    loop = Loop()
    loop.submit(application("HH-X"))
    (classified,) = of_type(loop.chain, "HouseholdClassified")
    with pytest.raises(LedgerRefused, match="classified before it was identified"):
        ReferralLedger().apply(classified, partition=0)


def test_a_partition_is_dumped_and_loaded_whole() -> None:
    loop = lived_chain()
    loop.submit(application("HH-M"))
    ledger = ReferralLedger()
    for chained in loop.chain:
        ledger.apply(chained, partition=0 if chained.household_id == "HH-L" else 1)
    restored = ReferralLedger()
    restored.load_partition(1, ledger.dump_partition(1))
    assert set(restored.households) == {"HH-M"}
    assert restored.households["HH-M"] == ledger.households["HH-M"]
    assert restored.dump_partition(1) == ledger.dump_partition(1)
