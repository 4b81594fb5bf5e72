"""How a consume loop fetches, commits, retries and drains; the ``[worker]`` table sets it."""

from dataclasses import dataclass

from pipeline.config import HOURS, MIB, SECONDS, setting
from pipeline.dedup import DEFAULT_CAPACITY, DEFAULT_WINDOW_S


@dataclass(frozen=True)
class ConsumeSettings:
    group_id: str  # the worker's: [alerting] or [scoring] group_id
    # Where a group without committed offsets starts: "earliest" or "latest" (the worker's too).
    start_from: str = "earliest"
    max_batch_records: int = setting(5000, minimum=1)
    poll_timeout_s: float = 0.2 * SECONDS
    fetch_max_wait_ms: int = setting(100, minimum=0)
    max_partition_fetch_bytes: int = 4 * MIB
    commit_interval_s: float = setting(1 * SECONDS, minimum=0)
    tick_interval_s: float = setting(5 * SECONDS, minimum=0.05)
    session_timeout_ms: int = setting(10_000, minimum=1000)
    heartbeat_interval_ms: int = setting(1_000, minimum=100)
    max_poll_interval_ms: int = setting(300_000, minimum=1000)
    retry_initial_s: float = setting(0.2 * SECONDS, minimum=0.001)
    retry_max_s: float = setting(30 * SECONDS, minimum=0.001)
    drain_timeout_s: float = setting(15 * SECONDS, minimum=0.1)
    dedup_window_s: float = setting(
        DEFAULT_WINDOW_S, key="dedup_window_hours", minimum=0.01, scale=HOURS
    )
    dedup_capacity: int = setting(DEFAULT_CAPACITY, key="dedup_max_ids_per_partition", minimum=1)
