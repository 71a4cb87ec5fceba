"""Feedback's HTTP routes with a fake publisher: who may answer which referral, and how."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.loop import TOPICS

from events.envelope import Envelope, derived_event_id
from events.feedback import FeedbackSubmitted
from events.types import Department, Program
from services.feedback.app import FeedbackDeps, create_app
from services.feedback.ledger import Answer, Ledger, Referral, Status, fingerprint
from services.runtime.auth import TokenStore

TOKENS = TokenStore(
    {
        "intake": "t-intake",
        "auditor": "t-auditor",
        "operator": "t-operator",
        "department:education": "t-edu",
        "department:housing": "t-housing",
    }
)
ISSUED = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
DELIVERED = {"outcome": "DELIVERED", "delivered": {"cash_amount": "740", "service": "paid"}}


@dataclass
class FakePublisher:
    """Records what would have gone to Kafka."""

    events: list[tuple[str, Envelope, bytes | None]] = field(default_factory=list)
    raw: list[tuple[str, bytes, bytes | None, str]] = field(default_factory=list)

    async def publish(self, topic: str, event: Envelope, key: bytes | None = None) -> None:
        self.events.append((topic, event, key))

    async def publish_raw(self, topic: str, value: bytes, key: bytes | None, label: str) -> None:
        self.raw.append((topic, value, key, label))

    @property
    def count(self) -> int:
        return len(self.events) + len(self.raw)


def referral(
    referral_id: str, department: Department, program: Program, status: Status = Status.OPEN
) -> Referral:
    return Referral(
        referral_id=referral_id,
        household_id="HH-1",
        program=program,
        department=department,
        due_at=ISSUED + timedelta(days=10),
        issued_at=ISSUED,
        issued_event_id="00000000-0000-0000-0000-000000000001",
        correlation_id="00000000-0000-0000-0000-000000000002",
        status=status,
    )


@dataclass
class Service:
    client: TestClient
    publisher: FakePublisher
    ledger: Ledger

    def post(
        self, referral_id: str, body: dict[str, Any], token: str | None = "t-edu", **headers: str
    ) -> Any:
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.post(f"/v1/referrals/{referral_id}/feedback", json=body, headers=headers)

    def get(self, token: str | None, **params: str) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.get("/v1/referrals", params=params, headers=headers)


@pytest.fixture
def service() -> Service:
    ledger = Ledger()
    ledger.issued(referral("R-EDU", Department.EDUCATION, Program.EDUCATION_ASSISTANCE))
    ledger.issued(
        referral("R-DONE", Department.EDUCATION, Program.EDUCATION_ASSISTANCE, Status.DELIVERED)
    )
    ledger.issued(referral("R-HOU", Department.HOUSING, Program.HOUSING_ASSISTANCE))
    publisher = FakePublisher()
    app = create_app(FeedbackDeps(TOKENS, publisher, TOPICS, lambda: ledger))  # type: ignore[arg-type]
    return Service(TestClient(app), publisher, ledger)


def test_a_good_answer_is_202_and_published_to_the_feedback_topic(service: Service) -> None:
    reply = service.post("R-EDU", DELIVERED)
    assert reply.status_code == 202, reply.text
    assert reply.json()["referral_id"] == "R-EDU" and reply.json()["outcome"] == "DELIVERED"
    [(topic, value, key, label)] = service.publisher.raw
    assert (topic, key, label) == (TOPICS.feedback, b"R-EDU", "FeedbackSubmitted")
    message = FeedbackSubmitted.model_validate(json.loads(value))
    assert (message.referral_id, message.department) == ("R-EDU", Department.EDUCATION)
    assert str(message.feedback_id) == reply.json()["feedback_id"]
    assert message.answered_by == "department:education"  # the old tokens form: role = user


def test_the_answer_names_the_person_and_the_systems_time() -> None:
    ledger = Ledger()
    ledger.issued(referral("R-EDU", Department.EDUCATION, Program.EDUCATION_ASSISTANCE))
    publisher = FakePublisher()
    tokens = TokenStore.parse(
        [{"user": "teacher.sun", "role": "department:education", "token": "t"}]
    )
    system_time = ISSUED + timedelta(days=400)
    app = create_app(
        FeedbackDeps(tokens, publisher, TOPICS, lambda: ledger, lambda: system_time)  # type: ignore[arg-type]
    )
    reply = TestClient(app).post(
        "/v1/referrals/R-EDU/feedback", json=DELIVERED, headers={"Authorization": "Bearer t"}
    )
    assert reply.status_code == 202, reply.text
    [(_, value, _, _)] = publisher.raw
    message = FeedbackSubmitted.model_validate(json.loads(value))
    assert (message.answered_by, message.submitted_at) == ("teacher.sun", system_time)


def test_an_unknown_referral_is_404_with_the_reason(service: Service) -> None:
    reply = service.post("R-NOPE", DELIVERED)
    assert reply.status_code == 404
    assert reply.json()["detail"] == "unknown referral 'R-NOPE'"
    assert service.publisher.count == 0


def test_another_departments_referral_is_403_with_the_reason(service: Service) -> None:
    reply = service.post("R-HOU", DELIVERED)
    assert reply.status_code == 403
    assert reply.json()["detail"] == "referral 'R-HOU' belongs to housing, not to education"
    assert service.publisher.count == 0


def test_an_answer_after_a_final_one_is_409_with_the_reason(service: Service) -> None:
    reply = service.post("R-DONE", {"outcome": "ACCEPTED"})
    assert reply.status_code == 409
    assert "already has a final answer (delivered)" in reply.json()["detail"]
    assert service.publisher.count == 0


def test_a_second_final_answer_before_the_chain_has_it_is_409(service: Service) -> None:
    assert service.post("R-EDU", DELIVERED).status_code == 202
    reply = service.post("R-EDU", {"outcome": "DECLINED", "reason": "duplicate"})
    assert reply.status_code == 409 and "R-EDU" in reply.json()["detail"]
    assert service.publisher.count == 1


def test_a_retry_with_the_same_idempotency_key_keeps_the_feedback_id(service: Service) -> None:
    first = service.post("R-EDU", {"outcome": "ACCEPTED"}, **{"Idempotency-Key": "k-1"})
    second = service.post("R-EDU", {"outcome": "ACCEPTED"}, **{"Idempotency-Key": "k-1"})
    other = service.post("R-EDU", {"outcome": "ACCEPTED"}, **{"Idempotency-Key": "k-2"})
    assert first.json()["feedback_id"] == second.json()["feedback_id"]
    assert other.json()["feedback_id"] != first.json()["feedback_id"]


def test_a_retry_after_success_is_answered_as_the_first_call_was(service: Service) -> None:
    key = {"Idempotency-Key": "k-final"}
    first = service.post("R-EDU", DELIVERED, **key)
    assert first.status_code == 202
    # The chain has it by now: the referral is final, and the retry is still the first answer.
    service.ledger.set_status("R-EDU", Status.DELIVERED)
    again = service.post("R-EDU", DELIVERED, **key)
    assert (again.status_code, again.json()) == (202, first.json())
    assert service.publisher.count == 1  # sent once


def test_a_retry_after_a_restart_is_answered_from_the_ledger(service: Service) -> None:
    key = {"Idempotency-Key": "k-before"}
    first = service.post("R-EDU", DELIVERED, **key).json()
    # What the feedback processor folds from assist.feedback, read again by a new process.
    [(_, value, _, _)] = service.publisher.raw
    taken = FeedbackSubmitted.model_validate_json(value)
    ledger = Ledger()
    ledger.issued(referral("R-EDU", Department.EDUCATION, Program.EDUCATION_ASSISTANCE))
    ledger.set_status("R-EDU", Status.DELIVERED)
    outcome_event_id = str(derived_event_id("feedback", str(taken.feedback_id)))
    ledger.answers[outcome_event_id] = Answer("R-EDU", taken.outcome, fingerprint(taken))
    restarted = create_app(FeedbackDeps(TOKENS, FakePublisher(), TOPICS, lambda: ledger))  # type: ignore[arg-type]
    again = TestClient(restarted).post(
        "/v1/referrals/R-EDU/feedback",
        json=DELIVERED,
        headers=key | {"Authorization": "Bearer t-edu"},
    )
    assert (again.status_code, again.json()) == (202, first)


def test_the_same_key_for_a_different_answer_is_409_naming_the_key(service: Service) -> None:
    key = {"Idempotency-Key": "k-1"}
    assert service.post("R-EDU", {"outcome": "ACCEPTED"}, **key).status_code == 202
    reply = service.post("R-EDU", {"outcome": "DECLINED", "reason": "duplicate"}, **key)
    assert reply.status_code == 409 and "Idempotency-Key 'k-1'" in reply.json()["detail"]
    assert service.publisher.count == 1


def test_a_body_that_does_not_fit_its_outcome_is_422_naming_the_field(service: Service) -> None:
    reply = service.post("R-EDU", {"outcome": "DECLINED"})
    assert reply.status_code == 422
    assert "reason" in reply.json()["detail"]
    reply = service.post("R-EDU", {"outcome": "DELIVERED", "delivered": {"cash_amount": -5}})
    assert reply.status_code == 422
    assert reply.json()["fields"][0]["field"] == "delivered.cash_amount"
    assert service.publisher.count == 0


def test_a_transfer_to_the_referrals_own_department_is_422_naming_transfer_to(
    service: Service,
) -> None:
    reply = service.post("R-EDU", {"outcome": "TRANSFERRED", "transfer_to": "education"})
    assert reply.status_code == 422
    [problem] = reply.json()["fields"]
    assert problem == {
        "field": "transfer_to",
        "message": "referral 'R-EDU' is already with education; a transfer names another "
        "department",
    }
    assert reply.json()["detail"].startswith("transfer_to: ")
    assert service.publisher.count == 0
    reply = service.post("R-EDU", {"outcome": "TRANSFERRED", "transfer_to": "housing"})
    assert reply.status_code == 202


@pytest.mark.parametrize(
    ("token", "status"), [(None, 401), ("t-wrong", 401), ("t-intake", 403), ("t-auditor", 403)]
)
def test_only_a_department_may_answer(service: Service, token: str | None, status: int) -> None:
    assert service.post("R-EDU", DELIVERED, token=token).status_code == status
    assert service.publisher.count == 0


def test_a_department_lists_only_its_own_referrals(service: Service) -> None:
    reply = service.get("t-edu")
    assert reply.status_code == 200
    assert sorted(r["referral_id"] for r in reply.json()) == ["R-DONE", "R-EDU"]
    reply = service.get("t-edu", department="education", status="open")
    assert [r["referral_id"] for r in reply.json()] == ["R-EDU"]


def test_a_department_listing_another_departments_referrals_is_403(service: Service) -> None:
    reply = service.get("t-edu", department="housing")
    assert reply.status_code == 403
    assert reply.json()["detail"] == "education may list only its own referrals"


def test_auditors_and_operators_list_any_department(service: Service) -> None:
    assert len(service.get("t-auditor").json()) == 3
    assert [r["referral_id"] for r in service.get("t-operator", department="housing").json()] == [
        "R-HOU"
    ]
    assert service.get(None).status_code == 401
    assert service.get("t-intake").status_code == 403


def test_503_while_the_ledger_is_still_being_read() -> None:
    app = create_app(FeedbackDeps(TOKENS, FakePublisher(), TOPICS, lambda: None))  # type: ignore[arg-type]
    reply = TestClient(app).get("/v1/referrals", headers={"Authorization": "Bearer t-edu"})
    assert reply.status_code == 503
