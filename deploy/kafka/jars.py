"""Resolve the broker's jars from Maven Central into a cache outside the source tree."""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from deploy.kafka.probe import tail

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
MARKER = ".resolved"  # holds the pom's hash: a pom edit invalidates the cache


class SetupError(RuntimeError):
    """The machine lacks something the broker needs, or fetching it failed."""


class ToolMissing(SetupError):
    """java or mvn is missing or too old."""


def _pom_version() -> str:
    # The pom is the single place the version is written down.
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(POM).find("m:properties/m:kafka.version", ns)  # noqa: S314 - our own file
    if node is None or not (node.text or "").strip():
        raise SetupError(f"{POM} has no <kafka.version> property")
    return (node.text or "").strip()


KAFKA_VERSION = _pom_version()


def cache_dir() -> Path:
    """$ASSIST_KAFKA_CACHE (or ~/.cache/assist-chain) + /kafka-<version>."""
    override = os.environ.get("ASSIST_KAFKA_CACHE")
    if override:
        base = Path(override).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "assist-chain"
    # One directory per version: two versions' jars on one classpath break the broker.
    return base.resolve() / f"kafka-{KAFKA_VERSION}"


@functools.cache
def java_binary() -> str:
    """The java to run the broker with ($JAVA_HOME, then PATH); checks it is 17+."""
    home = os.environ.get("JAVA_HOME")
    candidate = Path(home) / "bin" / "java" if home else None
    java = str(candidate) if candidate and candidate.exists() else shutil.which("java")
    if not java:
        raise ToolMissing(
            "java is not installed (not on PATH, JAVA_HOME unset): the Kafka broker "
            "needs Java 17 or newer, e.g. `apt-get install openjdk-17-jre-headless`"
        )
    version = [java, "-version"]
    banner = subprocess.run(version, capture_output=True, text=True, check=False).stderr  # noqa: S603
    found = re.search(r'version "(\d+)(?:\.(\d+))?', banner)
    major = int(found.group(1)) if found else 0
    if major == 1 and found and found.group(2):  # "1.8.0_402" style
        major = int(found.group(2))
    if major < 17:
        raise ToolMissing(f"{java} is Java {major or '?'}; Kafka {KAFKA_VERSION} needs Java 17+")
    return java


def _complete(libs: Path, stamp: str) -> bool:
    try:
        return (libs / MARKER).read_text().strip() == stamp
    except FileNotFoundError:
        return False


def fetch_jars() -> Path:
    """Resolve the jars once (idempotent, concurrency-safe); return the libs dir."""
    home = cache_dir()
    libs = home / "libs"
    stamp = hashlib.sha256(POM.read_bytes()).hexdigest()
    if _complete(libs, stamp):
        return libs
    java_binary()  # mvn needs it too; say so before mvn fails obscurely
    mvn = shutil.which("mvn")
    if not mvn:
        raise ToolMissing(
            "mvn is not installed: it fetches the broker's jars from Maven Central, "
            "e.g. `apt-get install maven` (Maven 3.6+)"
        )
    home.mkdir(parents=True, exist_ok=True)
    with (home / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test sessions fetch once
        if _complete(libs, stamp):
            return libs
        staging = home / f"libs.partial-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        log = home / "mvn.log"
        print(
            f"kafkactl: fetching Kafka {KAFKA_VERSION} jars from Maven Central "
            f"into {libs} (maven log: {log}) ...",
            file=sys.stderr,
            flush=True,
        )
        started = time.monotonic()
        cmd = [
            mvn,
            "-B",
            "-q",
            "-Dstyle.color=never",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ]
        with log.open("w") as out:
            done = subprocess.run(  # noqa: S603 - fixed argv, no shell
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if done.returncode != 0 or not any(staging.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")):
            shutil.rmtree(staging, ignore_errors=True)
            raise SetupError(
                f"mvn could not resolve the Kafka jars (exit {done.returncode}); "
                f"last lines of {log}:\n{tail(log, 20)}"
            )
        (staging / MARKER).write_text(stamp + "\n")
        shutil.rmtree(libs, ignore_errors=True)  # a stale set from an older pom
        staging.rename(libs)  # atomic: a reader sees no jars or all of them
        count = len(list(libs.glob("*.jar")))
        print(
            f"kafkactl: fetched {count} jars in {time.monotonic() - started:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    return libs
