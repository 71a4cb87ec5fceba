"""The policy phases' pure parts: the version proposed, counting the re-screening on the chain,
and comparing the impact report with what the loop did."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import httpx
from rich.console import Console

from bench.policy_client import proposal_body, retry_after, version_name
from bench.policy_phases import _relative
from bench.report import table
from bench.rescreening import (
    Reclassified,
    classified_fields,
    differences,
    referral_changes,
    totals,
)
from bench.run import _loop_throughput
from bench.verdict import Delivery
from bench.workload import Workload
from events.chain import linked_bytes
from events.envelope import new_event
from events.household import HouseholdClassified
from events.schedule import RescreeningDue
from events.types import RescreeningReason
from services.policy.domain.proposal import VersionBody

AT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def chained(payload: HouseholdClassified | RescreeningDue, household: str = "HH-1") -> bytes:
    event = new_event(payload, household_id=household, producer="test", occurred_at=AT)
    return linked_bytes(event, 4, "0" * 64)[0]


def classified(tier: str, version: str) -> HouseholdClassified:
    return HouseholdClassified(
        region_code="330100",
        effective_date=date(2026, 6, 2),
        tier=tier,
        policy_version=version,
        rule_trace={"policy_version": "not this one"},
    )


def test_the_proposal_takes_effect_the_day_after_today_and_is_a_valid_body() -> None:
    body = proposal_body(date(2026, 12, 31))
    assert body["effective_from"] == "2027-01-01"
    assert body["policy_version"] == version_name(date(2027, 1, 1)) == "bench-2027-01-01"
    assert body["regions"] == [{"region_code": "330100", "dibao_standard": "1390"}]
    VersionBody.model_validate(body)  # what the policy service accepts


def test_retry_after_is_read_and_bounded() -> None:
    def reply(value: str | None) -> httpx.Response:
        headers = {"Retry-After": value} if value is not None else {}
        return httpx.Response(503, headers=headers)

    assert retry_after(reply("2")) == 2.0
    assert retry_after(reply(None)) == 1.0
    assert retry_after(reply("soon")) == 1.0
    assert retry_after(reply("3600")) == 10.0


def test_classified_fields_of_a_chained_classification_only() -> None:
    assert classified_fields(chained(classified("DIBAO", "bench-2026-06-03"))) == (
        "HH-1",
        "bench-2026-06-03",
        "DIBAO",
    )
    due = RescreeningDue(reason=RescreeningReason.POLICY_VERSION, on=date(2026, 6, 3))
    assert classified_fields(chained(due)) is None
    assert classified_fields(b"not json") is None
    assert classified_fields(None) is None


def test_each_expected_household_counts_once_under_the_version_only() -> None:
    tally = Reclassified("v2", {"HH-1": ("330100", "MARGINAL"), "HH-2": ("500000", "DIBAO")})
    tally.see("HH-1", "v1", "MARGINAL", 1.0)  # the version before: not counted
    tally.see("HH-1", "v2", "DIBAO", 2.0)
    tally.see("HH-1", "v2", "DIBAO", 3.0)  # again
    tally.see("HH-9", "v2", "NONE", 3.0)  # a household the benchmark did not enter
    assert (tally.done, tally.complete, tally.missing()) == (1, False, ["HH-2"])
    assert (tally.repeats, tally.strangers) == (1, {"HH-9"})
    tally.see("HH-2", "v2", "DIBAO", 4.0)
    assert tally.complete
    assert tally.at == {"HH-1": 2.0, "HH-2": 4.0}
    assert tally.tier_changes() == {"330100": Counter({"MARGINAL->DIBAO": 1})}


def delivery(household: str, event_type: str, program: str) -> Delivery:
    return Delivery(household, event_type, program, "civil_affairs", 1.0)


def test_referral_changes_by_region_leave_amendments_out() -> None:
    changes = referral_changes(
        [
            delivery("HH-1", "ReferralIssued", "minimum_living_allowance"),
            delivery("HH-1", "ReferralWithdrawn", "employment_assistance"),
            delivery("HH-2", "ReferralIssued", "minimum_living_allowance"),
            delivery("HH-2", "ReferralAmended", "minimum_living_allowance"),
        ],
        {"HH-1": "330100", "HH-2": "330100"},
    )
    assert changes == {
        "330100": {
            "referrals_issued": Counter({"minimum_living_allowance": 2}),
            "referrals_withdrawn": Counter({"employment_assistance": 1}),
        }
    }


REPORT = {
    "households": 3,
    "regions": [
        {
            "region_code": "330100",
            "tiers": {"MARGINAL->DIBAO": 2},
            "referrals_issued": {"minimum_living_allowance": 2},
            "referrals_withdrawn": {},
        },
        {"region_code": "500000", "tiers": {}, "referrals_issued": {}, "referrals_withdrawn": {}},
    ],
}


def test_a_report_that_matches_the_loop_has_no_differences() -> None:
    tiers = {"330100": Counter({"MARGINAL->DIBAO": 2})}
    referrals = {"330100": {"referrals_issued": Counter({"minimum_living_allowance": 2})}}
    assert differences(REPORT, tiers, referrals) == []
    assert totals(REPORT["regions"]) == {
        "tier_changes": 2,
        "referrals_issued": 2,
        "referrals_withdrawn": 0,
    }


def test_every_figure_that_differs_is_named() -> None:
    tiers = {"330100": Counter({"MARGINAL->DIBAO": 1}), "370100": Counter({"NONE->MARGINAL": 1})}
    referrals = {"330100": {"referrals_issued": Counter({"minimum_living_allowance": 2})}}
    assert differences(REPORT, tiers, referrals) == [
        "330100 tiers MARGINAL->DIBAO: report 2, loop 1",
        "370100 tiers NONE->MARGINAL: report 0, loop 1",
    ]


def test_figures_are_compared_with_the_loop_when_there_is_one() -> None:
    assert _relative(500.0, ("loop_kafka", 50.0)) == {
        "relative_to": "loop_kafka",
        "ratio_to_loop": 10.0,
    }
    assert _relative(500.0, None) == {"relative_to": None, "ratio_to_loop": None}


def test_a_batch_taken_in_parts_has_the_ids_of_one_batch() -> None:
    workload = Workload(4, AT)
    parts = workload.take(3, "i") + workload.take(2, "i", start=3)
    assert [h.household_id for h in parts] == [f"BH-i-{n:07d}" for n in range(5)]


def test_households_are_judged_on_their_date_in_the_region_not_the_utc_date() -> None:
    late = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)  # already 1 July in Beijing
    assert Workload(2, late).effective_date("330100") == date(2026, 7, 1)
    assert Workload(2, AT).effective_date("330100") == date(2026, 6, 1)


def test_the_loop_compared_with_is_the_topic_phase_else_the_top_up_else_http() -> None:
    kafka, top_up, http = ({"households_per_second": v} for v in (50.0, 60.0, 20.0))
    everything = {"loop_kafka": kafka, "impact_top_up": top_up, "loop_http": http}
    assert _loop_throughput(everything) == ("loop_kafka", 50.0)
    assert _loop_throughput({"impact_top_up": top_up, "loop_http": http}) == (
        "impact_top_up",
        60.0,
    )
    assert _loop_throughput({"impact_top_up": None, "loop_http": http}) == ("loop_http", 20.0)
    assert _loop_throughput({}) is None


def test_the_table_shows_both_policy_figures_and_a_disagreement() -> None:
    changes = {"tier_changes": 2, "referrals_issued": 2, "referrals_withdrawn": 0}
    results = {
        "impact": {
            "households": 3000,
            "seconds": 0.6,
            "households_per_second": 5000.0,
            "policy_cpu_seconds": 0.4,
            "changes": changes,
            "relative_to": "loop_kafka",
            "ratio_to_loop": 100.0,
            "problem": "judged 2,999 households, 3,000 are open",
        },
        "rescreening": {
            "policy_version": "bench-2026-12-03",
            "households": 3000,
            "seconds": 17.4,
            "households_per_second": 172.5,
            "referral_changes_delivered_seconds": 17.9,
            "relative_to": "loop_kafka",
            "ratio_to_loop": 3.3,
            "cpu_ms_per_household": {"classification": 1.5, "total": 10.2},
            "changes": {**changes, "tier_changes": 1},
            "agrees_with_impact": False,
            "differences": ["330100 tiers MARGINAL->DIBAO: report 2, loop 1"],
            "classified_again": 0,
            "dead_letters": [],
        },
    }
    console = Console(width=200, record=True)
    console.print(table(results))
    text = console.export_text()
    assert "5,000 hh/s" in text and "100.00 x the loop's hh/s (loop_kafka)" in text
    assert "judged 2,999 households, 3,000 are open" in text
    assert "172.5 hh/s" in text and "3.30 x the loop's hh/s" in text
    assert "NO" in text and "1 figure(s) differ" in text
