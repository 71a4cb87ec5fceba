"""Every service's OpenAPI against the service itself, on the running system (real broker):
schemathesis generates requests from each route's documented schema, valid ones and invalid
ones, sends them with the token of a role allowed to call the route, and checks every answer:

* no server error (no 5xx other than the 503 a route documents);
* the status code, the content type, the headers and the body are those the OpenAPI documents;
* a request the schema says is invalid is refused (4xx), never taken.

Bounded: a fixed number of examples per route and generation mode, derandomized so that a run
is the same run everywhere; a failure names the route and a curl command that reproduces it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks
from support.processes import ServiceProcess
from support.system import System

from deploy.local.stack import SERVICES

EXAMPLES = 25  # per route and generation mode
CHECKS = [
    not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]
# The role that may call a route, by the route's path; /healthz and /metrics are operators'.
ROUTE_ROLES: tuple[tuple[str, str], ...] = (
    ("/v1/applications", "intake"),
    ("/v1/visits", "intake"),
    ("/v1/signals", "department:human_resources"),
    ("/v1/records", "department:human_resources"),
    ("/v1/referrals", "department:education"),
    ("/worklist", "department:education"),  # a department's worklist pages
    ("/v1/households", "auditor"),
    ("/households", "auditor"),  # the auditor's household pages
    ("/v1/checkpoints", "auditor"),
    ("/v1/tree-heads", "auditor"),
    ("/v1/log", "auditor"),
    ("/v1/index", "operator"),
    ("/v1/policy", "policy"),
    ("/versions", "policy"),  # the policy pages
    ("/v1/clock", "operator"),
)


def role_for(path: str) -> str:
    return next((role for prefix, role in ROUTE_ROLES if path.startswith(prefix)), "operator")


@pytest.fixture(scope="module")
def console(system: System) -> Iterator[ServiceProcess]:
    """The operator console too: it is a service with an OpenAPI of its own."""
    # Intake's settings but its port and its Kafka login: the console logs in as itself.
    env = {
        k: v
        for k, v in system.services["intake"].env.items()
        if not k.endswith("_PORT") and not k.startswith("KAFKA_SASL_")
    }
    console = ServiceProcess("operations", env, Path(system.services["intake"].log_path).parent)
    console.start()
    try:
        console.wait_healthy(timeout=90)
        yield console
    finally:
        console.stop()


def _exercise(
    operation: schemathesis.APIOperation, mode: GenerationMode, url: str, token: str
) -> list[str]:
    """Run the operation's generated cases; the distinct failures, each with how to reproduce."""
    found: dict[str, str] = {}

    @given(data=st.data())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy(generation_mode=mode))
        try:
            case.call_and_validate(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS
            )
        except BaseExceptionGroup as failure:  # schemathesis' FailureGroup: the checks failed
            lines = str(failure).splitlines()
            kinds = " ".join(line for line in lines if line.startswith("- "))
            found.setdefault(kinds, f"{operation.label} ({mode.value}): {failure}")

    try:
        run()
    except Unsatisfiable:
        # Nothing of the route can be made invalid (no parameters, no body): no negative case.
        assert mode is GenerationMode.NEGATIVE, operation.label
    return list(found.values())


SERVICE_NAMES = [s.name for s in SERVICES]


@pytest.mark.timeout(900)
@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_every_answer_is_the_one_the_openapi_documents(
    system: System, console: ServiceProcess, service: str
) -> None:
    url = console.url if service == "operations" else system.url(service)
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {"/healthz", "/metrics"} <= {op.path for op in operations}
    token: Callable[[str], str] = lambda path: system.tokens[role_for(path)]  # noqa: E731
    failures = [
        failure
        for operation in operations
        for mode in GenerationMode
        for failure in _exercise(operation, mode, url, token(operation.path))
    ]
    assert not failures, "\n\n".join(failures)
