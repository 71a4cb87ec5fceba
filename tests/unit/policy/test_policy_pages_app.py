"""The policy pages with the policy app's doubles and households made by the real loop: the
versions and their statuses, a version's impact as the API answers it (tables and charts, row by
row), its progress while the run is under way, and who is let in."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from support.loop import Loop
from unit.policy.page_reading import by_id, elements
from unit.policy.policy_support import PolicyState, Service, make_service, version_body
from unit.policy.test_policy_impact import households

from services.policy.impacts import ImpactJob, Progress
from services.policy.settings import PolicyPageSettings

FORM = {"content-type": "application/x-www-form-urlencoded"}
RAISED = version_body()  # Hangzhou's D 1240 -> 1400 from 2026-07-01
LOWERED = version_body("2026-07-low", regions=[{"region_code": "330100", "dibao_standard": 1000}])
NAMES = {"330100": "Hangzhou (330100)", "500000": "Chongqing (500000)"}


def loop_state() -> PolicyState:
    loop = Loop()
    households(loop)
    assert loop.dead_letters == []
    state = PolicyState()
    state.chain_of(loop)
    return state


@pytest.fixture
def svc() -> Service:
    return make_service(loop_state())


def log_in(svc: Service, user: str, next_path: str = "") -> Any:
    form = f"token=t-{user}" + (f"&next={next_path}" if next_path else "")
    return svc.client.post("/login", content=form, headers=FORM, follow_redirects=False)


def page(svc: Service, path: str) -> Any:
    """A page as the browser asks for it: with the session cookie, no bearer header."""
    return svc.client.get(path, follow_redirects=False)


def test_the_versions_page_lists_every_version_and_its_status(svc: Service) -> None:
    assert svc.propose(RAISED).status_code == 201
    assert svc.approve("2026-07").status_code == 200
    assert svc.propose(version_body("2026-08", "2026-08-01")).status_code == 201
    assert svc.withdraw("2026-08", reason="budget").status_code == 200
    assert svc.propose(version_body("2026-09", "2026-09-01", note="<b>Q3</b>")).status_code == 201
    assert log_in(svc, "auditor.li").headers["location"] == "/versions"

    def shown() -> dict[str, str]:
        reply = page(svc, "/versions")
        assert reply.status_code == 200, reply.text
        rows = elements(reply.text, "tr", "version")
        links = {r.attrs["data-version"]: elements(reply.text, "a", "impact") for r in rows}
        for name, anchors in links.items():
            assert f"/versions/{name}/impact" in {a.attrs["href"] for a in anchors}
        return {r.attrs["data-version"]: r.attrs["data-status"] for r in rows}

    api = svc.call("GET", "/v1/policy/versions", "auditor.li").json()
    assert (
        shown()
        == {v["policy_version"]: v["status"] for v in api}
        == {
            "2026-01": "in_force",
            "2026-07": "approved",
            "2026-08": "withdrawn",
            "2026-09": "proposed",
        }
    )
    text = page(svc, "/versions").text
    (row,) = [r for r in elements(text, "tr", "version") if r.attrs["data-version"] == "2026-08"]
    assert "withdrawn by policy.chen: budget" in row.text and "policy.chen" in row.text
    assert "<b>Q3</b>" not in text and "&lt;b&gt;Q3&lt;/b&gt;" in text  # escaped
    svc.clock.advance(30)  # 2026-07-01: the raised standard takes effect
    assert shown()["2026-01"] == "superseded" and shown()["2026-07"] == "in_force"


def transitions_of(api: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [
        (r["region_code"], *t.split("->"), str(n))
        for r in api["regions"]
        for t, n in r["tiers"].items()
    ]


def programs_of(api: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    for r in api["regions"]:
        issued, withdrawn = r["referrals_issued"], r["referrals_withdrawn"]
        for program in sorted({*issued, *withdrawn}):
            rows.append(
                (
                    r["region_code"],
                    program,
                    str(issued.get(program, 0)),
                    str(withdrawn.get(program, 0)),
                )
            )
    return rows


@pytest.mark.parametrize("body", [RAISED, LOWERED], ids=["raised", "lowered"])
def test_the_impact_page_shows_what_the_api_answers_row_by_row(
    svc: Service, body: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = []
    run = ImpactJob.run
    monkeypatch.setattr(ImpactJob, "run", lambda job, p: runs.append(1) or run(job, p))
    name = body["policy_version"]
    assert svc.propose(body).status_code == 201
    log_in(svc, "policy.liu")

    reply = page(svc, f"/versions/{name}/impact")
    api = svc.impact(name, "auditor.li").json()

    assert reply.status_code == 200, reply.text
    assert len(runs) == 1  # the page and the API share one run: no second computation
    text = reply.text
    transitions = [
        tuple(r.attrs[a] for a in ("data-region", "data-from", "data-to", "data-count"))
        for r in elements(text, "tr", "transition", within="transitions")
    ]
    programs = [
        tuple(r.attrs[a] for a in ("data-region", "data-program", "data-issued", "data-withdrawn"))
        for r in elements(text, "tr", "program", within="programs")
    ]
    gaps = [
        tuple(r.attrs[a] for a in ("data-region", "data-before", "data-after"))
        for r in elements(text, "tr", "gap", within="gaps")
    ]
    assert transitions == transitions_of(api) and transitions
    assert programs == programs_of(api) and programs
    assert gaps == [
        (r["region_code"], r["minimum_living_gap_before"], r["minimum_living_gap_after"])
        for r in api["regions"]
    ]
    # The figures checked by hand in test_policy_impact.py, as the page shows them.
    if name == "2026-07":
        assert ("330100", "MARGINAL", "DIBAO", "2") in transitions
        assert ("330100", "minimum_living_allowance", "2", "0") in programs
        assert ("330100", "480.00", "1000.00") in gaps
    else:
        assert transitions == [("330100", "DIBAO", "MARGINAL", "1")]
        assert ("330100", "minimum_living_allowance", "0", "1") in programs
    assert f"{api['households']} open households" in text
    assert (
        "<script" not in text and "default-src 'none'" in reply.headers["content-security-policy"]
    )


def bars(text: str, figure: str) -> set[tuple[str, str, float]]:
    return {
        (r.attrs["data-group"], r.attrs["data-series"], float(r.attrs["data-y"]))
        for r in elements(text, "rect", "point", within=figure)
    }


@pytest.mark.parametrize("body", [RAISED, LOWERED], ids=["raised", "lowered"])
def test_the_charts_have_one_bar_per_program_and_series_with_the_table_values(
    svc: Service, body: dict[str, Any]
) -> None:
    name = body["policy_version"]
    assert svc.propose(body).status_code == 201
    log_in(svc, "auditor.li")
    text = page(svc, f"/versions/{name}/impact").text
    api = svc.impact(name).json()

    programs = programs_of(api)
    assert bars(text, "programs-chart-330100") == {
        (program, series, float(count))
        for region, program, issued, withdrawn in programs
        for series, count in (("issued", issued), ("withdrawn", withdrawn))
        if region == "330100"
    }
    assert by_id(text, "programs-chart-500000") is None  # nothing changes in Chongqing
    assert bars(text, "transitions-chart") == {
        (f"{old}→{new}", NAMES[region], float(count))
        for region, old, new, count in transitions_of(api)
    }
    gap, short = bars(text, "gap-chart"), {"330100": "Hangzhou", "500000": "Chongqing"}
    assert {(group, series) for group, series, _ in gap} == {
        (short[r["region_code"]], s) for r in api["regions"] for s in ("before", "after")
    }
    for r in api["regions"]:
        for series in ("before", "after"):
            (shown,) = [y for g, s, y in gap if (g, s) == (short[r["region_code"]], series)]
            assert shown == pytest.approx(float(r[f"minimum_living_gap_{series}"]), rel=1e-5)


@pytest.fixture
def stalled(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Runs that judge 3 households, then wait until the test lets them finish."""
    release, run = threading.Event(), ImpactJob.run

    def slow(job: ImpactJob, progress: Progress) -> dict[str, Any]:
        progress.advance(3)
        release.wait(30)
        return run(job, progress)

    monkeypatch.setattr(ImpactJob, "run", slow)
    yield release
    release.set()


def test_while_the_run_is_under_way_the_page_shows_its_progress_and_reloads(
    stalled: threading.Event,
) -> None:
    pages = PolicyPageSettings(wait_seconds=0.2, refresh_seconds=3)
    svc = make_service(loop_state(), pages=pages)
    assert svc.propose(RAISED).status_code == 201
    with svc.client:  # one event loop for every request: the run outlives the first
        log_in(svc, "policy.chen")
        first = page(svc, "/versions/2026-07/impact")

        assert first.status_code == 202, first.text
        progress = by_id(first.text, "progress")
        assert progress is not None
        assert (progress.attrs["data-done"], progress.attrs["data-total"]) == ("3", "5")
        assert '<meta http-equiv="refresh" content="3">' in first.text
        assert by_id(first.text, "transitions") is None
        api = svc.call("GET", "/v1/policy/versions/2026-07/impact/progress").json()
        assert api == {"done": 3, "total": 5, "running": True}
        assert page(svc, "/versions/2026-07/impact").status_code == 202  # still under way

        stalled.set()
        deadline, reply = time.monotonic() + 30, first
        while reply.status_code == 202 and time.monotonic() < deadline:
            time.sleep(0.1)
            reply = page(svc, "/versions/2026-07/impact")
    assert reply.status_code == 200, reply.text
    assert len(elements(reply.text, "tr", "transition")) == 2
    assert 'http-equiv="refresh"' not in reply.text


def test_without_a_session_the_log_in_form_which_returns_to_the_page(svc: Service) -> None:
    svc.propose(RAISED)
    for path in ("/versions", "/versions/2026-07/impact"):
        reply = page(svc, path)
        assert reply.status_code == 401
        (hidden,) = [i for i in elements(reply.text, "input") if i.attrs.get("name") == "next"]
        assert hidden.attrs["value"] == path
        assert by_id(reply.text, "token") is not None

    logged = log_in(svc, "policy.chen", "/versions/2026-07/impact")

    assert logged.status_code == 303
    assert logged.headers["location"] == "/versions/2026-07/impact"
    cookie = logged.headers["set-cookie"].lower()
    assert cookie.startswith("assist_policy=") and "httponly" in cookie
    assert "t-policy.chen" not in cookie
    assert page(svc, "/versions/2026-07/impact").status_code == 200
    svc.client.post("/logout")
    assert page(svc, "/versions").status_code == 401


@pytest.mark.parametrize("user", ["clerk.wang", "education.desk", "operator.zhao"])
def test_other_roles_get_the_403_page(svc: Service, user: str) -> None:
    svc.propose(RAISED)
    refused = log_in(svc, user)
    assert refused.status_code == 403 and "set-cookie" not in refused.headers
    for path in ("/versions", "/versions/2026-07/impact"):
        reply = svc.call("GET", path, user)
        assert reply.status_code == 403
        reason = by_id(reply.text, "reason")
        assert reason is not None and "policy makers and auditors only" in reason.text
        assert by_id(reply.text, "transitions") is None


def test_an_unknown_version_is_the_404_page(svc: Service) -> None:
    log_in(svc, "auditor.li")
    reply = page(svc, "/versions/2099-01/impact")
    assert reply.status_code == 404
    assert reply.headers["content-type"].startswith("text/html")
    reason = by_id(reply.text, "reason")
    assert reason is not None and reason.text == "no policy version '2099-01'"


def test_the_shipped_version_has_nothing_to_compare_with(svc: Service) -> None:
    log_in(svc, "auditor.li")
    reply = page(svc, "/versions/2026-01/impact")
    assert reply.status_code == 200
    assert elements(reply.text, "tr", "transition") == []
    assert "No household changes tier." in reply.text


def test_before_the_state_is_read_the_pages_wait_and_reload() -> None:
    svc = make_service(ready=False)
    reply = svc.call("GET", "/versions", "policy.chen")
    assert reply.status_code == 503 and reply.headers["retry-after"] == "1"
    assert 'http-equiv="refresh"' in reply.text and "still reading its topics" in reply.text
