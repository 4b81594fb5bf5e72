"""Effects across crashes: ``datastreams worker alerting`` processes SIGKILLed at each step,
against an idempotent webhook receiver (it counts every arrival and acts once per
``webhook-id``) and a fake Marketo.

1. The alert is on Kafka, its effects are not done (the receiver and Marketo refuse), commits
   are due every 0.2 s: SIGKILL. A new process delivers them.
2. The effects are done, the effects role has not committed (its commit interval is a minute):
   SIGKILL. A new process delivers them again: twice at the receiver, once after its dedup; the
   list add repeats harmlessly.
3. After a graceful stop (the commit is made), a new process delivers nothing again.
"""

import asyncio
from pathlib import Path

from aiohttp.test_utils import TestServer

from tests.pipeline.events import MUNCHKIN, T0, lead
from tests.pipeline.workers.fakes import (
    CLIENT_ID,
    CLIENT_SECRET,
    SIGNING_SECRET,
    FakeMarketo,
    IdempotentReceiver,
)
from tests.pipeline.workers.harness import (
    DEPLOY,
    input_topics,
    publish,
    publisher,
    unique,
    until,
    values,
)
from tools.process import Child, free_port

WAIT_S = 60.0


def config(prefix: str, bootstrap: str, hook: str, marketo: str, commit_s: float) -> str:
    return f"""
[kafka]
bootstrap_servers = "{bootstrap}"
[topics]
prefix = "{prefix}"
partitions = 2
[worker]
host = "127.0.0.1"
heartbeat_interval_ms = 300
session_timeout_ms = 6000
commit_interval_seconds = {commit_s}
[alerting]
group_id = "{prefix}-alerting"
start_from = "earliest"
rules_file = "{DEPLOY / "alert-rules.toml"}"
webhook_url = "{hook}"
webhook_signing_secrets = ["{SIGNING_SECRET}"]
webhook_max_attempts = 100
[[marketo]]
munchkin_id = "{MUNCHKIN}"
identity_url = "{marketo}/identity"
rest_url = "{marketo}/rest"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
lists = {{ followup = 1001 }}
max_attempts = 100
"""


async def test_every_effect_arrives_at_least_once_and_once_after_dedup(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    hook, marketo = IdempotentReceiver(secret=SIGNING_SECRET), FakeMarketo()
    servers = [
        TestServer(hook.app(), host="127.0.0.1"),
        TestServer(marketo.app(), host="127.0.0.1"),
    ]
    for server in servers:
        await server.start_server()
    prefix = unique("crash")
    hook_url, marketo_url = str(servers[0].make_url("/hook")), str(servers[1].make_url(""))
    port = free_port()

    async def started(n: int, commit_s: float = 60) -> Child:
        """Worker process ``n``; by default nothing is committed between an effect and a kill."""
        path = tmp_path / f"worker-{n}.toml"
        path.write_text(config(prefix, kafka_bootstrap, hook_url, marketo_url, commit_s))
        env = {"DATASTREAMS_WORKER_CONFIG": str(path), "DATASTREAMS_WORKER_PORT": str(port)}
        child = Child.datastreams(f"w{n}", ["worker", "alerting"], env, tmp_path / f"w{n}.log")
        await child.start(f"http://127.0.0.1:{port}/readyz")
        return child

    topics = input_topics(prefix, partitions=2)
    children: list[Child] = []
    try:
        # 1. the sinks refuse: the alert reaches Kafka, its effects do not happen; SIGKILL
        hook.statuses = [503] * 10_000
        marketo.failures = [503] * 10_000
        children.append(await started(1, commit_s=0.2))
        async with publisher(kafka_bootstrap, topics) as pub:
            await publish(pub, topics, [lead(9, "101", at_s=T0), lead(6, "101", at_s=T0 + 60)])
        await until(lambda: bool(hook.arrivals) and len(marketo.calls) > 1, "the first attempts")
        await asyncio.sleep(1)  # commits were due: none may pass an effect not done
        [alert] = await values(kafka_bootstrap, f"{prefix}.alerts")
        children[-1].kill()
        await children[-1].wait()
        assert (hook.accepted, marketo.lists) == ([], {})
        # 2. the sinks accept: the effects happen; SIGKILL before the effects role commits
        hook.statuses, marketo.failures = [], []
        children.append(await started(2))
        await until(lambda: bool(hook.accepted) and 1001 in marketo.lists, "the effects")
        children[-1].kill()
        await children[-1].wait()
        # 3. delivered again; then a graceful stop commits, and a fourth process does nothing
        children.append(await started(3))
        await until(lambda: len(hook.accepted) == 2, "the repeat")
        assert await children[-1].stop() == 0
        children.append(await started(4))
        await asyncio.sleep(3)  # time enough to deliver anything left
        assert await children[-1].stop() == 0
    finally:
        for child in children:
            child.kill()
        for server in servers:
            await server.close()
    assert hook.accepted == [alert["id"], alert["id"]]  # at least once: the kill repeated it
    assert list(hook.bodies) == [alert["id"]]  # exactly once at the idempotent receiver
    assert hook.forged == 0  # every arrival verified
    adds = [c for c in marketo.calls if c[0] == "add_to_list"]
    assert marketo.lists == {1001: {101}}
    assert len(adds) >= 3  # refused at least once, then made twice: idempotent by nature
