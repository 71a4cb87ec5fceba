"""Intake's HTTP routes with a fake publisher: 202 once published, and nothing of a refusal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.loop import POLICY, TOPICS, declaration, dibao_members, member

from events.envelope import Envelope
from events.household import ApplicationReceived, VisitCompleted
from events.monitoring import RecordReported, SignalReceived
from services.intake.app import IntakeDeps, create_app
from services.intake.durable import NotConfirmed, NotRecorded
from services.intake.idempotency import IdempotencyKeys
from services.intake.visits import VisitIndex
from services.runtime.auth import TokenEntry, TokenStore
from services.runtime.pseudonym import Pseudonyms

TOKENS = TokenStore(
    [
        TokenEntry("clerk.wang", "intake", "t-intake"),
        TokenEntry("auditor.li", "auditor", "t-auditor"),
        TokenEntry("medical.desk", "department:medical_security", "t-medical"),
        TokenEntry("hr.desk", "department:human_resources", "t-hr"),
        TokenEntry("charity.desk", "department:charity", "t-charity"),
        TokenEntry("emergency.desk", "department:emergency_management", "t-emergency"),
    ]
)
INTAKE = {"Authorization": "Bearer t-intake"}
MEDICAL = {"Authorization": "Bearer t-medical"}
HR = {"Authorization": "Bearer t-hr"}
CHARITY = {"Authorization": "Bearer t-charity"}
EMERGENCY = {"Authorization": "Bearer t-emergency"}
PSEUDONYMS = Pseudonyms("a-test-secret-of-this-deployment")


@dataclass
class FakePublisher:
    """Records what would have gone to Kafka."""

    events: list[tuple[str, Envelope, bytes | None]] = field(default_factory=list)
    raw: list[tuple[str, bytes, bytes | None, str]] = field(default_factory=list)
    failure: Exception | None = None  # what the broker's silence raises, when set

    async def publish(self, topic: str, event: Envelope, key: bytes | None = None) -> None:
        if self.failure is not None:
            raise self.failure
        self.events.append((topic, event, key or event.key))

    async def publish_raw(self, topic: str, value: bytes, key: bytes | None, label: str) -> None:
        self.raw.append((topic, value, key, label))

    @property
    def count(self) -> int:
        return len(self.events) + len(self.raw)


@dataclass
class Intake:
    client: TestClient
    publisher: FakePublisher
    visits: VisitIndex

    def post(
        self, path: str, body: Any, headers: dict[str, str] | None = None, key: str | None = None
    ) -> Any:
        headers = dict(INTAKE if headers is None else headers)
        if key:
            headers["Idempotency-Key"] = key
        return self.client.post(path, json=body, headers=headers)


@pytest.fixture
def intake() -> Intake:
    publisher, visits = FakePublisher(), VisitIndex()
    deps = IntakeDeps(
        tokens=TOKENS,
        publisher=publisher,
        topics=TOPICS,  # type: ignore[arg-type]
        policy=POLICY,
        visits=lambda: visits,
        keys=IdempotencyKeys(),
        pseudonyms=PSEUDONYMS,
    )
    return Intake(TestClient(create_app(deps)), publisher, visits)


def application() -> dict[str, Any]:
    return declaration(dibao_members())


def signal(**values: Any) -> dict[str, Any]:
    return {
        "kind": "major_medical_expense",
        "person_id": member()["person_id"],
        "region_code": "330100",
        "occurred_at": "2026-06-01T09:00:00+08:00",
        "source_department": "medical_security",
        "amount": 25000,
        **values,
    }


def test_a_good_application_is_202_with_its_household_and_correlation(intake: Intake) -> None:
    body = application()
    reply = intake.post("/v1/applications", body)
    assert reply.status_code == 202, reply.text
    answer = reply.json()
    assert answer["household_id"].startswith("HH-")
    [(topic, event, key)] = intake.publisher.events
    assert (topic, key) == (TOPICS.events, answer["household_id"].encode())
    assert (str(event.event_id), str(event.correlation_id), event.household_id) == (
        answer["event_id"],
        answer["correlation_id"],
        answer["household_id"],
    )
    payload = event.payload
    assert isinstance(payload, ApplicationReceived)
    assert [m.person_id for m in payload.members] == [m["person_id"] for m in body["members"]]
    assert event.producer == "intake"
    assert (payload.submitted_by, payload.submitted_by_role) == ("clerk.wang", "intake")


def test_a_given_household_id_is_kept(intake: Intake) -> None:
    reply = intake.post("/v1/applications", application() | {"household_id": "HH-MINE"})
    assert reply.json()["household_id"] == "HH-MINE"


def test_a_retry_with_the_same_idempotency_key_gets_the_same_ids(intake: Intake) -> None:
    body = application()
    first = intake.post("/v1/applications", body, key="retry-1").json()
    second = intake.post("/v1/applications", body, key="retry-1").json()
    assert first == second
    assert len({e.event_id for _, e, _ in intake.publisher.events}) == 1  # the writer drops it


def test_a_reused_idempotency_key_with_another_body_is_409(intake: Intake) -> None:
    assert intake.post("/v1/applications", application(), key="k").status_code == 202
    reply = intake.post("/v1/applications", application(), key="k")
    assert reply.status_code == 409 and "'k'" in reply.json()["detail"]
    assert intake.publisher.count == 1


def test_without_a_token_401(intake: Intake) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic t-intake"}):
        reply = intake.post("/v1/applications", application(), headers)
        assert reply.status_code == 401
    assert intake.publisher.count == 0


def test_a_department_token_may_not_register_applications(intake: Intake) -> None:
    reply = intake.post("/v1/applications", application(), MEDICAL)
    assert reply.status_code == 403
    assert (
        intake.post(
            "/v1/applications", application(), {"Authorization": "Bearer t-auditor"}
        ).status_code
        == 403
    )
    assert intake.publisher.count == 0


def test_an_invalid_resident_id_is_422_naming_the_field_and_nothing_is_published(
    intake: Intake,
) -> None:
    body = application()
    person_id = body["members"][0]["person_id"]
    body["members"][0]["person_id"] = person_id[:17] + ("0" if person_id[17] != "0" else "1")
    reply = intake.post("/v1/applications", body)
    assert reply.status_code == 422
    answer = reply.json()
    assert set(answer) == {"error", "detail", "fields"}
    [problem] = answer["fields"]
    assert problem["field"] == "members[0].person_id"
    assert "check character" in problem["message"]
    assert answer["detail"].startswith("members[0].person_id: ")
    assert intake.publisher.count == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.update(region_code="999999"), "region_code"),
        (lambda b: b.update(members=[]), "members"),
        (lambda b: b["members"][1].update(monthly_income=-1), "members[1].monthly_income"),
        (lambda b: b["members"].append(dict(b["members"][0])), "members[3].person_id"),
        (lambda b: b["members"][2].update(birth_date="2999-01-01"), "members[2].birth_date"),
        (lambda b: b.update(occurred_at="2999-01-01T00:00:00Z"), "occurred_at"),
    ],
)
def test_every_refusal_names_its_field_and_publishes_nothing(
    intake: Intake, change: Any, field: str
) -> None:
    body = application()
    change(body)
    reply = intake.post("/v1/applications", body)
    assert reply.status_code == 422
    assert field in [p["field"] for p in reply.json()["fields"]], reply.json()
    assert intake.publisher.count == 0


def test_a_body_that_is_not_json_is_422(intake: Intake) -> None:
    reply = intake.client.post("/v1/applications", content=b"{nope", headers=INTAKE)
    assert reply.status_code == 422 and reply.json()["fields"][0]["field"] == "body"
    assert intake.publisher.count == 0


def test_a_signal_goes_to_monitoring_keyed_by_the_persons_pseudonym(intake: Intake) -> None:
    body = signal()
    reply = intake.post("/v1/signals", body, MEDICAL)
    assert reply.status_code == 202, reply.text
    assert reply.json()["household_id"] is None
    [(topic, event, key)] = intake.publisher.events
    assert (topic, key, event.household_id) == (
        TOPICS.monitoring,
        PSEUDONYMS.key(body["person_id"]),
        None,
    )
    assert key is not None and body["person_id"].encode() not in key and len(key) == 64
    assert isinstance(event.payload, SignalReceived) and event.payload.amount == 25000
    assert event.occurred_at.isoformat() == "2026-06-01T09:00:00+08:00"
    assert (event.payload.submitted_by, event.payload.submitted_by_role) == (
        "medical.desk",
        "department:medical_security",
    )


def test_one_persons_signals_and_records_share_a_key_and_others_do_not(intake: Intake) -> None:
    person, other = member()["person_id"], dibao_members()[1]["person_id"]
    assert intake.post("/v1/signals", signal(person_id=person), MEDICAL).status_code == 202
    assert intake.post("/v1/signals", signal(person_id=other), MEDICAL).status_code == 202
    assert intake.post("/v1/records", record(person), HR).status_code == 202
    keys = [key for _, _, key in intake.publisher.events]
    assert keys[0] == keys[2] != keys[1]
    # Another deployment's secret gives other keys: without the secret, no way back to the id.
    assert Pseudonyms("another-deployments-secret").key(person) != keys[0]


def test_a_signal_without_its_kinds_field_is_422_naming_it(intake: Intake) -> None:
    body = signal()
    del body["amount"]
    reply = intake.post("/v1/signals", body, MEDICAL)
    assert reply.status_code == 422
    assert [p["field"] for p in reply.json()["fields"]] == ["amount"]
    assert intake.publisher.count == 0


def test_an_auditor_may_not_send_signals(intake: Intake) -> None:
    reply = intake.post("/v1/signals", signal(), {"Authorization": "Bearer t-auditor"})
    assert reply.status_code == 403 and intake.publisher.count == 0


def record(person_id: str, **values: Any) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "source_department": "human_resources",
        "recorded_at": "2026-06-01T09:00:00Z",
        "monthly_income": 2100,
        **values,
    }


def test_a_record_goes_to_monitoring_with_who_sent_it(intake: Intake) -> None:
    person = member()["person_id"]
    assert intake.post("/v1/records", record(person), HR).status_code == 202
    [(topic, event, key)] = intake.publisher.events
    assert (topic, key) == (TOPICS.monitoring, PSEUDONYMS.key(person))
    assert isinstance(event.payload, RecordReported) and event.payload.monthly_income == 2100
    assert event.payload.submitted_by == "hr.desk"
    assert event.payload.submitted_by_role == "department:human_resources"


def test_a_record_stating_nothing_is_422(intake: Intake) -> None:
    body = record(member()["person_id"])
    del body["monthly_income"]
    reply = intake.post("/v1/records", body, HR)
    assert reply.status_code == 422 and "deposits" in reply.json()["detail"]
    assert intake.publisher.count == 0


def test_a_department_speaking_for_another_is_403_naming_both(intake: Intake) -> None:
    # The attack of issue 13: charity reports a large income "from human_resources".
    forged = signal(kind="income_change", source_department="human_resources")
    del forged["amount"]
    forged["monthly_income"] = 90000
    reply = intake.post("/v1/signals", forged, CHARITY)
    assert reply.status_code == 403, reply.text
    assert "'human_resources'" in reply.json()["detail"]
    assert "'charity'" in reply.json()["detail"]
    reply = intake.post("/v1/records", record(member()["person_id"]), MEDICAL)
    assert reply.status_code == 403 and "'medical_security'" in reply.json()["detail"]
    assert intake.publisher.count == 0


def test_a_clerk_is_not_a_data_provider(intake: Intake) -> None:
    for path, body in (("/v1/signals", signal()), ("/v1/records", record(member()["person_id"]))):
        reply = intake.post(path, body, INTAKE)
        assert reply.status_code == 403 and "not a data provider" in reply.json()["detail"]
    assert intake.publisher.count == 0


def test_who_sent_a_request_is_not_the_bodys_to_say(intake: Intake) -> None:
    reply = intake.post("/v1/signals", signal(submitted_by="someone.else"), MEDICAL)
    assert reply.status_code == 422 and reply.json()["fields"][0]["field"] == "submitted_by"
    body = application() | {"submitted_by": "someone.else"}
    assert intake.post("/v1/applications", body).status_code == 422
    assert intake.publisher.count == 0


@pytest.mark.parametrize(
    ("failure", "error", "recorded"),
    [
        (NotRecorded("never sent"), "not recorded", False),
        (NotConfirmed("commit sent"), "not confirmed", None),
    ],
)
def test_an_event_the_broker_did_not_confirm_is_503_with_retry_after_saying_so(
    intake: Intake, failure: Exception, error: str, recorded: bool | None
) -> None:
    intake.publisher.failure = failure
    body = application()
    reply = intake.post("/v1/applications", body, key="k-503")
    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "5"
    answer = reply.json()
    assert (answer["error"], answer["recorded"], answer["retry_after_seconds"]) == (
        error,
        recorded,
        5,
    )
    assert "within 5 s" in answer["detail"] and "Idempotency-Key" in answer["detail"]
    if recorded is False:
        assert "nothing was recorded" in answer["detail"]
    # The same request again, once the broker answers: the same event, accepted.
    intake.publisher.failure = None
    again = intake.post("/v1/applications", body, key="k-503")
    assert again.status_code == 202 and again.json()["event_id"] == answer["event_id"]


def test_a_visit_result_goes_to_the_household_the_visit_was_requested_for(intake: Intake) -> None:
    intake.visits.households["V-1"] = "HH-9"
    body = application() | {"channel": "home_visit", "visitor": "grid-worker-7"}
    reply = intake.post("/v1/visits/V-1", body)
    assert reply.status_code == 202, reply.text
    assert reply.json()["household_id"] == "HH-9"
    [(_, event, key)] = intake.publisher.events
    assert key == b"HH-9" and isinstance(event.payload, VisitCompleted)
    assert event.payload.visit_id == "V-1"
    assert (event.payload.visitor, event.payload.submitted_by) == ("grid-worker-7", "clerk.wang")


def test_a_visit_nobody_requested_is_404(intake: Intake) -> None:
    body = application() | {"visitor": "grid-worker-7"}
    reply = intake.post("/v1/visits/V-nope", body)
    assert reply.status_code == 404 and "V-nope" in reply.json()["detail"]
    assert intake.publisher.count == 0


def test_a_visit_result_for_another_household_is_422(intake: Intake) -> None:
    intake.visits.households["V-1"] = "HH-9"
    body = application() | {"visitor": "grid-worker-7", "household_id": "HH-OTHER"}
    reply = intake.post("/v1/visits/V-1", body)
    assert reply.status_code == 422 and "HH-9" in reply.json()["detail"]
    assert intake.publisher.count == 0
