"""Who may do what, bad input refused with the field named, retries that create nothing new."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from households import dibao_family, household, person
from support.kafka_io import read_all
from support.logins import logins_of
from support.system import System, of_type

from contracts.access import department_principal


def test_requests_without_a_valid_token_get_401(system: System) -> None:
    assert (
        httpx.post(f"{system.url('intake')}/v1/applications", json=dibao_family()).status_code
        == 401
    )
    assert (
        httpx.get(
            f"{system.url('feedback')}/v1/referrals",
            headers={"Authorization": "Bearer not-a-token"},
        ).status_code
        == 401
    )


def test_wrong_role_gets_403(system: System) -> None:
    reply = httpx.post(
        f"{system.url('intake')}/v1/applications",
        json=dibao_family(),
        headers=system.headers("department:education"),
    )
    assert reply.status_code == 403 and "intake" in reply.text
    reply = httpx.post(
        f"{system.url('feedback')}/v1/referrals/R-x/feedback",
        json={"outcome": "ACCEPTED"},
        headers=system.headers("intake"),
    )
    assert reply.status_code == 403


async def test_a_department_sees_and_answers_only_its_own_referrals(system: System) -> None:
    household_id = system.apply(dibao_family()).json()["household_id"]
    chain = await system.wait_chain(
        household_id, lambda c: len(of_type(c, "ReferralIssued")) >= 4, "4 referrals"
    )
    education = next(
        d["payload"]
        for d in of_type(chain, "ReferralIssued")
        if d["payload"]["department"] == "education"
    )
    await system.wait_until(lambda: _listed(system, education["referral_id"]), "listing")

    assert system.referrals("department:housing", department="education").status_code == 403
    own = system.referrals("department:education").json()
    assert own and {r["department"] for r in own} == {"education"}
    assert {r["department"] for r in system.referrals("department:housing").json()} <= {"housing"}

    reply = system.feedback(education["referral_id"], "housing", {"outcome": "ACCEPTED"})
    assert reply.status_code == 403 and "belongs to education" in reply.text
    assert system.feedback("R-unknown", "education", {"outcome": "ACCEPTED"}).status_code == 404
    delivered = {"outcome": "DELIVERED", "delivered": {"service": "school fees waived"}}
    assert system.feedback(education["referral_id"], "education", delivered).status_code == 202
    second = system.feedback(education["referral_id"], "education", delivered)
    assert second.status_code == 409 and "final answer" in second.text


async def test_a_retried_answer_is_answered_as_the_first_even_after_a_restart(
    system: System,
) -> None:
    household_id = system.apply(dibao_family()).json()["household_id"]
    chain = await system.wait_chain(
        household_id, lambda c: len(of_type(c, "ReferralIssued")) >= 4, "4 referrals"
    )
    [medical] = [
        d["payload"]
        for d in of_type(chain, "ReferralIssued")
        if d["payload"]["department"] == "medical_security"
    ]
    referral_id = medical["referral_id"]
    await system.wait_until(lambda: _listed(system, referral_id), "listing")
    declined = {"outcome": "DECLINED", "reason": "duplicate"}
    first = system.feedback(referral_id, "medical_security", declined, key="answer-1")
    assert first.status_code == 202, first.text
    await system.wait_chain(
        household_id, lambda c: bool(of_type(c, "ReferralOutcomeReported")), "the answer"
    )
    # The referral is final now; the client that lost the first answer sends it again.
    again = system.feedback(referral_id, "medical_security", declined, key="answer-1")
    assert (again.status_code, again.json()) == (202, first.json())
    other = system.feedback(referral_id, "medical_security", {"outcome": "ACCEPTED"}, "answer-1")
    assert other.status_code == 409 and "Idempotency-Key" in other.text
    # Feedback restarted: it knows the answer again from what it reads back, not from memory.
    feedback = system.services["feedback"]
    feedback.stop()
    feedback.start().wait_healthy(timeout=90)
    after = system.feedback(referral_id, "medical_security", declined, key="answer-1")
    assert (after.status_code, after.json()) == (202, first.json())
    chain = await system.chain_of(household_id)
    assert len(of_type(chain, "ReferralOutcomeReported")) == 1


async def _listed(system: System, referral_id: str) -> bool:
    return any(r["referral_id"] == referral_id for r in system.referrals("auditor").json())


BAD_APPLICATIONS: list[tuple[str, Any, str]] = [
    (
        "check character",
        lambda b: b["members"][0].update(
            person_id=b["members"][0]["person_id"][:17]
            + ("0" if b["members"][0]["person_id"][17] != "0" else "1")
        ),
        "members[0].person_id",
    ),
    (
        "negative income",
        lambda b: b["members"][1].update(monthly_income=-5),
        "members[1].monthly_income",
    ),
    ("negative deposits", lambda b: b["assets"].update(deposits=-1), "assets.deposits"),
    ("unknown region", lambda b: b.update(region_code="999999"), "region_code"),
    (
        "future birth",
        lambda b: b["members"][2].update(
            birth_date=(date.today() + timedelta(days=30)).isoformat()
        ),
        "members[2].birth_date",
    ),
    ("no members", lambda b: b.update(members=[]), "members"),
    (
        "float money as text",
        lambda b: b["rigid_expenses_12m"].update(medical="lots"),
        "rigid_expenses_12m.medical",
    ),
]


@pytest.mark.parametrize(
    ("case", "spoil", "field"), BAD_APPLICATIONS, ids=[c[0] for c in BAD_APPLICATIONS]
)
async def test_bad_input_is_refused_naming_the_field_and_enters_no_log(
    system: System, case: str, spoil: Any, field: str
) -> None:
    body = dibao_family()
    names = [m["person_id"][:17] for m in body["members"]]  # unique to this body
    spoil(body)
    reply = system.apply(body)
    assert reply.status_code == 422, reply.text
    assert field in {f["field"] for f in reply.json()["fields"]}, reply.json()
    await asyncio.sleep(0.5)
    logged = [r.value for r in await read_all(system.kafka, system.topics.events)]
    assert not [v for v in logged for name in names if name.encode() in v]


def test_bad_signal_names_the_missing_field(system: System) -> None:
    reply = system.signal(
        {
            "kind": "major_medical_expense",
            "person_id": person(date(1970, 1, 1), "head", 0, "none")["person_id"],
            "region_code": "330100",
            "occurred_at": datetime.now(UTC).isoformat(),
            "source_department": "medical_security",
        }
    )
    assert reply.status_code == 422 and "amount" in reply.json()["detail"]


async def test_a_retried_application_creates_nothing_new(system: System) -> None:
    body = dibao_family()
    first = system.apply(body, key="retry-me-once")
    again = system.apply(body, key="retry-me-once")
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    household_id = first.json()["household_id"]
    await system.wait_chain(
        household_id, lambda c: len(of_type(c, "ReferralIssued")) >= 4, "referrals"
    )
    chain = await system.chain_of(household_id)
    assert len(of_type(chain, "ApplicationReceived")) == 1
    assert len(of_type(chain, "ReferralIssued")) == 4
    other = household([person(date(1990, 1, 1), "head", 0, "unemployed")])
    assert system.apply(other, key="retry-me-once").status_code == 409


def test_operators_details_need_an_operator_token(system: System) -> None:
    url = system.url("referral")
    anonymous = httpx.get(f"{url}/healthz")
    assert anonymous.status_code == 200 and set(anonymous.json()) == {"service", "status"}
    detailed = httpx.get(f"{url}/healthz", headers=system.headers("operator"))
    assert detailed.json()["processors"][0]["state"] == "running"
    assert httpx.get(f"{url}/metrics").status_code == 401
    assert httpx.get(f"{url}/metrics", headers=system.headers("auditor")).status_code == 403
    scraped = httpx.get(f"{url}/metrics", headers=system.headers("operator"))
    assert scraped.status_code == 200 and "assist_events_in_total" in scraped.text


async def test_a_department_speaks_only_for_itself_and_the_chain_says_who_spoke(
    system: System,
) -> None:
    body = dibao_family()
    household_id = system.apply(body).json()["household_id"]
    await system.wait_chain(
        household_id, lambda c: len(of_type(c, "ReferralIssued")) >= 4, "4 referrals"
    )
    spouse = body["members"][1]["person_id"]
    income = {
        "kind": "income_change",
        "person_id": spouse,
        "region_code": "330100",
        "occurred_at": datetime.now(UTC).isoformat(),
        "source_department": "human_resources",
        "monthly_income": 90000,
    }
    # Issue 13's attack: charity, then intake's clerk, speaking for human_resources.
    url = f"{system.url('intake')}/v1/signals"
    forged = httpx.post(url, json=income, headers=system.headers("department:charity"))
    assert forged.status_code == 403, forged.text
    assert "'human_resources'" in forged.text and "'charity'" in forged.text
    clerk = httpx.post(url, json=income, headers=system.headers("intake"))
    assert clerk.status_code == 403 and "not a data provider" in clerk.text
    record = {
        "person_id": spouse,
        "source_department": "human_resources",
        "recorded_at": datetime.now(UTC).isoformat(),
        "monthly_income": 90000,
    }
    forged = httpx.post(
        f"{system.url('intake')}/v1/records", json=record, headers=system.headers("intake")
    )
    assert forged.status_code == 403
    # The department itself may; the chain records who sent what.
    income["monthly_income"] = 1600
    assert system.signal(income).status_code == 202
    chain = await system.wait_chain(
        household_id, lambda c: bool(of_type(c, "SignalReceived")), "the signal"
    )
    [signal] = of_type(chain, "SignalReceived")
    assert signal["payload"]["monthly_income"] == "1600"
    assert signal["payload"]["submitted_by"] == "human_resources.desk"
    assert signal["payload"]["submitted_by_role"] == "department:human_resources"
    [application] = of_type(chain, "ApplicationReceived")
    assert application["payload"]["submitted_by"] == "clerk.wang"
    assert not of_type(chain, "ReferralWithdrawn")  # nothing the forgeries said took effect
    # Kafka keys of assist.monitoring name no resident id.
    monitoring = await read_all(system.kafka, system.topics.monitoring)
    assert monitoring and all(r.key and spouse.encode() not in r.key for r in monitoring)


async def test_operators_do_not_read_household_files(system: System) -> None:
    household_id = system.apply(dibao_family()).json()["household_id"]
    await system.wait_chain(household_id, lambda c: len(c) >= 3, "a classification")
    audit = f"{system.url('audit')}/v1/households/{household_id}"

    async def auditor_reads() -> bool:
        reply = await asyncio.to_thread(
            httpx.get, audit + "/chain", headers=system.headers("auditor")
        )
        return reply.status_code == 200

    await system.wait_until(auditor_reads, "the audit to have the chain")
    for path in ("/chain", "/state"):
        refused = httpx.get(audit + path, headers=system.headers("operator"))
        assert refused.status_code == 403 and "auditor" in refused.text
        assert httpx.get(audit + path, headers=system.headers("auditor")).status_code == 200
    verified = httpx.get(audit + "/chain/verify", headers=system.headers("operator"))
    assert verified.status_code == 200 and verified.json()["valid"] is True
    assert "payload" not in verified.text and "person_id" not in verified.text


async def test_a_department_s_example_consumer_answers_its_referrals_over_kafka(
    system: System, repo_root: Path
) -> None:
    """contracts/examples/department_consumer.py, run as a department runs it: with nothing but
    its own login, on its own topic. Its answers go through the feedback service into the
    chain; on another department's topic it is refused by the broker. (Last in this module: it
    answers every referral of its department that it finds.)"""
    household_id = system.apply(dibao_family()).json()["household_id"]
    chain = await system.wait_chain(
        household_id, lambda c: len(of_type(c, "ReferralIssued")) >= 4, "4 referrals"
    )
    referral = of_type(chain, "ReferralIssued")[0]["payload"]
    department = referral["department"]

    def consumer(topic_of: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ.get("PATH", ""),
            **logins_of(system.kafka.bootstrap_servers).env(department_principal(department)),
            "ASSIST_DEPARTMENT": topic_of,
            "ASSIST_TOPIC_NAMESPACE": system.topics.namespace,
        }
        return subprocess.run(  # noqa: S603 - our interpreter, the example's file
            [sys.executable, str(repo_root / "contracts/examples/department_consumer.py"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    ran = await asyncio.to_thread(consumer, department, "--timeout", "20")
    assert ran.returncode == 0, ran.stderr
    assert f"answered {referral['referral_id']} ACCEPTED" in ran.stdout.splitlines(), ran.stdout
    chain = await system.wait_chain(
        household_id,
        lambda c: any(
            d["payload"]["referral_id"] == referral["referral_id"]
            for d in of_type(c, "ReferralOutcomeReported")
        ),
        "the example consumer's answer in the chain",
    )
    [taken] = [
        d["payload"]
        for d in of_type(chain, "ReferralOutcomeReported")
        if d["payload"]["referral_id"] == referral["referral_id"]
    ]
    assert (taken["outcome"], taken["department"]) == ("ACCEPTED", department)

    other = next(d for d in ("housing", "education", "charity") if d != department)
    refused = await asyncio.to_thread(consumer, other, "--timeout", "10")
    assert refused.returncode == 1 and "TopicAuthorizationFailed" in refused.stderr, refused
