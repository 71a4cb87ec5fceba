"""An attacker with write access to the broker appends a forged event to a household's chain,
its hash link correctly recomputed (the attack of issue 15). Only the chain writer's appends
count: the audit names the forgery, keeps it out of the household's state and happiness list,
and does not blame the chain writer's own next event; a restarted chain writer does not take
the forgery for its head."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from households import dibao_family
from support.kafka_io import produce
from support.logins import logins_of
from support.system import System, of_type
from typer.testing import CliRunner

from contracts.access import AUDITOR
from events.canonical import canonical_json
from events.chain import event_hash
from services.cli.__main__ import app as cli


def _audit(system: System, path: str) -> Any:
    reply = httpx.get(
        f"{system.url('audit')}/v1/households/{path}", headers=system.headers("auditor"), timeout=30
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def _forged_delivery(last: dict[str, Any], referral: dict[str, Any]) -> dict[str, Any]:
    """DELIVERED, cash 99,999, on a referral of another program, linked after `last`."""
    document: dict[str, Any] = json.loads(json.dumps(last))
    document.update(
        event_id="00000000-0000-4000-8000-0000000000ff",
        event_type="ReferralOutcomeReported",
        schema_version=1,
        sequence=last["sequence"] + 1,
        prev_hash=last["hash"],
        payload={
            "referral_id": referral["referral_id"],
            "program": "education_assistance",
            "department": referral["department"],
            "outcome": "DELIVERED",
            "delivered": {"cash_amount": "99999.00"},
        },
    )
    document["hash"] = event_hash(document)
    return document


async def _answer(system: System, household_id: str, referral: dict[str, Any], n: int) -> None:
    """A department accepts a referral: the chain writer appends its own next event."""
    reply = system.feedback(
        referral["referral_id"], referral["department"], {"outcome": "ACCEPTED"}
    )
    assert reply.status_code == 202, reply.text
    await system.wait_chain(
        household_id, lambda c: len(of_type(c, "ReferralOutcomeReported")) >= n, f"answer {n}"
    )


async def test_a_forged_append_is_named_kept_out_and_never_taken_for_a_head(
    system: System,
) -> None:
    household_id = system.apply(dibao_family()).json()["household_id"]
    chain = await system.wait_chain(
        household_id, lambda c: len(of_type(c, "ReferralIssued")) >= 4, "4 referrals"
    )
    referrals = [d["payload"] for d in of_type(chain, "ReferralIssued")]
    medical = next(r for r in referrals if r["department"] == "medical_security")
    forged = _forged_delivery(chain[-1], medical)
    await produce(
        system.kafka, system.topics.chain, [(household_id.encode(), canonical_json(forged))]
    )
    forged_place = len(chain) + 1

    # The chain writer, unaware of the forgery, appends its own next event after its own head.
    first, second = [r for r in referrals if r is not medical][:2]
    await _answer(system, household_id, first, 2)  # the forgery counts as one outcome
    verdict = _audit(system, f"{household_id}/chain/verify")
    assert not verdict["valid"] and verdict["first_bad_sequence"] == forged_place, verdict
    assert "not appended by the chain writer" in verdict["reason"]
    assert "without them" not in verdict["reason"]  # the writer's own chain is whole
    stored = _audit(system, f"{household_id}/chain")
    assert stored["unsigned_records"] == [forged_place]
    state = _audit(system, f"{household_id}/state")
    assert all(float(d.get("cash_amount") or 0) != 99999 for d in state["delivered"]), state
    by_id = {r["referral_id"]: r for r in state["referrals"]}
    assert by_id[medical["referral_id"]]["status"] != "delivered"

    # An auditor reading the whole log with the chain writer's public key finds it too.
    writer_key = system.tokens_file.parent / "data" / "chainwriter" / "chain-writer-signing.pub"
    env = {
        **logins_of(system.kafka.bootstrap_servers).env(AUDITOR),
        "ASSIST_TOPIC_NAMESPACE": system.topics.namespace,
    }
    args = ["verify", "--all", "--writer-key", str(writer_key), "--json"]
    swept = await asyncio.to_thread(CliRunner().invoke, cli, args, env=env)
    assert swept.exit_code == 1, swept.output
    report = json.loads(swept.stdout)
    assert report["unsigned"] == [{"household_id": household_id, "record": forged_place}]
    assert report["broken"] == []  # every chain, without the forgery, is whole

    # Restarted, the chain writer rebuilds its heads from the topic and skips the forgery.
    writer = system.services["chainwriter"]
    writer.stop()
    writer.start().wait_healthy(timeout=90)
    await _answer(system, household_id, second, 3)
    verdict = _audit(system, f"{household_id}/chain/verify")
    assert verdict["first_bad_sequence"] == forged_place and "without them" not in verdict["reason"]
    assert verdict["length"] == len(chain) + 3
