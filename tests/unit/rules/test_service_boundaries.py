"""No service imports another service's modules: services talk through Kafka topics only, and
what several of them need lives in the shared packages (the rules, the runtime), in `events`
or in `contracts`. The `assist` command is the users' client of the services (it calls their
HTTP clients and verifies with the audit's own code); it runs no processor."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[3] / "services"
SHARED = {"rules", "runtime"}
CLIENTS = {"cli"}
RUNNABLE = sorted(
    p.parent.name for p in SERVICES.glob("*/__main__.py") if p.parent.name not in CLIENTS
)


def imported_services(path: Path) -> set[str]:
    """The `services.<name>` packages a module imports (relative imports stay at home)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "services":
                names = [f"services.{alias.name}" for alias in node.names]
        found |= {n.split(".")[1] for n in names if n.startswith("services.") and "." in n}
    return found


def test_the_services_are_found() -> None:
    assert {"chainwriter", "classification", "policy", "referral"} <= set(RUNNABLE)


@pytest.mark.parametrize("service", RUNNABLE)
def test_a_service_imports_only_itself_and_the_shared_packages(service: str) -> None:
    strays = {
        f"{path.relative_to(SERVICES.parent)} imports services.{name}"
        for path in sorted((SERVICES / service).rglob("*.py"))
        for name in imported_services(path) - SHARED - {service}
    }
    assert not strays, sorted(strays)


def test_the_shared_packages_import_no_service() -> None:
    strays = {
        f"{path.relative_to(SERVICES.parent)} imports services.{name}"
        for package in SHARED
        for path in sorted((SERVICES / package).rglob("*.py"))
        for name in imported_services(path) - SHARED
    }
    assert not strays, sorted(strays)


def test_the_rules_are_pure() -> None:
    """No Kafka, HTTP, clock or runtime in the rules (spec: domain logic free of adapters)."""
    adapters = ("aiokafka", "confluent_kafka", "fastapi", "httpx", "services.runtime")
    strays = set()
    for path in sorted((SERVICES / "rules").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            strays |= {f"{path.name}: {n}" for n in names if n.startswith(adapters)}
    assert not strays, sorted(strays)


def test_the_check_sees_a_stray_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from services.policy.app import x\nimport services.audit.keys\n"
        "from services import referral\nfrom . import sibling\n"
    )
    assert imported_services(module) == {"policy", "audit", "referral"}
