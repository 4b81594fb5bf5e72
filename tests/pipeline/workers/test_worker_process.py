"""`datastreams worker alerting` as a real process: /readyz, /healthz, /metrics, SIGTERM."""

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp

from tests.pipeline.events import notification
from tests.pipeline.workers.harness import (
    DEPLOY,
    input_topics,
    publish,
    publisher,
    unique,
    wait_for_values,
)
from tools.process import free_port, wait_ready

REPO = Path(__file__).resolve().parents[3]


async def test_worker_process_serves_health_and_metrics_and_stops_on_sigterm(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    prefix, port = unique("proc"), free_port()
    config = tmp_path / "worker.toml"
    config.write_text(
        f"""
[topics]
prefix = "{prefix}"
partitions = 3
[worker]
host = "127.0.0.1"
heartbeat_interval_ms = 300
session_timeout_ms = 6000
[alerting]
group_id = "{prefix}-alerting"
start_from = "earliest"
rules_file = "{DEPLOY / "alert-rules.toml"}"
"""
    )
    env = os.environ | {
        "DATASTREAMS_WORKER_CONFIG": str(config),
        "DATASTREAMS_WORKER_PORT": str(port),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ingest",
            "worker",
            "alerting",
            env=env,
            stdout=out,
            stderr=out,
            cwd=REPO,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(url + "/readyz", 30)
        topics = input_topics(prefix)
        async with publisher(kafka_bootstrap, topics) as pub:
            await publish(pub, topics, [notification("campaign_abort", {"campaignId": 77})])
        [alert] = await wait_for_values(kafka_bootstrap, f"{prefix}.alerts", lambda f: len(f) >= 1)
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/healthz") as resp:
                assert resp.status == 200
            async with session.get(url + "/metrics") as resp:
                text = await resp.text()
        assert 'datastreams_worker_events_total{outcome="handled",worker="alerting"} 1.0' in text
        assert (
            'datastreams_worker_alerts_total{rule="campaign-aborted",severity="warning"} 1.0'
            in text
        )
        assert (
            'datastreams_worker_alerts_total{rule="tenant-silent",severity="warning"} 0.0' in text
        )
        assert "datastreams_worker_consumer_lag{" in text
        assert "datastreams_worker_freshness_seconds_bucket{" in text
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
    text = log.read_text()
    assert code == 0, text
    assert alert["rule"] == "campaign-aborted"
    assert "alerting worker stopped; events handled=1 duplicate=0 deadlettered=0 alerts=1" in text


async def test_a_configuration_error_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "worker.toml"
    rules = DEPLOY / "alert-rules.toml"
    config.write_text(f'[alerting]\nrules_file = "{rules}"\nstart_from = "yesterday"\n')
    env = os.environ | {"DATASTREAMS_WORKER_CONFIG": str(config)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ingest",
        "worker",
        "alerting",
        env=env,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert b"configuration error: Config 'alerting.start_from' has value 'yesterday'" in err
