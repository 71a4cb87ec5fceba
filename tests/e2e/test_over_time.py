"""A household over time, end to end on the real broker, through HTTP and topics only.

The system runs on the manual clock: time moves only when a test advances it, so a year of
dates that matter passes in seconds. The tests of this module share one system and one
clock, and each takes its dates from the clock as it finds it.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
from households import household, person
from support.system import System, new_person, of_type

from events.chain import verify_chain

HANGZHOU, JINAN = "330100", "370100"
POOR_TIERS = {"DIBAO", "EXTREMELY_POOR"}


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _quiet_birth(rng: random.Random, age: int, today: date) -> date:
    """A birth date `age` years back whose birthday falls far from the next few weeks, so no
    member crosses 16, 18 or 60 while a test moves the clock by days."""
    return _years_before(today, age) + timedelta(days=rng.randrange(90, 270))


def _near_the_line(rng: random.Random, today: date) -> dict[str, Any]:
    """A household whose per-capita income lies around Hangzhou's D (1240) and a raised D
    (1390), or elsewhere, so that raising D moves some of them and not others."""
    size = rng.choice([1, 2, 3, 4])
    region = HANGZHOU if rng.random() < 0.8 else JINAN
    pci = rng.choice([rng.randrange(900, 1600), rng.randrange(1200, 1450), 3000])
    adults = [
        person(
            _quiet_birth(rng, rng.randrange(25, 55), today),
            "head" if i == 0 else "spouse",
            0,
            rng.choice(["employed", "unemployed"]),
        )
        for i in range(min(size, 2))
    ]
    children = [
        person(
            _quiet_birth(rng, rng.randrange(6, 14), today),
            "child",
            0,
            "student",
            capacity="none",
            in_school=rng.random() < 0.7,
        )
        for _ in range(size - len(adults))
    ]
    members = adults + children
    members[0]["monthly_income"] = pci * size
    for member in members:
        member["person_id"] = new_person(date.fromisoformat(member["birth_date"]), region)
    body = household(members, dwelling_unsafe=rng.random() < 0.1)
    body["region_code"] = region
    del body["occurred_at"]  # now, on the system's clock
    return body


async def _apply_all(system: System, bodies: list[dict[str, Any]]) -> list[str]:
    """Every application, 16 at a time; one whose connection drops is sent again with the same
    Idempotency-Key, as a careful client does (intake answers the retry as the first call)."""
    limit = asyncio.Semaphore(16)

    async def one(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        async with limit:
            for attempt in range(5):
                try:
                    reply = await client.post("/v1/applications", json=body, headers=headers)
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.5 * (attempt + 1))
            else:
                raise AssertionError("intake dropped the connection five times")
            assert reply.status_code == 202, reply.text
            return str(reply.json()["household_id"])

    async with httpx.AsyncClient(
        base_url=system.url("intake"), headers=system.headers("intake"), timeout=60
    ) as client:
        return list(await asyncio.gather(*(one(client, b) for b in bodies)))


async def _chains(system: System, households: set[str]) -> dict[str, list[dict[str, Any]]]:
    chains: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for document in await system.read_chain():
        if document["household_id"] in households:
            chains[document["household_id"]].append(document)
    for chain in chains.values():
        chain.sort(key=lambda d: d["sequence"])
    return chains


async def _settled(
    system: System, households: set[str], done: Any, what: str, timeout: float = 240
) -> dict[str, list[dict[str, Any]]]:
    """The chains once `done(chain)` holds for every household and the chain topic has stopped
    growing for a few seconds (what follows a cause has all arrived)."""
    deadline = asyncio.get_running_loop().time() + timeout
    last, quiet_since = -1, 0.0
    while True:
        chains = await _chains(system, households)
        total = sum(len(c) for c in chains.values())
        now = asyncio.get_running_loop().time()
        if total != last:
            last, quiet_since = total, now
        ready = len(chains) == len(households) and all(done(c) for c in chains.values())
        if ready and now - quiet_since >= 4:
            return chains
        if now > deadline:
            waiting = [h for h in households if not done(chains.get(h, []))]
            raise AssertionError(f"timed out waiting for {what}: {len(waiting)} not there")
        await asyncio.sleep(1)


def _gap(classified: dict[str, Any]) -> Decimal:
    numbers = classified["payload"]["rule_trace"]["numbers"]
    if classified["payload"]["tier"] not in POOR_TIERS:
        return Decimal(0)
    return Decimal(numbers["D"]) * int(numbers["N"]) - Decimal(numbers["I"])


async def test_a_raised_standard_changes_exactly_what_its_impact_report_said(
    system: System,
) -> None:
    today = system.today()
    rng = random.Random(20261201)
    households = set(await _apply_all(system, [_near_the_line(rng, today) for _ in range(1000)]))
    await _settled(
        system, households, lambda c: bool(of_type(c, "HouseholdClassified")), "1,000 classified"
    )

    name = f"T-{uuid.uuid4().hex[:8]}"
    effective = today + timedelta(days=7)
    version = {
        "policy_version": name,
        "effective_from": effective.isoformat(),
        "regions": [
            {
                "region_code": HANGZHOU,
                "name": "Hangzhou",
                "dibao_standard": "1390",
                "prior_year_disposable_income": "77000",
                "marginal_multiplier": "1.5",
                "asset_months": 24,
                "medical_warning_amount": "20000",
            }
        ],
    }
    for role in ("intake", "department:civil_affairs", "operator"):
        assert system.policy("POST", "/versions", role=role, json=version).status_code == 403
    bad = {**version, "effective_from": today.isoformat()}
    refused = system.policy("POST", "/versions", user="policy.chen", json=bad)
    assert refused.status_code == 422 and "effective_from" in refused.text
    proposed = system.policy("POST", "/versions", user="policy.chen", json=version)
    assert proposed.status_code == 201, proposed.text

    for role in ("intake", "department:civil_affairs"):
        assert system.policy("GET", f"/versions/{name}/impact", role=role).status_code == 403
    reply = system.policy("GET", f"/versions/{name}/impact", role="auditor")
    assert reply.status_code == 200, reply.text
    impact = reply.json()
    assert impact["policy_version"] == name and impact["households"] >= 1000

    own = system.policy("POST", f"/versions/{name}/approval", user="policy.chen")
    assert own.status_code == 403 and "propos" in own.text
    assert system.policy("POST", f"/versions/{name}/approval", role="auditor").status_code == 403
    approved = system.policy("POST", f"/versions/{name}/approval", user="policy.liu")
    assert approved.status_code in (200, 201), approved.text
    assert system.policy("POST", f"/versions/{name}", json=version).status_code in (404, 405)

    system.advance(to=effective)

    def rescreened(chain: list[dict[str, Any]]) -> bool:
        due = [
            d
            for d in of_type(chain, "RescreeningDue")
            if d["payload"].get("policy_version") == name
        ]
        return (
            bool(due) and of_type(chain, "HouseholdClassified")[-1]["sequence"] > due[0]["sequence"]
        )

    chains = await _settled(system, households, rescreened, "the version's re-screening")

    tiers: dict[str, Counter[str]] = defaultdict(Counter)
    issued: dict[str, Counter[str]] = defaultdict(Counter)
    withdrawn: dict[str, Counter[str]] = defaultdict(Counter)
    gap_before: dict[str, Decimal] = defaultdict(Decimal)
    gap_after: dict[str, Decimal] = defaultdict(Decimal)
    for household_id, chain in chains.items():
        assert verify_chain(chain).valid, household_id
        [due] = [
            d
            for d in of_type(chain, "RescreeningDue")
            if d["payload"].get("policy_version") == name
        ]
        assert due["payload"]["reason"] == "policy_version"
        assert due["payload"]["on"] == effective.isoformat()
        before = [
            d for d in of_type(chain, "HouseholdClassified") if d["sequence"] < due["sequence"]
        ]
        after = [
            d for d in of_type(chain, "HouseholdClassified") if d["sequence"] > due["sequence"]
        ]
        assert len(after) == 1, f"{household_id}: one classification per date that matters"
        old, new = before[-1], after[0]
        assert new["payload"]["effective_date"] == effective.isoformat()
        region = new["payload"]["region_code"]
        # A version is a whole table (regions it left out keep their values): every household
        # is re-screened under it, and only Hangzhou's figures changed.
        assert new["payload"]["policy_version"] == name
        if old["payload"]["tier"] != new["payload"]["tier"]:
            tiers[region][f"{old['payload']['tier']}->{new['payload']['tier']}"] += 1
        gap_before[region] += _gap(old)
        gap_after[region] += _gap(new)
        caused = [d for d in chain if d["correlation_id"] == due["correlation_id"]]
        for event in caused:
            if event["event_type"] == "ReferralIssued":
                issued[region][event["payload"]["program"]] += 1
            if event["event_type"] == "ReferralWithdrawn":
                withdrawn[region][event["payload"]["program"]] += 1

    reported = {r["region_code"]: r for r in impact["regions"]}
    assert tiers[HANGZHOU], "raising D moved no household: the test households miss the line"
    for region in {HANGZHOU, JINAN} | set(reported):
        report = reported.get(region, {})
        assert dict(tiers[region]) == report.get("tiers", {}), region
        assert dict(issued[region]) == report.get("referrals_issued", {}), region
        assert dict(withdrawn[region]) == report.get("referrals_withdrawn", {}), region
        assert Decimal(report.get("minimum_living_gap_before", "0")) == gap_before[region], region
        assert Decimal(report.get("minimum_living_gap_after", "0")) == gap_after[region], region
    assert not tiers[JINAN], "a version for Hangzhou changed a tier in Jinan"

    body = system.policy("GET", "/versions", role="auditor").json()
    listed = {
        v["policy_version"]: v for v in (body if isinstance(body, list) else body["versions"])
    }
    assert listed[name]["status"] == "in_force"


def _signal(
    system: System, kind: str, person_id: str, region: str = HANGZHOU, **fields: Any
) -> None:
    department = {
        "disaster": "emergency_management",
        "death_of_member": "civil_affairs",
    }.get(kind, "medical_security")
    body = {
        "kind": kind,
        "person_id": person_id,
        "region_code": region,
        "occurred_at": system.clock()["now"],
        "source_department": department,
        **fields,
    }
    reply = httpx.post(
        f"{system.url('intake')}/v1/signals",
        json=body,
        headers=system.headers(f"department:{department}"),
        timeout=30,
    )
    assert reply.status_code == 202, reply.text


def _by_program(chain: list[dict[str, Any]], event_type: str, program: str) -> list[dict[str, Any]]:
    return [d for d in of_type(chain, event_type) if d["payload"]["program"] == program]


def _local_date(document: dict[str, Any]) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    at = datetime.fromisoformat(document["occurred_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    return at.date().isoformat()


async def test_a_left_behind_child_turning_16_ends_child_care_on_that_day(system: System) -> None:
    today = system.today()
    birthday = today + timedelta(days=5)
    body = household(
        [
            person(_years_before(today, 62), "parent", 900, "retired", capacity="none"),
            person(
                _years_before(birthday, 16),
                "child",
                0,
                "student",
                capacity="none",
                in_school=True,
                left_behind=True,
            ),
        ]
    )
    del body["occurred_at"]
    household_id = system.apply(body).json()["household_id"]
    chain = await system.wait_chain(
        household_id,
        lambda c: bool(_by_program(c, "ReferralIssued", "child_care_service")),
        "child care service",
    )
    classified = of_type(chain, "HouseholdClassified")[-1]["payload"]
    assert classified["next_rescreening"]["on"] == birthday.isoformat()
    assert classified["next_rescreening"]["reason"] == "birthday"

    system.advance(to=birthday - timedelta(days=1))
    await asyncio.sleep(3)
    chain = await system.chain_of(household_id)
    assert _by_program(chain, "ReferralWithdrawn", "child_care_service") == []

    system.advance(days=1)
    chain = await system.wait_chain(
        household_id,
        lambda c: bool(_by_program(c, "ReferralWithdrawn", "child_care_service")),
        "child care withdrawn",
    )
    [due] = [d for d in of_type(chain, "RescreeningDue") if d["payload"]["reason"] == "birthday"]
    assert due["payload"]["on"] == birthday.isoformat()
    [withdrawal] = _by_program(chain, "ReferralWithdrawn", "child_care_service")
    assert _local_date(withdrawal) == birthday.isoformat()
    assert withdrawal["correlation_id"] == due["correlation_id"]


async def test_each_disaster_is_its_own_ground_and_relief_ends_after_its_window(
    system: System,
) -> None:
    today = system.today()
    worker = person(_years_before(today, 40) + timedelta(days=120), "head", 6000, "employed")
    body = household([worker])
    del body["occurred_at"]
    household_id = system.apply(body).json()["household_id"]
    await system.wait_chain(
        household_id, lambda c: bool(of_type(c, "HouseholdClassified")), "classified"
    )

    _signal(system, "disaster", worker["person_id"])
    chain = await system.wait_chain(
        household_id,
        lambda c: bool(_by_program(c, "ReferralIssued", "disaster_relief")),
        "first relief",
    )
    for program in ("disaster_relief", "temporary_assistance"):
        [first] = _by_program(chain, "ReferralIssued", program)
        answer = {"outcome": "DELIVERED", "delivered": {"cash_amount": 800, "service": "relief"}}
        reply = system.feedback(
            first["payload"]["referral_id"], first["payload"]["department"], answer
        )
        assert reply.status_code == 202, reply.text

    system.advance(days=30)
    second_day = system.today()
    _signal(system, "disaster", worker["person_id"])
    chain = await system.wait_chain(
        household_id,
        lambda c: (
            len(_by_program(c, "ReferralIssued", "disaster_relief")) == 2
            and len(_by_program(c, "ReferralIssued", "temporary_assistance")) == 2
        ),
        "a second relief for the second disaster",
    )
    second = _by_program(chain, "ReferralIssued", "disaster_relief")[1]["payload"]
    assert second["grounds"].get("disaster_on") == second_day.isoformat()

    system.advance(to=second_day + timedelta(days=90))
    await asyncio.sleep(3)
    chain = await system.chain_of(household_id)
    assert _by_program(chain, "ReferralWithdrawn", "disaster_relief") == []

    system.advance(days=1)
    chain = await system.wait_chain(
        household_id,
        lambda c: (
            bool(_by_program(c, "ReferralWithdrawn", "disaster_relief"))
            and bool(_by_program(c, "ReferralWithdrawn", "temporary_assistance"))
        ),
        "relief withdrawn on day 91",
    )
    for program in ("disaster_relief", "temporary_assistance"):
        [withdrawal] = _by_program(chain, "ReferralWithdrawn", program)
        assert (
            withdrawal["payload"]["referral_id"]
            != _by_program(chain, "ReferralIssued", program)[0]["payload"]["referral_id"]
        )
        assert _local_date(withdrawal) == (second_day + timedelta(days=91)).isoformat()
    assert any(
        d["payload"]["reason"] == "emergency_expired" for d in of_type(chain, "RescreeningDue")
    )


async def test_kill_9_of_the_clock_owner_at_a_date_that_matters_fires_each_timer_once(
    system: System,
) -> None:
    today = system.today()
    turning = today + timedelta(days=3)
    bodies = []
    for _ in range(120):
        body = household(
            [person(_years_before(turning, 60), "head", 900, "employed", capacity="partial")]
        )
        del body["occurred_at"]
        bodies.append(body)
    households = set(await _apply_all(system, bodies))
    await _settled(
        system, households, lambda c: bool(of_type(c, "HouseholdClassified")), "classified"
    )

    system.advance(to=turning)
    scheduler = system.services["scheduler"]
    scheduler.kill9()
    scheduler.start()
    scheduler.wait_healthy(timeout=90)

    def turned(chain: list[dict[str, Any]]) -> bool:
        return any(
            d["payload"]["reason"] == "birthday" and d["payload"]["on"] == turning.isoformat()
            for d in of_type(chain, "RescreeningDue")
        ) and of_type(chain, "HouseholdClassified")[-1]["payload"]["effective_date"] == (
            turning.isoformat()
        )

    chains = await _settled(system, households, turned, "every 60th birthday re-screened")
    for household_id, chain in chains.items():
        dues = [
            d for d in of_type(chain, "RescreeningDue") if d["payload"]["on"] == turning.isoformat()
        ]
        assert len(dues) == 1, f"{household_id}: {len(dues)} RescreeningDue for {turning}"
        caused = [
            d
            for d in of_type(chain, "HouseholdClassified")
            if d["correlation_id"] == dues[0]["correlation_id"]
        ]
        assert len(caused) == 1, household_id
        assert len({d["event_id"] for d in chain}) == len(chain)


async def test_the_last_members_death_closes_the_household(system: System) -> None:
    today = system.today()
    elder = person(
        _years_before(today, 75) + timedelta(days=100), "head", 500, "retired", capacity="none"
    )
    body = household([elder])
    del body["occurred_at"]
    household_id = system.apply(body).json()["household_id"]
    chain = await system.wait_chain(
        household_id, lambda c: len(of_type(c, "ReferralIssued")) >= 2, "referrals"
    )
    referrals = {d["payload"]["referral_id"] for d in of_type(chain, "ReferralIssued")}

    _signal(system, "death_of_member", elder["person_id"])
    chain = await system.wait_chain(
        household_id,
        lambda c: (
            bool(of_type(c, "HouseholdClosed"))
            and {d["payload"]["referral_id"] for d in of_type(c, "ReferralWithdrawn")} == referrals
            # every referral final: feedback settles the chain, the last thing the close causes
            and bool(of_type(c, "ChainSettled"))
        ),
        "closed, every referral withdrawn, the chain settled",
    )
    assert of_type(chain, "HouseholdClosed")[0]["payload"]["reason"] == "last_member_died"
    assert all(
        "household_closed" in d["payload"]["reason"] for d in of_type(chain, "ReferralWithdrawn")
    )
    length = len(chain)
    system.advance(days=370)  # past every date that would have mattered: nothing more
    await asyncio.sleep(4)
    assert len(await system.chain_of(household_id)) == length
