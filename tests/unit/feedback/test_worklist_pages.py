"""The department's worklist pages with a fake publisher: who sees what, and the answer form
sending exactly what the API sends."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.loop import TOPICS
from test_feedback_app import ISSUED, TOKENS, FakePublisher, referral

from events.identity import make_resident_id, mask_resident_id
from events.referral import ReferralIssued, ReferredMember
from events.types import Department, Program
from services.feedback.app import FeedbackDeps, create_app
from services.feedback.case_file import Disclosed, Step
from services.feedback.ledger import Ledger, Referral, Status
from services.feedback.worklist_pages import referral_page, time_left
from services.runtime.openapi import document_answers

NOW = ISSUED + timedelta(days=12)  # the system's clock: R-LATE (due on day 10) is overdue
RESIDENT = make_resident_id("330100", date(2016, 9, 1), 7)
EDU = Department.EDUCATION
FORM_DELIVERED = {
    "outcome": "DELIVERED",
    "delivered.cash_amount": "740",
    "delivered.service": "paid",
    "idempotency_key": "form-key-1",
}


def due_in(referral_id: str, days: int, department: Department = EDU) -> Referral:
    program = Program.EDUCATION_ASSISTANCE if department is EDU else Program.HOUSING_ASSISTANCE
    made = referral(referral_id, department, program)
    made.due_at = ISSUED + timedelta(days=days)
    return made


def with_facts(made: Referral) -> Referral:
    """As the feedback handler keeps it: what the department was sent, and its history."""
    issued = ReferralIssued(
        referral_id=made.referral_id,
        program=made.program,
        department=made.department,
        due_at=made.due_at,
        region_code="330100",
        tier="DIBAO",
        members=[ReferredMember(person_id=RESIDENT, name="Child <b>Li</b>", in_school=True)],
        grounds={"tier": "DIBAO", "education_expenses_12m": "3200"},
    )
    made.disclosed = Disclosed.of(issued)
    made.history.append(Step(ISSUED, "issued", "referral", (("due", "in ten days"),)))
    return made


def ledger() -> Ledger:
    book = Ledger()
    for made in (
        due_in("R-LATER", 30),
        with_facts(due_in("R-SOON", 13)),
        due_in("R-LATE", 10),
        due_in("R-HOU", 11, Department.HOUSING),
    ):
        book.issued(made)
    done = due_in("R-DONE", 5)
    done.status = Status.DELIVERED
    book.issued(done)
    return book


@dataclass
class Pages:
    client: TestClient
    publisher: FakePublisher
    ledger: Ledger

    def log_in(self, token: str = "t-edu", then: str = "") -> Any:
        form = {"token": token} | ({"next": then} if then else {})
        return self.client.post("/login", data=form, follow_redirects=False)

    def answer(self, referral_id: str, form: dict[str, str]) -> Any:
        return self.client.post(
            f"/worklist/referrals/{referral_id}/answer", data=form, follow_redirects=False
        )


def pages_of(book: Ledger, publisher: FakePublisher | None = None) -> Pages:
    publisher = publisher or FakePublisher()
    deps = FeedbackDeps(TOKENS, publisher, TOPICS, lambda: book, lambda: NOW)  # type: ignore[arg-type]
    return Pages(TestClient(create_app(deps)), publisher, book)


@pytest.fixture
def pages() -> Pages:
    return pages_of(ledger())


@pytest.fixture
def education(pages: Pages) -> Pages:
    assert pages.log_in().status_code == 303
    return pages


def rows(page: str) -> list[dict[str, str]]:
    found = re.findall(
        r'<tr class="referral" data-referral-id="([^"]+)" data-due="([^"]+)" '
        r'data-overdue="(true|false)"',
        page,
    )
    return [{"id": i, "due": d, "overdue": o} for i, d, o in found]


def test_the_worklist_shows_own_open_referrals_soonest_due_first(education: Pages) -> None:
    reply = education.client.get("/worklist")
    assert reply.status_code == 200
    listed = rows(reply.text)
    # Housing's referral and the delivered one are not on education's worklist.
    assert [r["id"] for r in listed] == ["R-LATE", "R-SOON", "R-LATER"]
    assert [r["due"] for r in listed] == sorted(r["due"] for r in listed)
    assert 'data-open="3" data-overdue="1"' in reply.text
    assert "default-src 'none'" in reply.headers["content-security-policy"]
    assert "<script" not in reply.text


def test_an_overdue_referral_is_marked_and_says_by_how_much(education: Pages) -> None:
    page = education.client.get("/worklist").text
    assert {r["id"]: r["overdue"] for r in rows(page)} == {
        "R-LATE": "true",
        "R-SOON": "false",
        "R-LATER": "false",
    }
    late_row = page[page.index('data-referral-id="R-LATE"') :].split("</tr>")[0]
    assert ">overdue</span>" in late_row and "2 days overdue" in late_row
    soon_row = page[page.index('data-referral-id="R-SOON"') :].split("</tr>")[0]
    assert "overdue" not in soon_row.replace('data-overdue="false"', "")
    assert "1 day left" in soon_row


def test_the_worklist_filters_by_status(education: Pages) -> None:
    education.ledger.set_status("R-SOON", Status.ACCEPTED)
    accepted = education.client.get("/worklist?status=accepted").text
    assert [r["id"] for r in rows(accepted)] == ["R-SOON"]
    delivered = education.client.get("/worklist?status=delivered").text
    assert [r["id"] for r in rows(delivered)] == ["R-DONE"]
    assert 'href="/worklist?status=accepted" aria-current="page"' in accepted
    unknown = education.client.get("/worklist?status=lost")
    assert unknown.status_code == 422 and "status: &#x27;lost&#x27; is not one of" in unknown.text


def test_the_referral_page_shows_what_was_sent_masked_and_escaped(education: Pages) -> None:
    reply = education.client.get("/worklist/referrals/R-SOON")
    assert reply.status_code == 200
    page = reply.text
    assert "education_assistance" in page and "HH-1" in page
    assert RESIDENT not in page and mask_resident_id(RESIDENT) in page
    assert "Child &lt;b&gt;Li&lt;/b&gt;" in page and "<b>Li" not in page
    assert 'data-ground="education_expenses_12m">3200<' in page
    assert '<tr class="step" data-what="issued">' in page
    assert 'name="idempotency_key" value="' in page
    # Fields the department was not sent are not shown, not even as empty columns.
    assert "monthly income" not in page and "birth date" not in page


def test_each_rendering_of_the_form_has_a_new_idempotency_key(education: Pages) -> None:
    keys = {
        re.findall(r'name="idempotency_key" value="([^"]+)"', education.client.get(p).text)[0]
        for p in ["/worklist/referrals/R-SOON"] * 2
    }
    assert len(keys) == 2


def test_another_departments_referral_page_is_a_403_page_without_its_data(
    education: Pages,
) -> None:
    reply = education.client.get("/worklist/referrals/R-HOU")
    assert reply.status_code == 403 and "text/html" in reply.headers["content-type"]
    assert "not your department" in reply.text and "housing_assistance" not in reply.text
    posted = education.answer("R-HOU", {"outcome": "ACCEPTED"})
    assert posted.status_code == 403 and education.publisher.count == 0


def test_an_unknown_referral_is_a_404_page(education: Pages) -> None:
    reply = education.client.get("/worklist/referrals/R-NOPE")
    assert reply.status_code == 404 and "unknown referral" in reply.text
    assert education.answer("R-NOPE", {"outcome": "ACCEPTED"}).status_code == 404


@pytest.mark.parametrize("token", ["t-auditor", "t-operator", "t-intake"])
def test_other_roles_get_a_403_page(pages: Pages, token: str) -> None:
    assert pages.log_in(token).status_code == 403
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("/worklist", "/worklist/referrals/R-SOON"):
        reply = pages.client.get(path, headers=headers)
        assert reply.status_code == 403 and "departments only" in reply.text
    assert (
        pages.client.post("/worklist/referrals/R-SOON/answer", headers=headers).status_code == 403
    )


def test_without_a_session_the_login_form_comes_back_to_the_page_asked_for(pages: Pages) -> None:
    asked = "/worklist/referrals/R-SOON"
    reply = pages.client.get(asked)
    assert reply.status_code == 401 and f'name="next" value="{asked}"' in reply.text
    # A form sent without a session: after logging in, the referral's page (not the POST).
    posted = pages.answer("R-SOON", FORM_DELIVERED)
    assert posted.status_code == 401 and f'name="next" value="{asked}"' in posted.text
    assert pages.publisher.count == 0
    logged_in = pages.log_in(then=asked)
    assert logged_in.status_code == 303 and logged_in.headers["location"] == asked
    assert "httponly" in logged_in.headers["set-cookie"].lower()
    assert pages.client.get(asked).status_code == 200


def test_home_leads_to_the_worklist(education: Pages) -> None:
    reply = education.client.get("/", follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"] == "/worklist"


def test_an_invalid_answer_is_422_naming_the_field_and_keeping_what_was_typed(
    education: Pages,
) -> None:
    typed = FORM_DELIVERED | {"delivered.cash_amount": "-5", "note": "kept <note>"}
    reply = education.answer("R-SOON", typed)
    assert reply.status_code == 422
    page = reply.text
    error = re.search(r'<span class="field-error"[^>]*data-field="([^"]+)">([^<]*)<', page)
    assert error is not None and error.group(1) == "delivered.cash_amount"
    assert error.group(2).startswith("amount: ")
    amount = re.search(r'<input id="answer-delivered-cash_amount"[^>]*>', page)
    assert amount is not None and 'aria-invalid="true"' in amount.group(0)
    assert 'value="-5"' in amount.group(0)
    assert 'value="DELIVERED" checked' in page and "kept &lt;note&gt;</textarea>" in page
    assert 'name="idempotency_key" value="form-key-1"' in page  # the same answer, retried
    assert education.publisher.count == 0


def test_an_answer_the_body_rules_refuse_names_its_field(education: Pages) -> None:
    reply = education.answer("R-SOON", {"outcome": "DECLINED", "idempotency_key": "k"})
    assert reply.status_code == 422
    assert 'data-field="reason">reason: required when outcome is DECLINED<' in reply.text
    own = education.answer(
        "R-SOON", {"outcome": "TRANSFERRED", "transfer_to": "education", "idempotency_key": "k"}
    )
    assert own.status_code == 422 and 'data-field="transfer_to">transfer to: referral' in own.text
    assert education.publisher.count == 0


def test_the_forms_answer_reaches_the_publisher_exactly_as_the_apis() -> None:
    by_form, by_api = pages_of(ledger()), pages_of(ledger())
    by_form.log_in()
    sent = by_form.answer("R-SOON", FORM_DELIVERED)
    assert sent.status_code == 303
    assert sent.headers["location"] == "/worklist/referrals/R-SOON?sent=DELIVERED"
    body = {"outcome": "DELIVERED", "delivered": {"cash_amount": "740", "service": "paid"}}
    reply = by_api.client.post(
        "/v1/referrals/R-SOON/feedback",
        json=body,
        headers={"Authorization": "Bearer t-edu", "Idempotency-Key": "form-key-1"},
    )
    assert reply.status_code == 202
    assert by_form.publisher.raw == by_api.publisher.raw  # topic, bytes, key and label
    notice = by_form.client.get(sent.headers["location"]).text
    assert "answer sent (DELIVERED); it shows here once the chain has it" in notice


def test_a_double_submission_is_one_answer(education: Pages) -> None:
    first = education.answer("R-SOON", FORM_DELIVERED)
    again = education.answer("R-SOON", FORM_DELIVERED)
    assert (first.status_code, again.status_code) == (303, 303)
    assert education.publisher.count == 1


def test_a_second_final_answer_is_409_on_the_referral_page(education: Pages) -> None:
    assert education.answer("R-SOON", FORM_DELIVERED).status_code == 303
    declined = {"outcome": "DECLINED", "reason": "duplicate", "idempotency_key": "form-key-2"}
    reply = education.answer("R-SOON", declined)
    assert reply.status_code == 409
    assert "R-SOON" in reply.text and "already has a final answer" in reply.text
    assert 'id="problem"' in reply.text and '<option value="duplicate" selected>' in reply.text
    # Once the chain has the first, the page says it is final and offers no form.
    education.ledger.set_status("R-SOON", Status.DELIVERED)
    again = education.answer("R-SOON", declined | {"idempotency_key": "form-key-3"})
    assert again.status_code == 409 and "(delivered)" in again.text
    assert 'id="final"' in again.text and 'action="/worklist' not in again.text
    assert education.publisher.count == 1


def test_pages_say_so_while_the_chain_is_still_being_read() -> None:
    deps = FeedbackDeps(TOKENS, FakePublisher(), TOPICS, lambda: None, lambda: NOW)  # type: ignore[arg-type]
    client = TestClient(create_app(deps))
    client.post("/login", data={"token": "t-edu"})
    assert client.get("/worklist").status_code == 503
    assert client.get("/worklist/referrals/R-SOON").status_code == 503


def test_history_is_shown_in_chain_order_with_who_answered(education: Pages) -> None:
    soon = education.ledger.referrals["R-SOON"]
    soon.history.append(Step(ISSUED + timedelta(days=1), "amended", "referral"))
    # Answered on the system's clock, which may be behind the referral service's: chain order.
    soon.history.append(Step(ISSUED - timedelta(seconds=5), "accepted", "teacher.sun"))
    page = education.client.get("/worklist/referrals/R-SOON").text
    steps = re.findall(r'<tr class="step" data-what="([^"]+)"', page)
    assert steps == ["issued", "amended", "accepted"]
    assert "teacher.sun" in page


def test_a_time_left_for_each_distance_to_the_due_date() -> None:
    made = due_in("R-X", 12)  # due exactly at NOW
    assert time_left(made, NOW) == "due within a day"
    assert time_left(made, NOW - timedelta(days=3, hours=1)) == "3 days left"
    assert time_left(made, NOW + timedelta(hours=2)) == "overdue by less than a day"
    assert time_left(made, NOW + timedelta(days=1, hours=2)) == "1 day overdue"
    made.status = Status.DECLINED
    assert time_left(made, NOW) == "answered (declined)"


def test_times_are_by_the_systems_clock(education: Pages) -> None:
    page = education.client.get("/worklist").text
    assert f'datetime="{NOW.isoformat()}"' in page


def test_the_page_itself_shows_a_member_by_name_and_masked_id_only() -> None:
    """Not relying on html()'s masking on the way out: the rendering never holds the id."""
    made = with_facts(due_in("R-SOON", 13))
    page = referral_page(made, NOW, "teacher.sun", answer_form="")
    assert RESIDENT not in page and mask_resident_id(RESIDENT) in page
    member = re.search(r'<tr class="member">(.*?)</tr>', page)
    assert member is not None
    assert re.findall(r"<td>(.*?)</td>", member.group(1)) == [
        "Child &lt;b&gt;Li&lt;/b&gt;",
        mask_resident_id(RESIDENT),
        "yes",  # in school: the one other fact the department was sent
    ]


def test_the_openapi_says_the_forms_refusals_are_pages_and_the_apis_json() -> None:
    app = create_app(FeedbackDeps(TOKENS, FakePublisher(), TOPICS, lambda: None))  # type: ignore[arg-type]
    document_answers(app)
    paths = app.openapi()["paths"]
    form = paths["/worklist/referrals/{referral_id}/answer"]["post"]["responses"]
    assert {code: list(form[code].get("content", {})) for code in ("403", "409", "422")} == {
        "403": ["text/html"],
        "409": ["text/html"],
        "422": ["text/html"],
    }
    api = paths["/v1/referrals/{referral_id}/feedback"]["post"]["responses"]
    assert list(api["422"]["content"]) == ["application/json"]
