"""The local broker's credentials file: made once, kept, readable by its owner only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from deploy.kafka.broker import BrokerError, _admin_password, _paths, _with_open_listener
from deploy.kafka.credentials import (
    CredentialsError,
    ensure_credentials,
    password_of,
    read_credentials,
    remember_password,
)


def test_passwords_are_made_once_kept_and_the_file_is_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    first = ensure_credentials(path, ["admin"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    more = ensure_credentials(path, ["admin", "intake", "department.education"])
    assert more["admin"] == first["admin"]
    assert len({more["admin"], more["intake"], more["department.education"]}) == 3
    assert read_credentials(path) == more
    assert password_of(path, "intake") == more["intake"]
    with pytest.raises(CredentialsError, match="no password for 'auditor'"):
        password_of(path, "auditor")
    path.chmod(0o644)
    ensure_credentials(path, ["auditor"])  # rewritten: its owner's only again
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_damaged_credentials_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text("[1, 2]")
    with pytest.raises(CredentialsError, match="principal -> password"):
        read_credentials(path)


def test_a_data_dir_formatted_without_authentication_is_refused_with_the_way_out(
    tmp_path: Path,
) -> None:
    paths = _paths(tmp_path)
    paths.meta.parent.mkdir(parents=True)
    paths.meta.write_text("cluster.id=x\n")
    with pytest.raises(BrokerError, match="formatted without authentication.*make clean"):
        _admin_password(paths)


def test_the_benchmark_s_open_listener_is_added_beside_the_authenticated_one() -> None:
    text = (
        "listeners=SASL_PLAINTEXT://127.0.0.1:1,CONTROLLER://127.0.0.1:2\n"
        "listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT\n"
        "super.users=User:admin\n"
    )
    opened = _with_open_listener(text, 9)
    assert (
        "listeners=SASL_PLAINTEXT://127.0.0.1:1,CONTROLLER://127.0.0.1:2,OPEN://127.0.0.1:9"
        in opened
    )
    assert ",OPEN:PLAINTEXT" in opened and "super.users=User:admin;User:ANONYMOUS" in opened


def test_a_password_made_elsewhere_is_remembered_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    remember_password(path, "admin", "the-cluster-s-own")
    assert ensure_credentials(path, ["admin", "intake"])["admin"] == "the-cluster-s-own"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
