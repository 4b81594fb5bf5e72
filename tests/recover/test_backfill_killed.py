"""``datastreams backfill marketo`` as an operator runs it, SIGKILLed midway by the operating
system (not an exception standing for it): the next run resumes from the stored cursor and the
topic ends with every activity of the range exactly once."""

import asyncio
import os
import re
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ingest.settings import load_settings
from pipeline.reader import count_records
from tests.pipeline.workers.harness import read_topic
from tests.recover.conftest import config_file, generate, sim_tenants
from tools.process import Child

ACTIVITIES = 1500  # five pages of 300
CALL_DELAY_S = 0.1  # per Marketo call: the run takes seconds, so it is caught midway
REPORT = re.compile(r"published (?P<published>\d+), already present (?P<present>\d+)")
KILL_AFTER = ACTIVITIES // 3  # on the topic: some pages and their cursors are behind the run


def backfill(name: str, env: dict[str, str], since: datetime, log: Path) -> Child:
    args = ["backfill", "marketo", "--since", since.strftime("%Y-%m-%dT%H:%M:%S")]
    return Child.datastreams(name, args, {**os.environ, **env}, log)


async def test_a_backfill_sigkilled_midway_resumes_with_nothing_lost_or_twice(
    upstreams: Any, kafka_bootstrap: str, tmp_path: Path
) -> None:
    ups = await upstreams(sim_tenants())
    ids = generate(ups, ACTIVITIES, "direct-push", seed=11)  # all of the first tenant
    ups.apis.marketo.call_delay_s = CALL_DELAY_S
    env = {"DATASTREAMS_CONFIG": str(config_file(ups, kafka_bootstrap, tmp_path / "ds.toml"))}
    kafka = load_settings(env).kafka
    topic = load_settings(env).topics.prefix + ".lead-activity"
    since = datetime.now(UTC) - timedelta(minutes=5)

    first = backfill("backfill-1", env, since, tmp_path / "first.log")
    await first.spawn()
    deadline = time.monotonic() + 60
    while await count_records(kafka, [topic]) < KILL_AFTER:
        assert first.running, first.tail()
        assert time.monotonic() < deadline, f"{KILL_AFTER} activities never reached the topic"
        await asyncio.sleep(0.05)
    first.kill()
    assert await first.wait() == -signal.SIGKILL
    killed_at = await count_records(kafka, [topic])
    assert 0 < killed_at < ACTIVITIES, killed_at  # midway: a gap the next run must fill

    ups.apis.marketo.call_delay_s = 0.0
    second = backfill("backfill-2", env, since, tmp_path / "second.log")
    await second.spawn()
    assert await second.wait(120) == 0, second.tail()

    seen: dict[str, int] = {}
    for record in await read_topic(kafka_bootstrap, topic):
        event_id = dict(record.headers)["ce_id"].decode()
        seen[event_id] = seen.get(event_id, 0) + 1
    assert set(seen) == set(ids)  # nothing lost
    assert [i for i, n in seen.items() if n > 1] == []  # nothing twice
    # It resumed from a stored cursor: what it found already there is less than all the first run
    # published (starting over would have found all of it).
    report = REPORT.search(second.log.read_text())
    assert report is not None, second.tail()
    assert int(report["published"]) == ACTIVITIES - killed_at
    assert int(report["present"]) < killed_at, report[0]
