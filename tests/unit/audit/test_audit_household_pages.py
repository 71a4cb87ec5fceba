"""The auditor's household pages through the audit app (in-memory parts): who may open them,
what they show (timeline, verification, state as of a date, happiness list), the refusals as
pages, and the read recorded as the API records it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from support.factories import application_event
from unit.audit.audit_app_double import (
    TOKENS,
    AuditDouble,
    Element,
    audit_double,
    page,
    rows,
    text_of,
    written,
)
from unit.audit.audit_histories import R_ALLOWANCE, answered, classified, history, issued

from events.audit import AccessKind
from events.canonical import canonical_json
from events.envelope import Envelope
from events.referral import Delivered
from events.types import Department, Outcome, Program
from services.audit.access import token_fingerprint
from services.runtime.openapi import document_answers

HH = "HH-PAGE"
ALLOWANCE = (Program.MINIMUM_LIVING_ALLOWANCE, Department.CIVIL_AFFAIRS)
MINUTES_A_DAY = 24 * 60


def over_forty_days(household_id: str = HH) -> list[Envelope]:
    """Applied, classified and referred on 2026-11-01 (Shanghai); the allowance delivered on
    2026-12-11, forty days later."""
    return [
        application_event(household_id, 1, occurred_at=datetime(2026, 11, 1, 9, tzinfo=UTC)),
        classified(household_id, 1),
        issued(household_id, R_ALLOWANCE, *ALLOWANCE, 2),
        answered(
            household_id,
            R_ALLOWANCE,
            *ALLOWANCE,
            Outcome.DELIVERED,
            40 * MINUTES_A_DAY,
            delivered=Delivered(cash_amount=Decimal("1240.00"), service="monthly allowance"),
            answered_by="li.na",
        ),
    ]


def opened(double: AuditDouble, path: str, role: str = "auditor") -> tuple[int, Element]:
    reply = double.client(role).get(path)
    assert reply.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in reply.headers["content-security-policy"]
    return reply.status_code, page(reply.text)


def test_the_timeline_shows_every_event_in_chain_order_with_its_anchor_and_links() -> None:
    events = history(HH)
    double = audit_double({HH: written(events)})
    status, shown = opened(double, f"/households/{HH}")
    assert status == 200
    entries = rows(shown, "tr.event", "id", "data-sequence", "data-event-type")
    assert [e["data-sequence"] for e in entries] == [str(n) for n in range(1, 10)]
    assert [e["id"] for e in entries] == [f"e-{e.event_id}" for e in events]
    assert entries[5]["data-event-type"] == "ReferralOutcomeReported"
    delivery = shown.find(f"#e-{events[5].event_id}")
    assert "civil_affairs" in text_of(delivery) and "cash 1240.00" in text_of(delivery)
    # Its referral is linked, and every link on the page lands on an entry of the page.
    cause = delivery.find("li.cause").find("a")
    assert cause["href"] == f"#e-{events[2].event_id}"
    anchors = {e.attributes.get("id") for e in shown.walk()}
    targets = [a["href"][1:] for a in shown.find_all("a") if a["href"].startswith("#")]
    assert targets and all(t in anchors for t in targets)
    assert "main" in targets  # the skip link of the shared chrome


def test_verification_is_valid_and_says_it_is_the_servers_own_check() -> None:
    double = audit_double({HH: written(history(HH))})
    _, shown = opened(double, f"/households/{HH}")
    verification = shown.find("#verification")
    assert verification["data-valid"] == "true"
    said = text_of(verification)
    assert "every record is included in it" in said
    assert str(double.tree_head.tree_head_id if double.tree_head else "?") in said
    assert "server" in said and f"assist verify {HH} --checkpoint" in said


def test_a_tampered_record_makes_the_page_say_not_valid_and_where() -> None:
    records = written(history(HH))
    document = json.loads(records[4][0])
    document["payload"]["outcome"] = "DELIVERED"  # changed after it was written, hash kept
    records[4] = (canonical_json(document), records[4][1])
    double = audit_double({HH: records})
    _, shown = opened(double, f"/households/{HH}")
    verification = shown.find("#verification")
    assert verification["data-valid"] == "false"
    assert verification["data-first-bad-sequence"] == "5"
    assert "broken at sequence" in text_of(verification)
    assert "first bad link" in text_of(shown.find_all("tr.event")[4])


def test_records_newer_than_the_tree_head_are_said_to_be_not_yet_covered() -> None:
    records = written(history(HH))
    double = audit_double({HH: records[:7]})
    double.append(HH, records[7:])
    _, shown = opened(double, f"/households/{HH}")
    verification = shown.find("#verification")
    assert verification["data-valid"] == "true"
    assert "2 record(s) not yet covered by a signed tree head" in text_of(verification)
    assert "7 record(s) proven in it" in text_of(verification)


def test_the_state_follows_the_as_of_date() -> None:
    double = audit_double({HH: written(over_forty_days())})
    _, now = opened(double, f"/households/{HH}")
    assert now.find("#state")["data-tier"] == "DIBAO"
    assert rows(now, "tr.delivered", "data-referral-id") == [{"data-referral-id": R_ALLOWANCE}]
    assert rows(now, "tr.referral", "data-status") == [{"data-status": "delivered"}]

    _, before = opened(double, f"/households/{HH}?as_of=2026-12-10")
    state = before.find("#state")
    assert state["data-as-of"] == "2026-12-10T23:59:59.999999+08:00"
    assert state["data-tier"] == "DIBAO" and "DIBAO" in text_of(state.find("#tier"))
    assert before.find_all("tr.delivered") == []
    assert "nothing delivered by then" in text_of(before.find("#happiness"))
    assert rows(before, "tr.referral", "data-status") == [{"data-status": "open"}]
    assert before.find("#as_of")["value"] == "2026-12-10"
    assert [r["data-in-state"] for r in rows(before, "tr.event", "data-in-state")] == [
        "true",
        "true",
        "true",
        "false",
    ]

    _, after = opened(double, f"/households/{HH}?as_of=2026-12-11")
    assert len(after.find_all("tr.delivered")) == 1


def test_an_instant_is_taken_as_the_api_takes_it() -> None:
    double = audit_double({HH: written(history(HH))})
    _, shown = opened(double, f"/households/{HH}?as_of=2026-11-01T09:15:00%2B00:00")
    state = shown.find("#state")
    assert state["data-as-of"] == "2026-11-01T09:15:00+00:00" and state["data-tier"] == "DIBAO"
    assert rows(shown, "tr.referral", "data-referral-id", "data-status")[0] == {
        "data-referral-id": R_ALLOWANCE,
        "data-status": "accepted",
    }
    api = double.client("auditor").get(
        f"/v1/households/{HH}/state", params={"as_of": "2026-11-01T09:15:00+00:00"}
    )
    assert api.json()["tier"] == "DIBAO" and api.json()["delivered"] == []
    _, whole = opened(double, f"/households/{HH}")
    assert whole.find("#state")["data-tier"] == "MARGINAL"


def test_a_date_before_the_first_event_says_there_is_no_state_yet() -> None:
    double = audit_double({HH: written(over_forty_days())})
    status, shown = opened(double, f"/households/{HH}?as_of=2026-10-31")
    assert status == 200
    state = shown.find("#state")
    assert state["data-tier"] == "" and state["data-sequence"] == "0"
    assert "No state yet on that date" in text_of(shown.find("#no-state"))


def test_without_a_session_the_log_in_form_comes_back_to_the_page_asked() -> None:
    double = audit_double({HH: written(history(HH))})
    browser = double.client()
    reply = browser.get(f"/households/{HH}")
    assert reply.status_code == 401
    form = page(reply.text)
    assert form.find("#token")["type"] == "password"
    next_field = [e for e in form.find_all("input") if e.attributes.get("name") == "next"]
    assert next_field[0]["value"] == f"/households/{HH}"
    assert double.access.records == []  # nothing read, nothing recorded

    login = browser.post("/login", data={"token": TOKENS["auditor"], "next": f"/households/{HH}"})
    assert login.status_code == 303 and login.headers["location"] == f"/households/{HH}"
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert TOKENS["auditor"] not in login.headers["set-cookie"]
    assert browser.get(f"/households/{HH}").status_code == 200


def test_a_page_read_is_recorded_with_the_auditors_name_and_token_fingerprint() -> None:
    double = audit_double({HH: written(history(HH))})
    browser = double.client()
    browser.post("/login", data={"token": TOKENS["auditor"]})
    assert browser.get(f"/households/{HH}?as_of=2026-11-01").status_code == 200
    [access] = double.access.records
    assert access.household_id == HH and access.found
    assert access.resource is AccessKind.CHAIN
    assert (access.role, access.user) == ("auditor", "auditor.zhang")
    assert access.token_fingerprint == token_fingerprint(TOKENS["auditor"])
    assert access.as_of is not None
    assert access.as_of.isoformat() == "2026-11-01T23:59:59.999999+08:00"
    # The API's reads go the same way.
    double.client("auditor").get(f"/v1/households/{HH}/state")
    assert [a.resource for a in double.access.records] == [AccessKind.CHAIN, AccessKind.STATE]
    assert double.access.records[1].user == "auditor.zhang"


def test_a_read_that_cannot_be_recorded_is_not_shown() -> None:
    double = audit_double({HH: written(history(HH))})
    double.access.failing = True
    status, shown = opened(double, f"/households/{HH}")
    assert status == 503
    assert "could not be recorded" in text_of(shown.find("#reason"))
    assert shown.find_all("tr.event") == []


def test_other_roles_get_a_page_that_says_auditors_only() -> None:
    double = audit_double({HH: written(history(HH))})
    for role in ("operator", "department:education", "policy"):
        status, shown = opened(double, f"/households/{HH}", role)
        assert status == 403, role
        assert "auditors only" in text_of(shown.find("#reason"))
        assert shown.find_all("tr.event") == []
    browser = double.client()
    refused = browser.post("/login", data={"token": TOKENS["operator"]})
    assert refused.status_code == 403 and "set-cookie" not in refused.headers
    assert double.access.records == []


def test_an_unknown_household_is_a_404_page_and_its_read_is_recorded() -> None:
    double = audit_double({HH: written(history(HH))})
    status, shown = opened(double, "/households/HH-NOBODY")
    assert status == 404
    assert "HH-NOBODY" in text_of(shown.find("#reason"))
    assert [(a.household_id, a.found) for a in double.access.records] == [("HH-NOBODY", False)]


def test_a_malformed_as_of_or_household_id_is_a_422_page_naming_the_field() -> None:
    double = audit_double({HH: written(history(HH))})
    for asked in ("yesterday", "2026-13-01", "2026-12-01T10:00:00"):
        status, shown = opened(double, f"/households/{HH}?as_of={asked}")
        assert status == 422, asked
        assert shown.find("#reason")["data-field"] == "as_of"
        assert "as_of" in text_of(shown.find("main"))
    status, shown = opened(double, "/households/-bad%20id")
    assert status == 422 and shown.find("#reason")["data-field"] == "household_id"
    assert double.access.records == []  # refused before anything was read


def test_the_open_form_redirects_to_the_household_page() -> None:
    double = audit_double({HH: written(history(HH))})
    client = double.client("auditor")
    status, form = opened(double, "/households")
    assert status == 200 and form.find("#household_id")["name"] == "household_id"
    reply = client.get("/households", params={"household_id": HH, "as_of": "2026-11-01"})
    assert reply.status_code == 303
    assert reply.headers["location"] == f"/households/{HH}?as_of=2026-11-01"
    bad = client.get("/households", params={"household_id": "no such/id"})
    assert bad.status_code == 422
    assert page(bad.text).find("#household_id")["aria-invalid"] == "true"


def test_resident_ids_never_leave_in_clear() -> None:
    events = history(HH)
    double = audit_double({HH: written(events)})
    reply = double.client("auditor").get(f"/households/{HH}")
    resident = events[0].payload.members[0].person_id  # type: ignore[attr-defined]
    assert resident not in reply.text
    assert resident[:6] in reply.text  # the payload is there, masked


def test_the_openapi_documents_the_pages_refusals_as_pages() -> None:
    double = audit_double({HH: written(history(HH))})
    app = double.client("auditor").app
    document_answers(app)  # type: ignore[arg-type]
    paths = app.openapi()["paths"]  # type: ignore[attr-defined]
    answers = paths["/households/{household_id}"]["get"]["responses"]
    for status in ("200", "401", "403", "404", "422", "503"):
        assert "text/html" in answers[status]["content"], status
    assert (
        "application/json"
        in paths["/v1/households/{household_id}/state"]["get"]["responses"]["422"]["content"]
    )


def test_a_session_ends_when_it_expires() -> None:
    double = audit_double({HH: written(history(HH))})
    browser = double.client()
    browser.post("/login", data={"token": TOKENS["auditor"]})
    [cookie] = list(browser.cookies.jar)
    assert cookie.expires is not None
    expiry = datetime.fromtimestamp(cookie.expires, UTC)
    assert timedelta(minutes=55) < expiry - datetime.now(UTC) <= timedelta(hours=1)
