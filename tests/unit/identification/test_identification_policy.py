"""Identification reads the policy versions from assist.policy: as an input, and whole at start."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from identification_feed import Feed, types
from support.fake_topic import FakeTopic
from support.loop import HANGZHOU, TOPICS, event, new_person, signal

from contracts.topics import TopicNames
from events.envelope import Envelope
from events.policy import PolicyVersionApproved, PolicyVersionProposed
from services.identification.bootstrap import build
from services.rules.standards import shipped_proposal
from services.runtime.messages import Rejected
from services.runtime.service import service_settings
from services.runtime.settings import KafkaSettings

RAISED = "2026-07-low-warning"
JULY_2 = datetime(2026, 7, 2, 9, tzinfo=UTC)


def policy_messages() -> list[Envelope]:
    shipped = shipped_proposal()
    regions = [
        r.model_copy(update={"medical_warning_amount": Decimal(5000)})
        if r.region_code == HANGZHOU
        else r
        for r in shipped.regions
    ]
    proposed = PolicyVersionProposed(
        policy_version=RAISED,
        effective_from=date(2026, 7, 1),
        regions=regions,
        service_level_days=shipped.service_level_days,
        proposed_by="policy.chen",
    )
    approved = PolicyVersionApproved(policy_version=RAISED, approved_by="policy.liu")
    return [event(proposed, None, producer="policy"), event(approved, None, producer="policy")]


def test_the_processor_reads_chain_monitoring_and_policy() -> None:
    parts = build(KafkaSettings(), TopicNames(""), service_settings("identification", 8002))
    [processor] = parts.processors
    assert processor.config.inputs == (TOPICS.chain, TOPICS.monitoring, TOPICS.policy)


def test_a_broken_policy_message_is_rejected() -> None:
    with pytest.raises(Rejected):
        Feed().raw(TOPICS.policy, b"{not json")


def test_bootstrap_reads_every_version_before_anything_is_replayed() -> None:
    # A restart meets the signal before the approval it was first judged under: having read
    # the whole policy topic first, it judges it the same way again.
    topic = FakeTopic(TOPICS.policy, [b"{broken", *(m.to_bytes() for m in policy_messages())])
    feed = Feed()
    asyncio.run(feed.handler.bootstrap(lambda: topic))
    assert topic.stopped and topic.at == 3
    assert feed.handler.book.has_version(RAISED)
    bill = signal("major_medical_expense", new_person(), occurred_at=JULY_2, amount="6000")
    assert types(feed.monitoring(bill)) == ["SignalReceived", "RiskWarningRaised", "VisitRequested"]
    for message in policy_messages():  # met again as input: nothing changes
        assert feed.policy(message) == []
    assert [v.policy_version for v in feed.handler.book.versions] == ["2026-01", RAISED]
