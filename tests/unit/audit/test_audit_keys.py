"""The checkpoint signing key: created once with mode 0600, reused, refused when exposed."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from services.runtime.signing_keys import PRIVATE_FILE, PUBLIC_FILE, load_or_create, load_public_pem


def test_first_start_creates_a_private_key_only_its_owner_can_read(tmp_path: Path) -> None:
    key = load_or_create(tmp_path / "audit")
    mode = stat.S_IMODE((tmp_path / "audit" / PRIVATE_FILE).stat().st_mode)
    assert mode == 0o600
    assert (tmp_path / "audit" / PUBLIC_FILE).read_text() == key.public_pem
    assert len(key.key_id) == 16


def test_later_starts_reuse_the_same_key(tmp_path: Path) -> None:
    first = load_or_create(tmp_path)
    second = load_or_create(tmp_path)
    assert first.key_id == second.key_id
    signature = first.private.sign(b"x")
    load_public_pem(second.public_pem).verify(signature, b"x")


def test_a_private_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    load_or_create(tmp_path)
    (tmp_path / PRIVATE_FILE).chmod(0o644)
    with pytest.raises(PermissionError, match="0644"):
        load_or_create(tmp_path)


def test_a_public_key_that_is_not_ed25519_is_refused() -> None:
    with pytest.raises(ValueError):
        load_public_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
