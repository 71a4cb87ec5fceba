"""Make a cluster ready for the services, as its administrator: every principal's login, the
topics of the catalog and the grants of contracts/access.py. Idempotent; run it before the
services start and again after an upgrade.

    KAFKA_BOOTSTRAP_SERVERS=... KAFKA_SECURITY_PROTOCOL=SASL_SSL KAFKA_SSL_CAFILE=ca.pem \\
    KAFKA_SASL_USERNAME=admin KAFKA_SASL_PASSWORD_FILE=admin.password \\
        python -m deploy.kafka.provision --credentials credentials.json [--password-dir DIR]

Passwords are made up once and kept in the credentials file (mode 0600: principal ->
password); `--password-dir` also writes one file per principal (`<principal>.password`, mode
0600), what a service reads through KAFKA_SASL_PASSWORD_FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from deploy.kafka.credentials import ADMIN, remember_password
from deploy.kafka.logins import ensure_logins
from services.runtime.settings import KafkaSettings, TopicSettings
from services.runtime.topic_admin import ensure_topics


async def provision(admin: KafkaSettings, credentials: Path) -> dict[str, str]:
    """Logins, topics, grants: what a deployment does once its brokers run."""
    if admin.sasl_username == ADMIN and admin.sasl_password is not None:
        # The administrator's own password, not one made up: the file then says the truth.
        remember_password(credentials, ADMIN, admin.sasl_password.get_secret_value())
    passwords = await ensure_logins(admin, credentials)
    await ensure_topics(admin, TopicSettings())
    return passwords


def write_password_files(passwords: dict[str, str], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for principal, password in passwords.items():
        path = directory / f"{principal}.password"
        path.unlink(missing_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(password + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="provision", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--credentials", type=Path, required=True, help="principal -> password")
    parser.add_argument("--password-dir", type=Path, help="also one file per principal here")
    args = parser.parse_args(argv)
    try:
        admin = KafkaSettings()
    except ValueError as error:
        print(f"provision: {error}", file=sys.stderr)
        return 2
    if admin.principal is None:
        print("provision: log in as the administrator (KAFKA_SASL_USERNAME ...)", file=sys.stderr)
        return 2
    passwords = asyncio.run(provision(admin, args.credentials))
    if args.password_dir is not None:
        write_password_files(passwords, args.password_dir)
    print(
        f"{len(passwords) - 1} principals, topics and grants ensured on {admin.bootstrap_servers}"
    )
    print(f"credentials: {args.credentials.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
