"""The closed loop end to end, through public HTTP endpoints and topics only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from households import DIBAO_FAMILY_REFERRALS, dibao_family, household, person
from support.system import System, new_person, of_type

from events.chain import verify_chain
from events.types import Department


def issued(chain: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return of_type(chain, "ReferralIssued")


async def referrals_on_topics(system: System, household_id: str) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for department in Department:
        documents = await system.department_topic(department.value)
        mine = [d for d in documents if d["household_id"] == household_id]
        if mine:
            found[department.value] = mine
    return found


async def test_dibao_family_gets_exactly_its_referrals_and_settles(system: System) -> None:
    reply = system.apply(dibao_family())
    assert reply.status_code == 202, reply.text
    household_id = reply.json()["household_id"]

    chain = await system.wait_chain(household_id, lambda c: len(issued(c)) >= 4, "4 referrals")
    classified = of_type(chain, "HouseholdClassified")[0]["payload"]
    assert classified["tier"] == "DIBAO"
    assert classified["rule_trace"]["numbers"]["pci"] == "500"
    assert {
        (d["payload"]["program"], d["payload"]["department"]) for d in issued(chain)
    } == DIBAO_FAMILY_REFERRALS

    topics = await system.wait_until(
        lambda: _when(referrals_on_topics(system, household_id), lambda f: len(f) == 4),
        "referrals on four department topics",
    )
    assert {dept: [d["payload"]["program"] for d in docs] for dept, docs in topics.items()} == {
        "civil_affairs": ["minimum_living_allowance"],
        "medical_security": ["medical_assistance"],
        "education": ["education_assistance"],
        "human_resources": ["employment_assistance"],
    }
    for department, documents in topics.items():
        assert documents[0]["hash"] in {d["hash"] for d in chain}, department

    for referral in issued(chain):
        payload = referral["payload"]
        answer = {"outcome": "DELIVERED", "delivered": {"cash_amount": 740, "service": "paid"}}
        reply = system.feedback(payload["referral_id"], payload["department"], answer)
        assert reply.status_code == 202, reply.text

    chain = await system.wait_chain(
        household_id, lambda c: bool(of_type(c, "ChainSettled")), "ChainSettled"
    )
    settled = of_type(chain, "ChainSettled")
    assert len(settled) == 1 and len(settled[0]["payload"]["delivered"]) == 4
    assert len(of_type(chain, "ReferralOutcomeReported")) == 4
    assert verify_chain(chain).valid
    correlation = chain[0]["correlation_id"]
    assert all(d["correlation_id"] == correlation for d in chain[:6])
    assert all(d["causation_id"] for d in chain[1:])


async def _when(awaitable: Any, condition: Any) -> Any:
    value = await awaitable
    return value if condition(value) else None


async def test_unknown_persons_large_medical_bill_raises_warning_then_visit_leads_to_referrals(
    system: System,
) -> None:
    patient = new_person(date(1950, 2, 2))
    reply = system.signal(
        {
            "kind": "major_medical_expense",
            "person_id": patient,
            "region_code": "330100",
            "occurred_at": datetime.now(UTC).isoformat(),
            "source_department": "medical_security",
            "amount": 25000,
        }
    )
    assert reply.status_code == 202, reply.text

    async def warned() -> list[dict[str, Any]] | None:
        from support.kafka_io import read_documents

        documents = await read_documents(system.kafka, system.topics.chain)
        hits = [
            d
            for d in documents
            if d["event_type"] == "RiskWarningRaised" and d["payload"]["person_id"] == patient
        ]
        return hits or None

    warning = (await system.wait_until(warned, "a risk warning"))[0]
    household_id = warning["household_id"]
    chain = await system.wait_chain(
        household_id, lambda c: bool(of_type(c, "VisitRequested")), "a visit request"
    )
    assert [d["event_type"] for d in chain] == [
        "SignalReceived",
        "RiskWarningRaised",
        "VisitRequested",
    ]
    visit_id = of_type(chain, "VisitRequested")[0]["payload"]["visit_id"]

    found = household(
        [
            {
                **person(
                    date(1950, 2, 2), "head", 900, "retired", capacity="none", chronic_illness=True
                ),
                "person_id": patient,
            },
        ],
        rigid_expenses_12m={"medical": 25000, "education": 0},
    )
    reply = system.visit(visit_id, {**found, "visitor": "grid-17", "findings": "lives alone"})
    assert reply.status_code == 202, reply.text
    assert reply.json()["household_id"] == household_id

    chain = await system.wait_chain(household_id, lambda c: len(issued(c)) >= 3, "referrals")
    assert of_type(chain, "HouseholdClassified")[0]["payload"]["tier"] == "EXTREMELY_POOR"
    programs = {d["payload"]["program"] for d in issued(chain)}
    assert {"extreme_poverty_support", "medical_assistance", "elderly_meal_assistance"} <= programs
    assert system.visit("V-does-not-exist", {**found, "visitor": "x"}).status_code == 404


async def test_income_rise_withdraws_the_minimum_living_allowance(system: System) -> None:
    body = dibao_family()
    household_id = system.apply(body).json()["household_id"]
    await system.wait_chain(household_id, lambda c: len(issued(c)) >= 4, "4 referrals")
    spouse = body["members"][1]["person_id"]
    reply = system.signal(
        {
            "kind": "income_change",
            "person_id": spouse,
            "region_code": "330100",
            "occurred_at": datetime.now(UTC).isoformat(),
            "source_department": "human_resources",
            "monthly_income": 5000,
        }
    )
    assert reply.status_code == 202, reply.text

    chain = await system.wait_chain(
        household_id, lambda c: len(of_type(c, "ReferralWithdrawn")) >= 2, "withdrawals"
    )
    assert of_type(chain, "HouseholdClassified")[-1]["payload"]["tier"] == "MARGINAL"
    withdrawn = {d["payload"]["program"] for d in of_type(chain, "ReferralWithdrawn")}
    assert withdrawn == {"minimum_living_allowance", "medical_assistance"}
    assert len(issued(chain)) == 4  # education and employment stay open: nothing re-issued

    async def on_civil_affairs_topic() -> bool:
        documents = await system.department_topic("civil_affairs")
        return any(
            d["household_id"] == household_id and d["event_type"] == "ReferralWithdrawn"
            for d in documents
        )

    await system.wait_until(on_civil_affairs_topic, "the withdrawal on civil_affairs' topic")


async def test_not_covered_decline_creates_the_charity_referral(system: System) -> None:
    household_id = system.apply(dibao_family()).json()["household_id"]
    chain = await system.wait_chain(household_id, lambda c: len(issued(c)) >= 4, "4 referrals")
    education = next(
        d["payload"] for d in issued(chain) if d["payload"]["program"] == "education_assistance"
    )
    reply = system.feedback(
        education["referral_id"], "education", {"outcome": "DECLINED", "reason": "not_covered"}
    )
    assert reply.status_code == 202, reply.text

    chain = await system.wait_chain(household_id, lambda c: len(issued(c)) >= 5, "charity")
    charity = issued(chain)[-1]["payload"]
    assert charity["program"] == "charity_linkage" and charity["department"] == "charity"
    assert charity["grounds"]["declined_program"] == "education_assistance"

    async def on_charity_topic() -> bool:
        return any(
            d["payload"]["referral_id"] == charity["referral_id"]
            for d in await system.department_topic("charity")
        )

    await system.wait_until(on_charity_topic, "the charity referral on its topic")


async def test_transferred_referral_goes_to_the_named_department(system: System) -> None:
    household_id = system.apply(dibao_family()).json()["household_id"]
    chain = await system.wait_chain(household_id, lambda c: len(issued(c)) >= 4, "4 referrals")
    employment = next(
        d["payload"] for d in issued(chain) if d["payload"]["program"] == "employment_assistance"
    )
    reply = system.feedback(
        employment["referral_id"],
        "human_resources",
        {"outcome": "TRANSFERRED", "transfer_to": "civil_affairs"},
    )
    assert reply.status_code == 202, reply.text
    chain = await system.wait_chain(household_id, lambda c: len(issued(c)) >= 5, "transfer")
    transfer = issued(chain)[-1]["payload"]
    assert transfer["department"] == "civil_affairs"
    assert transfer["transferred_from"] == employment["referral_id"]


async def test_a_referral_past_its_due_date_becomes_overdue_once(system: System) -> None:
    household_id = system.apply(dibao_family(days_ago=40)).json()["household_id"]
    # Applied 40 days ago, but due dates count from when the referrals are issued: none is
    # born overdue. They become overdue when the system's clock passes their due date.
    chain = await system.wait_chain(household_id, lambda c: len(issued(c)) >= 4, "4 referrals")
    assert of_type(chain, "ReferralOverdue") == []
    system.advance(days=31)
    chain = await system.wait_chain(
        household_id, lambda c: len(of_type(c, "ReferralOverdue")) >= 4, "4 overdue"
    )
    await system.wait_until(lambda: _sleep_true(3), "a few more overdue checks")
    chain = await system.chain_of(household_id)
    overdue = [d["payload"]["referral_id"] for d in of_type(chain, "ReferralOverdue")]
    assert sorted(overdue) == sorted(d["payload"]["referral_id"] for d in issued(chain))

    listing = system.referrals("operator").json()
    mine = [r for r in listing if r["household_id"] == household_id]
    assert len(mine) == 4 and all(r["overdue"] for r in mine)
    topic = await system.department_topic("education")
    assert (
        len(
            [
                d
                for d in topic
                if d["household_id"] == household_id and d["event_type"] == "ReferralOverdue"
            ]
        )
        == 1
    )


async def _sleep_true(seconds: float) -> bool:
    import asyncio

    await asyncio.sleep(seconds)
    return True
