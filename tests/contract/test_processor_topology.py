"""What each service's processors read and write, as its composition root builds them, is what
the topic catalog lets its principal do. The catalog (contracts/topics.py) is where the
topology is written: the AsyncAPI document's publishers and subscribers and the broker's ACLs
come from it, so a processor reading a topic the catalog does not give its service would be
refused by the broker, and the published contract would not say so."""

from __future__ import annotations

import importlib
import json

import pytest

from contracts.access import Operation, Resource, allowed, grants
from contracts.topics import CATALOG, TopicNames
from deploy.local.stack import LOOP_SERVICES
from services.runtime.processor import Processor
from services.runtime.settings import KafkaSettings, ServiceSettings

NS = "t1."
TABLE = grants(NS)
TOPICS = TopicNames(NS)
SERVICES = (*LOOP_SERVICES, "operations")


@pytest.fixture(scope="module")
def processors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Processor]]:
    """Each service's processors as `python -m services.<name>` builds them (nothing connects
    before they run)."""
    home = tmp_path_factory.mktemp("topology")
    tokens = home / "tokens.json"
    tokens.write_text(json.dumps([{"user": "op.zhao", "role": "operator", "token": "t"}]))
    settings = ServiceSettings(tokens_file=tokens, data_dir=home / "data")
    built = {}
    for service in SERVICES:
        build = importlib.import_module(f"services.{service}.bootstrap").build
        built[service] = build(KafkaSettings(), TOPICS, settings).processors
    return built


def may(service: str, resource: Resource, name: str, operation: Operation) -> bool:
    return allowed(TABLE, service, resource, name, operation)


@pytest.mark.parametrize("service", SERVICES)
def test_a_services_processors_read_and_write_only_what_the_catalog_gives_it(
    processors: dict[str, list[Processor]], service: str
) -> None:
    assert processors[service], f"{service} builds no processor"
    refused = []
    for processor in processors[service]:
        config = processor.config
        for topic in (*config.inputs, config.skip_orders_topic):
            if not may(service, Resource.TOPIC, topic, Operation.READ):
                refused.append(f"{config.name} reads {topic}")
        for topic in (config.deadletter_topic, config.skip_orders_topic):
            if not may(service, Resource.TOPIC, topic, Operation.WRITE):
                refused.append(f"{config.name} writes {topic}")
        if not may(service, Resource.GROUP, config.name, Operation.READ):
            refused.append(f"{config.name} joins its group {config.name}")
        for transactional_id in (f"{config.name}.0", f"{config.name}.task-0-of-4"):
            if not may(service, Resource.TRANSACTIONAL_ID, transactional_id, Operation.WRITE):
                refused.append(f"{config.name} writes as {transactional_id}")
    assert not refused, refused


def test_the_check_sees_a_topic_the_catalog_does_not_give() -> None:
    assert may("referral", Resource.TOPIC, TOPICS.chain, Operation.READ)
    assert not may("referral", Resource.TOPIC, TOPICS.monitoring, Operation.READ)
    assert not may("referral", Resource.TOPIC, TOPICS.chain, Operation.WRITE)


def test_every_processor_that_scales_out_has_household_keyed_inputs(
    processors: dict[str, list[Processor]],
) -> None:
    """A scaled-out processor's keyed inputs are keyed by household in the catalog, so a
    household is in the same task on every one of them."""
    keys = {NS + spec.name: spec.key for spec in CATALOG}
    for service, built in processors.items():
        for processor in built:
            if processor.config.scale_out is None:
                continue
            for topic in processor.config.keyed_inputs:
                assert keys[topic] == "household_id", (service, topic)
