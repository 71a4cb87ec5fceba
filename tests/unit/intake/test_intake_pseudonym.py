"""The keyed pseudonyms intake puts in Kafka keys instead of resident ids, and their secret."""

from __future__ import annotations

import hashlib
import hmac
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr
from support.factories import person

from services.runtime.pseudonym import (
    KEY_FILE,
    Pseudonyms,
    PseudonymSettings,
    ensure_key_file,
    load_pseudonyms,
)

SECRET = "0123456789abcdef-secret"


def test_a_pseudonym_is_hmac_sha256_of_the_person_under_the_secret() -> None:
    pseudonyms = Pseudonyms(SECRET)
    someone, other = person(1), person(2)
    expected = hmac.new(SECRET.encode(), someone.encode(), hashlib.sha256).hexdigest()
    assert pseudonyms.of(someone) == expected and pseudonyms.key(someone) == expected.encode()
    assert pseudonyms.of(someone) == Pseudonyms(SECRET).of(someone)  # same person, same key
    assert pseudonyms.of(other) != pseudonyms.of(someone)
    # Without the secret, hashing every possible id finds nothing: a plain hash would.
    assert hashlib.sha256(someone.encode()).hexdigest() != pseudonyms.of(someone)
    assert SECRET not in repr(pseudonyms)


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        Pseudonyms("too-short")


def test_the_secret_comes_from_the_environment_a_file_or_the_data_dir(tmp_path: Path) -> None:
    someone = person(1)
    from_env = load_pseudonyms(tmp_path, PseudonymSettings(key=SecretStr(SECRET)))
    assert from_env.of(someone) == Pseudonyms(SECRET).of(someone)
    given = tmp_path / "given.key"
    given.write_text(SECRET + "\n")
    given.chmod(0o600)
    assert load_pseudonyms(tmp_path, PseudonymSettings(key_file=given)).of(someone) == (
        from_env.of(someone)
    )
    assert not (tmp_path / KEY_FILE).exists()  # nothing created when one is given
    created = load_pseudonyms(tmp_path, PseudonymSettings())
    kept = tmp_path / KEY_FILE
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    # Kept: the next start keys every person as before.
    assert load_pseudonyms(tmp_path, PseudonymSettings()).of(someone) == created.of(someone)
    assert created.of(someone) != from_env.of(someone)


def test_ensure_key_file_never_replaces_a_secret(tmp_path: Path) -> None:
    path = ensure_key_file(tmp_path / "sub" / KEY_FILE)
    first = path.read_text()
    assert len(first.strip()) == 64 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_key_file(path).read_text() == first
