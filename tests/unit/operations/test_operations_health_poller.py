"""Polling /healthz: reports kept per service, silent services shown, rates between polls."""

from __future__ import annotations

import httpx

from services.operations.health_poller import HealthPoller
from services.operations.overview import service_view


def report(consumed: int, produced: int, state: str = "running") -> dict[str, object]:
    return {
        "service": "referral",
        "status": "ok",
        "processors": [
            {
                "name": "referral",
                "state": state,
                "lag": 3,
                "lag_by_partition": {"assist.chain/0": 3},
                "consumed": consumed,
                "produced": produced,
                "restarts": 0,
                "last_progress_at": 95.0,
                "last_error": None,
            }
        ],
    }


async def test_rates_come_from_two_polls_and_silence_is_reported() -> None:
    answers = [report(10, 4), report(30, 14), report(5, 1)]
    now = [100.0]

    def reply(request: httpx.Request) -> httpx.Response:
        if request.url.host == "down.invalid":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json=answers.pop(0))

    client = httpx.AsyncClient(transport=httpx.MockTransport(reply))
    poller = HealthPoller(
        {"referral": "http://ok.invalid/", "feedback": "http://down.invalid"},
        client,
        clock=lambda: now[0],
    )
    await poller.poll_once()
    referral, feedback = poller.snapshot()
    assert referral.ready and referral.rates == {}
    assert not feedback.ready and feedback.error and "ConnectError" in feedback.error

    now[0] = 110.0
    await poller.poll_once()
    rate = poller.services["referral"].rates["referral"]
    assert (rate.consumed_per_second, rate.produced_per_second) == (2.0, 1.0)

    view = service_view(poller.services["referral"], now=100.0)
    assert [
        (p.name, p.lag, p.lag_by_partition, p.consumed_per_second) for p in view.processors
    ] == [("referral", 3, {"assist.chain/0": 3}, 2.0)]
    assert view.processors[0].seconds_since_progress == 5.0
    silent = service_view(poller.services["feedback"], now=110.0)
    assert [(p.state, p.ready) for p in silent.processors] == [("no answer", False)]

    now[0] = 120.0  # the service restarted: counters went down, so no rate this time
    await poller.poll_once()
    assert poller.services["referral"].rates == {}
    await client.aclose()


async def test_an_unready_service_keeps_its_report_and_a_bad_body_is_named() -> None:
    bodies = iter(
        [
            httpx.Response(503, json=report(1, 1, state="stalled")),
            httpx.Response(200, text="<html>not json</html>"),
        ]
    )
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: next(bodies)))
    poller = HealthPoller({"referral": "http://ok.invalid"}, client)
    await poller.poll_once()
    health = poller.services["referral"]
    assert health.http_status == 503 and not health.ready
    assert service_view(health, 100.0).processors[0].state == "stalled"
    await poller.poll_once()
    assert health.report is None and health.error is not None
    await client.aclose()


async def test_the_rate_is_taken_over_about_one_refresh_not_one_poll() -> None:
    now = [0.0]
    consumed = iter([0, 0, 0, 0, 0, 0, 0, 0, 50, 50, 50])  # a burst between t=7 and t=8

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=report(next(consumed), 0))

    client = httpx.AsyncClient(transport=httpx.MockTransport(reply))
    poller = HealthPoller(
        {"referral": "http://ok.invalid"}, client, clock=lambda: now[0], rate_window_seconds=4.0
    )
    seen = []
    for second in range(11):
        now[0] = float(second)
        await poller.poll_once()
        rate = poller.services["referral"].rates.get("referral")
        seen.append(rate.consumed_per_second if rate else None)
    await client.aclose()
    assert seen[0] is None and seen[7] == 0.0
    assert seen[8] == 50 / 4 and seen[10] == 50 / 4  # spread over the window, not one poll
