"""deploy/haproxy/haproxy.cfg: valid for HAProxy (``haproxy -c``, as shipped and with the
addresses the chaos rig gives it), held to the rules of docs/deploying.md "Behind a load
balancer", and quoted there as it is. The scenarios in tests/reliability run this same file.

HAProxy comes from ``make haproxy-tools`` (part of ``make deploy-tools``).
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

from ingest.settings import ServerSettings
from pipeline.settings import KafkaSettings
from tests.deploy.tooling import DEPLOY, REPO_ROOT, tool
from tools.chaos.haproxy import SERVERS, BalancerSpec
from tools.chaos.settings import FULL, SHORT

CONFIG = DEPLOY / "haproxy" / "haproxy.cfg"
DOC = REPO_ROOT / "docs" / "deploying.md"
ADOBE_TIMEOUT_S = 10.0
UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0}


def directives(text: str) -> dict[str, list[str]]:
    """``section -> [directive lines]``, comments and blank lines dropped; a section is named
    by its header line (``defaults``, ``backend ingress``, ...)."""
    sections: dict[str, list[str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        if not raw[0].isspace():
            current = line
            sections[current] = []
        else:
            sections[current].append(line)
    return sections


def value(section: list[str], key: str) -> str:
    found = [line[len(key) :].strip() for line in section if line.startswith(key + " ")]
    assert len(found) == 1, f"expected one `{key}` line, found {found}"
    return found[0]


def seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", text)
    assert match, f"not a duration: {text!r}"
    return float(match[1]) * UNITS[match[2]]


def check_config(path: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """``haproxy -c``: its exit status and what it printed."""
    result = subprocess.run(
        [tool("haproxy"), "-c", "-f", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=os.environ | (env or {}),
    )
    return result.returncode, result.stdout + result.stderr


@pytest.fixture(scope="module")
def cfg() -> dict[str, list[str]]:
    return directives(CONFIG.read_text("utf-8"))


def test_the_shipped_file_is_valid_as_it_is() -> None:
    code, out = check_config(CONFIG)
    assert code == 0, out


def test_it_is_valid_with_the_addresses_the_chaos_rig_gives_it() -> None:
    spec = BalancerSpec(18080, 18404, ("127.0.0.1:18081", "127.0.0.1:18082", "127.0.0.1:18083"))
    code, out = check_config(CONFIG, spec.env())
    assert code == 0, out


def test_the_check_fails_on_a_broken_copy(tmp_path: Path) -> None:
    broken = tmp_path / "haproxy.cfg"
    broken.write_text(CONFIG.read_text("utf-8").replace("balance leastconn", "balance nosuch"))
    code, out = check_config(broken)
    assert code != 0
    assert "balance only supports" in out


def test_the_health_check_is_readyz(cfg: dict[str, list[str]]) -> None:
    backend = cfg["backend ingress"]
    assert value(backend, "option httpchk") == "GET /readyz"  # /readyz answers no OPTIONS
    assert value(backend, "http-check expect") == "status 200"
    servers = [line.split()[1] for line in backend if line.startswith("server ")]
    assert tuple(servers) == SERVERS  # the names the rig reads from the stats page


def test_a_replica_is_out_before_its_listener_closes(cfg: dict[str, list[str]]) -> None:
    check = value(cfg["backend ingress"], "default-server").split()
    inter, fall = seconds(check[check.index("inter") + 1]), int(check[check.index("fall") + 1])
    for settings in (FULL, SHORT):
        assert inter * fall < settings.lb_grace_s, "readiness grace shorter than fall x inter"


def test_timeouts_sit_between_the_ingress_and_adobe(cfg: dict[str, list[str]]) -> None:
    defaults = cfg["defaults"]
    server = seconds(value(defaults, "timeout server"))
    assert KafkaSettings().publish_timeout_s < server < ADOBE_TIMEOUT_S
    # the balancer, not the ingress, ends idle connections
    assert seconds(value(defaults, "timeout http-keep-alive")) < ServerSettings().idle_timeout_s
    assert value(defaults, "http-reuse") == "never"


def test_the_docs_quote_the_file_as_it_is(cfg: dict[str, list[str]]) -> None:
    doc = DOC.read_text("utf-8")
    quoted = [
        f"timeout server {value(cfg['defaults'], 'timeout server')}",
        f"timeout check {value(cfg['defaults'], 'timeout check')}",
        f"default-server {value(cfg['backend ingress'], 'default-server')}",
        f"http-reuse {value(cfg['defaults'], 'http-reuse')}",
        f"balance {value(cfg['backend ingress'], 'balance')}",
        "deploy/haproxy/haproxy.cfg",
    ]
    missing = [q for q in quoted if q not in doc]
    assert not missing, f"docs/deploying.md does not quote {missing}"
