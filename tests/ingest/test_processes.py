"""`datastreams ingress` with ``server.processes = 2`` as a real process. On the session's broker:
both processes answer deliveries on the one port, ``/metrics`` shows the host's totals, a killed
process is restarted, SIGTERM to the parent drains both and everything answered 200 is on Kafka.
Without one: a process that cannot bind the port stops them all, exit status 1."""

import asyncio
import os
import re
import signal
import socket
import uuid
from pathlib import Path

import aiohttp
import orjson

from ingest.settings import Settings
from pipeline.reader import count_records
from pipeline.settings import KafkaSettings, TopicSettings
from pipeline.topics import build_topics
from tests.support import payloads as p
from tests.support.ingress import TOKEN, ingress_config_file
from tools.process import Child, free_port

EVENTS = 5
ROUND = 16  # deliveries per round, each on a connection of its own
LOG_WAIT_S = 30.0
SUMMARY = re.compile(r"\[ingress (\d)/2 pid (\d+)\] ingest\.server: ingress stopped; events (.*)")


async def logged(child: Child, pattern: str, count: int = 1) -> list[re.Match[str]]:
    """The first ``count`` matches of ``pattern`` in the child's log, waiting for them."""
    async with asyncio.timeout(LOG_WAIT_S):
        while True:
            found = list(re.finditer(pattern, child.log.read_text("utf-8", "replace")))
            if len(found) >= count:
                return found[:count]
            assert child.running, child.tail()
            await asyncio.sleep(0.1)


async def live_processes(http: aiohttp.ClientSession, url: str, dead: int) -> None:
    """Until the metrics show two processes ready, ``dead`` not among them (each process writes
    its gauges every second)."""
    async with asyncio.timeout(LOG_WAIT_S):
        while True:
            async with http.get(url + "/metrics") as resp:
                metrics = await resp.text()
            ready = set(re.findall(r'datastreams_kafka_ready\{pid="(\d+)"\} 1\.0', metrics))
            if len(ready) == 2 and str(dead) not in ready:
                return
            await asyncio.sleep(0.2)


async def deliver(http: aiohttp.ClientSession, url: str) -> None:
    """One push of ``EVENTS`` activities, sent again while a process' producer is not ready
    (503), as Marketo would."""
    body = orjson.dumps(p.direct_push([p.activity() for _ in range(EVENTS)]))
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    for _ in range(100):
        async with http.post(url + "/v1/lead-activity", data=body, headers=headers) as resp:
            if resp.status != 503:
                assert resp.status == 200, await resp.text()
                return
        await asyncio.sleep(0.1)
    raise AssertionError("still 503 after 10 s")


async def test_two_processes_share_the_port_restart_and_drain(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    prefix, port = f"procs-{uuid.uuid4().hex[:8]}", free_port()
    url = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "DATASTREAMS_CONFIG": str(ingress_config_file(tmp_path, kafka_bootstrap, prefix)),
        "DATASTREAMS_HOST": "127.0.0.1",
        "DATASTREAMS_PORT": str(port),
        "DATASTREAMS_PROCESSES": "2",
    }
    child = Child.datastreams("ingress", ["ingress"], env, tmp_path / "ingress.log")
    await child.spawn()
    # A connection per request: the kernel spreads connections, not requests, over the processes.
    connector = aiohttp.TCPConnector(force_close=True)
    try:
        async with aiohttp.ClientSession(connector=connector) as http:
            await logged(child, "all 2 ingress processes are listening")
            first = int((await logged(child, r"started ingress process 1 \(pid (\d+)")).pop()[1])
            await live_processes(http, url, dead=0)
            await asyncio.gather(*(deliver(http, url) for _ in range(ROUND)))
            os.kill(first, signal.SIGKILL)
            # Restarted, ready, and the dead process' gauges gone from the metrics.
            await live_processes(http, url, dead=first)
            await asyncio.gather(*(deliver(http, url) for _ in range(ROUND)))
            async with http.get(url + "/metrics") as resp:
                metrics = await resp.text()
        child.terminate()  # the parent alone: it forwards SIGTERM
        assert await child.wait(30) == 0, child.tail()
    finally:
        await child.stop(5)
    log = child.log.read_text("utf-8")
    sent = 2 * ROUND * EVENTS
    assert "exited unexpectedly with signal SIGKILL" in log
    # Whichever process answered /metrics: the host's totals, the killed process' counts kept.
    accepted = 'datastreams_events_total{outcome="accepted",stream="lead-activity"}'
    assert f"{accepted} {float(sent)}" in metrics
    # Each process logs its own counts when it stops: both took deliveries of the second round.
    summaries = [m.groups() for m in SUMMARY.finditer(log)]
    assert sorted(number for number, _, _ in summaries) == ["1", "2"]
    assert all(not counts.startswith("accepted=0 ") for _, _, counts in summaries), summaries
    topics = build_topics(TopicSettings(prefix=prefix), Settings().kafka.max_record_bytes)
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    assert await count_records(kafka, [t.name for t in topics.all()]) == sent


async def test_a_process_that_cannot_listen_stops_them_all_with_exit_1(tmp_path: Path) -> None:
    with socket.socket() as taken:  # without SO_REUSEPORT: nobody else may bind the port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = os.environ | {
            "DATASTREAMS_HOST": "127.0.0.1",
            "DATASTREAMS_PORT": str(taken.getsockname()[1]),
            "DATASTREAMS_PROCESSES": "2",
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",  # never reached
        }
        child = Child.datastreams("ingress", ["ingress"], env, tmp_path / "ingress.log")
        await child.spawn()
        try:
            assert await child.wait(30) == 1, child.tail()
        finally:
            await child.stop(5)
    log = child.log.read_text("utf-8")
    assert re.search(r"ingress process \d \(pid \d+\) exited with exit code 1 before it", log)
    assert "restarting" not in log
