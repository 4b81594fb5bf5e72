"""The broker's jars, copied from Maven Central by ``deploy/kafka/pom.xml``, and the JVM to run
them: no Docker and no Kafka tarball."""

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from tools.kafka.errors import BrokerError
from tools.kafka.layout import POM, REPO_ROOT, TAIL_LINES

STAMP_NAME = ".complete"


def java() -> str:
    """The ``java`` of ``$JAVA_HOME`` if set, else the one on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("java")
    if found is None:
        raise BrokerError("java not found (install Java 17+ or set JAVA_HOME)")
    return found


def classpath(libs_dir: Path) -> str:
    # A literal wildcard: java expands it (no shell involved).
    return f"{libs_dir}/*"


def check_libs(libs_dir: Path) -> None:
    if not (libs_dir / STAMP_NAME).is_file():
        raise BrokerError(
            f"Kafka jars missing in {libs_dir} (no {STAMP_NAME} stamp): "
            "run `python -m tools.kafka jars` or `make kafka-jars` first"
        )


def _pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def ensure_jars(libs_dir: Path) -> None:
    """Copy the broker's runtime jars from Maven Central into ``libs_dir``.

    A no-op when the stamp ``libs_dir/.complete`` exists. The stamp holds a digest of
    ``pom.xml``; if the pom has changed since (e.g. a Kafka version bump), the old jars are
    removed and fetched again. The stamp is written only after a successful copy.
    """
    libs_dir = libs_dir.resolve()
    stamp = libs_dir / STAMP_NAME
    digest = _pom_digest()
    if stamp.is_file():
        recorded = stamp.read_text(encoding="utf-8").strip()
        if recorded in ("", digest):
            return
        print(f"{POM} changed since the jars were fetched: refreshing {libs_dir}", flush=True)
        stamp.unlink()
        for jar in libs_dir.glob("*.jar"):
            jar.unlink()
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError("mvn not found: Maven is needed to fetch the Kafka jars")
    libs_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        mvn,
        "-B",
        "-ntp",
        "-q",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={libs_dir}",
    ]
    print(f"fetching Kafka jars from Maven Central into {libs_dir} ...", flush=True)
    started = time.monotonic()
    # S603: fixed argv list, no shell.
    proc = subprocess.run(  # noqa: S603
        cmd, capture_output=True, text=True, check=False, cwd=REPO_ROOT
    )
    if proc.returncode != 0:
        output = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-TAIL_LINES:])
        raise BrokerError(
            f"fetching Kafka jars failed (mvn exit code {proc.returncode}):\n"
            f"  {' '.join(cmd)}\n{output}"
        )
    if not any(libs_dir.glob("kafka_2.13-*.jar")):
        raise BrokerError(f"mvn succeeded but no kafka_2.13 jar landed in {libs_dir}")
    stamp.write_text(digest + "\n", encoding="utf-8")
    count = sum(1 for _ in libs_dir.glob("*.jar"))
    print(f"fetched {count} jars in {time.monotonic() - started:.1f}s", flush=True)
