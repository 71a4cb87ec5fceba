"""A proposal body resolved into the whole version it proposes, and the fields that refuse it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from events.envelope import new_event
from events.policy import PolicyVersionApproved, PolicyVersionProposed
from services.policy.domain.proposal import ProposalRefused, VersionBody, resolve
from services.rules.versions import PolicyVersions

TODAY = date(2026, 6, 1)


def body(**fields: Any) -> VersionBody:
    document: dict[str, Any] = {"policy_version": "2026-07", "effective_from": "2026-07-01"}
    return VersionBody.model_validate(document | fields)


def regions(proposal: PolicyVersionProposed) -> dict[str, dict[str, Any]]:
    return {r.region_code: r.model_dump(mode="json") for r in proposal.regions}


def approved(versions: PolicyVersions, proposal: PolicyVersionProposed) -> None:
    at = datetime(2026, 5, 1, tzinfo=UTC)
    for payload in (
        proposal,
        PolicyVersionApproved(policy_version=proposal.policy_version, approved_by="policy.liu"),
    ):
        versions.fold(new_event(payload, household_id=None, producer="policy", occurred_at=at))


def test_what_the_body_leaves_out_keeps_the_values_of_the_version_before() -> None:
    versions = PolicyVersions()
    change = [{"region_code": "330100", "dibao_standard": "1390", "asset_months": 30}]

    proposal = resolve(
        body(regions=change, service_level_days={"housing": 20}, note="raise"),
        versions.book,
        versions.records,
        TODAY,
        "policy.chen",
    )

    shipped = {code: s for code, s in versions.book.versions[0].regions.items()}
    hangzhou = regions(proposal)["330100"]
    assert (hangzhou["dibao_standard"], hangzhou["asset_months"]) == ("1390", 30)
    assert hangzhou["prior_year_disposable_income"] == "77000"
    assert hangzhou["name"] == "Hangzhou" and hangzhou["time_zone"] == "Asia/Shanghai"
    assert set(regions(proposal)) == set(shipped)
    assert regions(proposal)["500000"]["dibao_standard"] == "800"
    assert proposal.service_level_days["housing"] == 20
    assert proposal.service_level_days["civil_affairs"] == 10
    assert (proposal.based_on, proposal.proposed_by, proposal.note) == (
        "2026-01",
        "policy.chen",
        "raise",
    )


def test_it_is_resolved_against_the_version_in_force_the_day_before_it() -> None:
    versions = PolicyVersions()
    raised = resolve(
        body(regions=[{"region_code": "330100", "dibao_standard": "1400"}]),
        versions.book,
        versions.records,
        TODAY,
        "policy.chen",
    )
    approved(versions, raised)

    later = resolve(
        body(
            policy_version="2026-09",
            effective_from="2026-09-01",
            regions=[{"region_code": "330100", "prior_year_disposable_income": "80000"}],
        ),
        versions.book,
        versions.records,
        TODAY,
        "policy.chen",
    )
    earlier = resolve(
        body(policy_version="2026-06-15", effective_from="2026-06-15"),
        versions.book,
        versions.records,
        TODAY,
        "policy.chen",
    )

    assert later.based_on == "2026-07"
    assert regions(later)["330100"]["dibao_standard"] == "1400"
    assert regions(later)["330100"]["prior_year_disposable_income"] == "80000"
    assert earlier.based_on == "2026-01"
    assert regions(earlier)["330100"]["dibao_standard"] == "1240"


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"policy_version": "2026-01"}, "policy_version", "already used"),
        ({"effective_from": "2026-06-01"}, "effective_from", "after today"),
        ({"effective_from": "2026-05-01"}, "effective_from", "after today"),
        (
            {"regions": [{"region_code": "999999", "dibao_standard": "1"}]},
            "regions[0].region_code",
            "unknown region",
        ),
        (
            {"regions": [{"region_code": "330100"}, {"region_code": "330100"}]},
            "regions[1].region_code",
            "twice",
        ),
    ],
)
def test_a_bad_version_is_refused_naming_the_field(
    fields: dict[str, Any], field: str, words: str
) -> None:
    versions = PolicyVersions()
    with pytest.raises(ProposalRefused) as refused:
        resolve(body(**fields), versions.book, versions.records, TODAY, "policy.chen")
    assert str(refused.value).startswith(f"{field}: ")
    assert words in str(refused.value)


def test_a_date_another_live_version_takes_effect_on_is_refused_with_why() -> None:
    versions = PolicyVersions()
    first = resolve(body(), versions.book, versions.records, TODAY, "policy.chen")
    versions.fold(
        new_event(first, household_id=None, producer="policy", occurred_at=datetime.now(UTC))
    )

    with pytest.raises(ProposalRefused) as refused:
        resolve(
            body(policy_version="2026-07b"), versions.book, versions.records, TODAY, "policy.liu"
        )

    assert "effective_from: version 2026-07 (proposed) already takes effect" in str(refused.value)
    assert "ambiguous" in str(refused.value)


@pytest.mark.parametrize(
    ("region", "location", "words"),
    [
        ({"dibao_standard": "0"}, "dibao_standard", "greater than 0"),
        ({"dibao_standard": "-5"}, "dibao_standard", "greater than 0"),
        ({"prior_year_disposable_income": "0"}, "prior_year_disposable_income", "greater than 0"),
        ({"medical_warning_amount": "0"}, "medical_warning_amount", "greater than 0"),
        ({"marginal_multiplier": "0.99"}, "marginal_multiplier", "greater than or equal to 1"),
        ({"dibao_standard": 1400.5}, "dibao_standard", "as strings"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "unknown time zone"),
    ],
)
def test_figures_that_cannot_be_are_refused_by_the_body(
    region: dict[str, Any], location: str, words: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        body(regions=[{"region_code": "330100", **region}])
    (problem,) = refused.value.errors()
    assert problem["loc"] == ("regions", 0, location)
    assert words in problem["msg"]


def test_amounts_may_be_strings_or_whole_numbers() -> None:
    parsed = body(regions=[{"region_code": "330100", "dibao_standard": 1400}])
    assert parsed.regions[0].dibao_standard == Decimal(1400)
    assert body(regions=[{"region_code": "330100", "dibao_standard": "1400.50"}]).regions[
        0
    ].dibao_standard == Decimal("1400.50")
