"""End to end: a real Prometheus on loopback scrapes a running ingress and a running alerting
worker (both real ``datastreams`` processes) through the relabelling of
deploy/prometheus/prometheus.yml, evaluates deploy/prometheus/rules, and answers on its HTTP API:
the metrics are there, every dashboard query runs, and stopping Kafka fires
DatastreamsKafkaUnavailable.

Kafka here is a dedicated broker of this test (tools.kafka), never the session's.
Alert ``for`` durations are shortened to 2 s in a copy of the rules; the expressions are the
shipped ones. Scrape and evaluation intervals are 1 s.
"""

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from tests.deploy.prometheus_config import fast_rules, pod_target, static_variant, write
from tests.deploy.test_grafana import queries, substitute
from tests.deploy.tooling import DEPLOY, VENV_BIN, load_yaml, tool
from tests.support import payloads as p
from tests.support.ingress import ingress_config_file
from tests.support.kafka import LIBS_DIR, START_TIMEOUT_S
from tools.kafka import ensure_jars, start_broker, stop_broker
from tools.process import Child, ChildFailed, free_port, free_ports

TOKEN = "e2e-deploy-token-0123456789"
DELIVERIES = 20
EVENTS_PER_DELIVERY = 5
STOP_GRACE_S = 20.0
PROMETHEUS_READY_S = 30.0


@dataclass
class Stack:
    prometheus: str  # base URL
    ingress: str
    worker: str
    broker_dir: Path
    processes: list[Child]
    http: aiohttp.ClientSession

    def logs(self) -> str:
        return "\n".join(p.tail() for p in self.processes)

    async def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.prometheus}/api/v1/query"
        async with self.http.get(url, params={"query": expr}) as resp:
            body = await resp.json()
        assert body["status"] == "success", f"{expr}: {body}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    async def api(self, path: str) -> Any:
        async with self.http.get(f"{self.prometheus}/api/v1/{path}") as resp:
            body = await resp.json()
        assert body["status"] == "success", body
        return body["data"]

    async def value(self, expr: str) -> float:
        result = await self.query(expr)
        return float(result[0]["value"][1]) if result else float("nan")

    async def eventually(
        self, check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 30.0
    ) -> float:
        started = time.monotonic()
        while not await check():
            if time.monotonic() - started > timeout_s:
                pytest.fail(f"not within {timeout_s:.0f} s: {what}\n{self.logs()}", pytrace=False)
            await asyncio.sleep(0.5)  # polling Prometheus: it has no push API
        return time.monotonic() - started


async def ready(child: Child, url: str, timeout_s: float) -> None:
    """Wait until ``url`` answers 200; if not, fail the test with the end of the child's log."""
    try:
        await child.wait_ready(url, timeout_s)
    except ChildFailed as exc:
        pytest.fail(f"{exc}\n{child.tail()}", pytrace=False)


def ingress_config(folder: Path, bootstrap: str, prefix: str) -> Path:
    kafka = "publish_timeout_seconds = 2"
    return ingress_config_file(folder, bootstrap, prefix, token=TOKEN, kafka=kafka)


def worker_config(folder: Path, bootstrap: str, prefix: str) -> Path:
    path = folder / "worker.toml"
    path.write_text(
        f"""
[kafka]
bootstrap_servers = "{bootstrap}"
[topics]
prefix = "{prefix}"
partitions = 2
[worker]
host = "127.0.0.1"
drain_timeout_seconds = 5
[alerting]
start_from = "earliest"
rules_file = "{DEPLOY / "workers" / "alert-rules.toml"}"
"""
    )
    return path


def prometheus_config(folder: Path, ingress_port: int, worker_port: int) -> Path:
    targets = [
        pod_target(f"127.0.0.1:{ingress_port}", "ingress", ingress_port),
        pod_target(f"127.0.0.1:{worker_port}", "worker-alerting", worker_port),
        # Not ours: the relabelling must drop it.
        pod_target(f"127.0.0.1:{free_port()}", "ingress", 1, part_of="something-else"),
    ]
    config = static_variant(targets, scrape_interval="1s", evaluation_interval="1s")
    config["global"]["scrape_timeout"] = "1s"
    config["rule_files"] = fast_rules(folder, "2s")
    return write(config, folder / "prometheus.yml")


def child_env(**extra: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "JAVA_HOME", "TMPDIR")
    return {k: v for k, v in os.environ.items() if k in keep} | extra


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    broker_dir = tmp_path / "kafka"
    broker_dir.mkdir()
    port, controller = free_ports(2)
    await asyncio.to_thread(ensure_jars, LIBS_DIR)
    await asyncio.to_thread(start_broker, broker_dir, port, controller, LIBS_DIR, START_TIMEOUT_S)
    bootstrap = f"127.0.0.1:{port}"
    prefix = f"e2e-deploy-{uuid.uuid4().hex[:8]}"
    ingress_port, worker_port, prom_port = free_ports(3)
    datastreams = str(VENV_BIN / "datastreams")
    processes: list[Child] = []
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    try:
        ingress = Child(
            "ingress",
            [datastreams, "ingress"],
            child_env(
                DATASTREAMS_CONFIG=str(ingress_config(tmp_path, bootstrap, prefix)),
                DATASTREAMS_HOST="127.0.0.1",
                DATASTREAMS_PORT=str(ingress_port),
            ),
            tmp_path / "ingress.log",
            cwd=tmp_path,
        )
        processes.append(ingress)
        await ingress.spawn()
        await ready(ingress, f"http://127.0.0.1:{ingress_port}/readyz", 60)
        worker = Child(
            "worker",
            [datastreams, "worker", "alerting"],
            child_env(
                DATASTREAMS_WORKER_CONFIG=str(worker_config(tmp_path, bootstrap, prefix)),
                DATASTREAMS_WORKER_PORT=str(worker_port),
            ),
            tmp_path / "worker.log",
            cwd=tmp_path,
        )
        processes.append(worker)
        await worker.spawn()
        prometheus = Child(
            "prometheus",
            [
                tool("prometheus"),
                f"--config.file={prometheus_config(tmp_path, ingress_port, worker_port)}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
                "--log.level=warn",
            ],
            child_env(),
            tmp_path / "prometheus.log",
            cwd=tmp_path,
        )
        processes.append(prometheus)
        await prometheus.spawn()
        await ready(worker, f"http://127.0.0.1:{worker_port}/readyz", 60)
        await ready(prometheus, f"http://127.0.0.1:{prom_port}/-/ready", PROMETHEUS_READY_S)
        yield Stack(
            prometheus=f"http://127.0.0.1:{prom_port}",
            ingress=f"http://127.0.0.1:{ingress_port}",
            worker=f"http://127.0.0.1:{worker_port}",
            broker_dir=broker_dir,
            processes=processes,
            http=http,
        )
    finally:
        await asyncio.gather(*(p.stop(STOP_GRACE_S) for p in reversed(processes)))
        await http.close()
        await asyncio.to_thread(stop_broker, broker_dir)


async def drive_traffic(stack: Stack) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    for _ in range(DELIVERIES):
        body = orjson.dumps(p.direct_push([p.activity() for _ in range(EVENTS_PER_DELIVERY)]))
        async with stack.http.post(
            f"{stack.ingress}/v1/lead-activity", data=body, headers=headers
        ) as resp:
            assert resp.status == 200, await resp.text()
    async with stack.http.post(f"{stack.ingress}/v1/lead-activity", data=b"{}") as resp:
        assert resp.status == 401  # shows up as an auth failure


async def test_prometheus_scrapes_evaluates_and_alerts_when_kafka_stops(stack: Stack) -> None:
    events = DELIVERIES * EVENTS_PER_DELIVERY

    # 1. Both processes are scraped under the job names the rules expect (relabelling works).
    async def scraped() -> bool:
        up = await stack.query('up{namespace="e2e"} == 1')
        return {r["metric"]["job"] for r in up} == {
            "datastreams-ingress",
            "datastreams-worker-alerting",
        }

    await stack.eventually(scraped, "ingress and worker scraped as their jobs")
    targets = await stack.api("targets")
    assert len(targets["activeTargets"]) == 2  # the foreign pod was dropped
    assert {t["labels"]["pod"] for t in targets["activeTargets"]} == {
        "ingress-0",
        "worker-alerting-0",
    }

    # 2. Traffic shows up in the ingress' and in the worker's metrics.
    await drive_traffic(stack)

    async def counted() -> bool:
        accepted = await stack.value(
            'sum(datastreams_events_total{job="datastreams-ingress",outcome="accepted"})'
        )
        handled = await stack.value(
            'sum(datastreams_worker_events_total{job="datastreams-worker-alerting",'
            'outcome="handled"})'
        )
        return accepted == events and handled >= events

    await stack.eventually(counted, f"{events} events accepted and handled", timeout_s=45)
    assert await stack.value('sum(datastreams_auth_failures_total{route="lead-activity"})') == 1
    latency = 'sum(datastreams_publish_latency_seconds_count{result="ok"})'
    assert await stack.value(latency) == DELIVERIES
    assert await stack.value("min(datastreams_kafka_ready)") == 1
    assert await stack.value("max(datastreams_worker_ready)") == 1

    # 3. The rules load and evaluate without error; recording rules produce series.
    groups = (await stack.api("rules"))["groups"]
    rules = [r for g in groups for r in g["rules"]]
    shipped = load_yaml(DEPLOY / "prometheus" / "rules" / "alerts.yml")["groups"]
    assert {r["name"] for r in rules if r["type"] == "alerting"} == {
        r["alert"] for g in shipped for r in g["rules"]
    }

    async def recorded() -> bool:
        return bool(
            await stack.query('job_stream_outcome:datastreams_events:rate5m{outcome="accepted"}')
        )

    async def evaluated() -> bool:
        groups = (await stack.api("rules"))["groups"]
        return all(r["health"] != "unknown" for g in groups for r in g["rules"])

    await stack.eventually(recorded, "recording rules evaluated")
    await stack.eventually(evaluated, "every rule evaluated once")
    groups = (await stack.api("rules"))["groups"]
    unhealthy = [
        (r["name"], r.get("lastError")) for g in groups for r in g["rules"] if r["health"] != "ok"
    ]
    assert unhealthy == []
    firing = {a["labels"]["alertname"] for a in (await stack.api("alerts"))["alerts"]}
    assert "DatastreamsKafkaUnavailable" not in firing

    # 4. Every dashboard query is valid PromQL that this Prometheus runs.
    for _panel, expr in queries():
        await stack.query(substitute(expr))

    # 5. Kafka stops: the ingress says so and the broker-down alert fires.
    await asyncio.to_thread(stop_broker, stack.broker_dir)
    stopped = time.monotonic()

    async def kafka_alert_firing() -> bool:
        alerts = (await stack.api("alerts"))["alerts"]
        return any(
            a["labels"]["alertname"] == "DatastreamsKafkaUnavailable"
            and a["state"] == "firing"
            and a["labels"]["job"] == "datastreams-ingress"
            and a["labels"]["severity"] == "critical"
            for a in alerts
        )

    await stack.eventually(kafka_alert_firing, "DatastreamsKafkaUnavailable firing", timeout_s=60)
    print(
        f"DatastreamsKafkaUnavailable fired {time.monotonic() - stopped:.1f} s after Kafka stopped"
    )
    assert await stack.value("max(datastreams_kafka_ready)") == 0
