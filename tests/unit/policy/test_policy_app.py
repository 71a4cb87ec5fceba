"""The policy routes with a fake publisher and a fixed clock: propose, list, approve, withdraw,
who may do which, and 422s that name the field."""

from __future__ import annotations

from typing import Any

import pytest
from support.loop import TOPICS
from unit.policy.policy_support import Service, make_service, version_body

from events.policy import PolicyVersionApproved, PolicyVersionProposed, PolicyVersionWithdrawn


@pytest.fixture
def svc() -> Service:
    return make_service()


def statuses(svc: Service, user: str = "auditor.li") -> dict[str, str]:
    reply = svc.call("GET", "/v1/policy/versions", user)
    assert reply.status_code == 200, reply.text
    return {v["policy_version"]: v["status"] for v in reply.json()}


def test_a_proposal_is_published_resolved_and_seen_at_once(svc: Service) -> None:
    reply = svc.propose(version_body(service_level_days={"housing": 20}))

    assert reply.status_code == 201, reply.text
    version = reply.json()
    assert (version["status"], version["proposed_by"], version["based_on"]) == (
        "proposed",
        "policy.chen",
        "2026-01",
    )
    hangzhou = next(r for r in version["regions"] if r["region_code"] == "330100")
    assert (hangzhou["dibao_standard"], hangzhou["prior_year_disposable_income"]) == (
        "1400",
        "77000",
    )
    assert version["service_level_days"]["housing"] == 20
    ((topic, event, key),) = svc.publisher.sent
    assert (topic, key) == (TOPICS.policy, b"2026-07")
    assert isinstance(event.payload, PolicyVersionProposed)
    assert event.payload.proposed_by == "policy.chen" and event.household_id is None
    assert statuses(svc) == {"2026-01": "in_force", "2026-07": "proposed"}
    assert svc.call("GET", "/v1/policy/versions/2026-07", "clerk.wang").json() == version


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"effective_from": "2026-06-01"}, "effective_from"),
        ({"policy_version": "2026-01"}, "policy_version"),
        (
            {"regions": [{"region_code": "330100", "dibao_standard": "0"}]},
            "regions[0].dibao_standard",
        ),
        (
            {"regions": [{"region_code": "330100", "prior_year_disposable_income": "-1"}]},
            "regions[0].prior_year_disposable_income",
        ),
        (
            {"regions": [{"region_code": "330100", "marginal_multiplier": "0.5"}]},
            "regions[0].marginal_multiplier",
        ),
        ({"regions": [{"region_code": "999999"}]}, "regions[0].region_code"),
        (
            {"regions": [{"region_code": "330100", "dibao_standard": 1400.0}]},
            "regions[0].dibao_standard",
        ),
        ({"service_level_days": {"civil_affairs": 0}}, "service_level_days.civil_affairs"),
    ],
)
def test_a_bad_version_is_422_naming_the_field(
    svc: Service, fields: dict[str, Any], field: str
) -> None:
    reply = svc.propose(version_body(**fields))

    assert reply.status_code == 422, reply.text
    assert [p["field"] for p in reply.json()["fields"]] == [field]
    assert reply.json()["detail"].startswith(f"{field}: ")
    assert svc.publisher.sent == []


def test_a_name_is_never_used_twice_nor_a_date_by_two_live_versions(svc: Service) -> None:
    assert svc.propose(version_body()).status_code == 201

    again = svc.propose(version_body(), "policy.liu")
    same_day = svc.propose(version_body("2026-07b"), "policy.liu")

    assert again.status_code == 422 and again.json()["fields"][0]["field"] == "policy_version"
    assert same_day.status_code == 422
    assert "version 2026-07 (proposed) already takes effect" in same_day.json()["detail"]
    svc.withdraw("2026-07")
    assert svc.propose(version_body("2026-07b"), "policy.liu").status_code == 201
    assert svc.propose(version_body(), "policy.liu").status_code == 422  # withdrawn: still used


def test_the_proposer_cannot_approve_a_second_person_can_once(svc: Service) -> None:
    svc.propose(version_body())

    own = svc.approve("2026-07", "policy.chen")
    second = svc.approve("2026-07", "policy.liu")
    again = svc.approve("2026-07", "policy.liu")

    assert own.status_code == 403
    assert own.json()["detail"] == "the proposer cannot approve their own version"
    assert second.status_code == 200, second.text
    assert (second.json()["status"], second.json()["approved_by"]) == ("approved", "policy.liu")
    assert again.status_code == 409
    payloads = svc.publisher.payloads
    assert [type(p) for p in payloads] == [PolicyVersionProposed, PolicyVersionApproved]
    assert payloads[1].approved_by == "policy.liu"


def test_an_approved_version_takes_effect_on_its_date_and_supersedes(svc: Service) -> None:
    svc.propose(version_body())
    svc.approve("2026-07")
    svc.clock.advance(30)  # 2026-07-01
    assert statuses(svc) == {"2026-01": "superseded", "2026-07": "in_force"}


def test_withdrawal_until_it_takes_effect(svc: Service) -> None:
    svc.propose(version_body())
    svc.approve("2026-07")

    withdrawn = svc.withdraw("2026-07", "policy.liu", reason="budget not granted")

    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["withdrawn_by"] == "policy.liu"
    assert withdrawn.json()["withdrawal_reason"] == "budget not granted"
    assert statuses(svc)["2026-07"] == "withdrawn"
    assert isinstance(svc.publisher.payloads[-1], PolicyVersionWithdrawn)
    assert svc.withdraw("2026-07").status_code == 409
    assert svc.approve("2026-07").status_code == 409
    in_force = svc.withdraw("2026-01")
    assert in_force.status_code == 409 and "in_force" in in_force.json()["detail"]


def test_a_proposal_not_approved_before_its_date_cannot_be_approved_after(svc: Service) -> None:
    svc.propose(version_body())
    svc.clock.advance(30)
    late = svc.approve("2026-07")
    assert late.status_code == 409 and "not after today" in late.json()["detail"]


@pytest.mark.parametrize("user", ["clerk.wang", "education.desk", "auditor.li", "operator.zhao"])
def test_only_policy_users_propose_approve_and_withdraw(svc: Service, user: str) -> None:
    svc.propose(version_body())
    assert svc.propose(version_body("2026-08", "2026-08-01"), user).status_code == 403
    assert svc.approve("2026-07", user).status_code == 403
    assert svc.withdraw("2026-07", user).status_code == 403
    assert statuses(svc, user) == {"2026-01": "in_force", "2026-07": "proposed"}  # anyone reads


def test_without_a_token_401_unknown_versions_404(svc: Service) -> None:
    assert svc.call("GET", "/v1/policy/versions", None).status_code == 401
    assert svc.propose(version_body(), "nobody").status_code == 401
    for path in ("approval", "withdrawal"):
        assert svc.call("POST", f"/v1/policy/versions/2099-01/{path}").status_code == 404
    assert svc.call("GET", "/v1/policy/versions/2099-01").status_code == 404


def test_nothing_is_answered_before_the_state_is_read() -> None:
    svc = make_service(ready=False)
    reply = svc.call("GET", "/v1/policy/versions")
    assert reply.status_code == 503 and reply.headers["Retry-After"] == "1"
    assert svc.propose(version_body()).status_code == 503
