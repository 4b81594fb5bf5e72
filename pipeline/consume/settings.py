"""How a consume loop fetches, commits, retries and drains; the ``[worker]`` table sets it."""

from dataclasses import dataclass

from pipeline.dedup import DEFAULT_CAPACITY, DEFAULT_WINDOW_S
from pipeline.settings import MIB, SECONDS


@dataclass(frozen=True)
class ConsumeSettings:
    group_id: str
    # Where a group without committed offsets starts: "earliest" or "latest".
    start_from: str = "earliest"
    max_batch_records: int = 5000
    poll_timeout_s: float = 0.2 * SECONDS
    fetch_max_wait_ms: int = 100
    max_partition_fetch_bytes: int = 4 * MIB
    commit_interval_s: float = 1 * SECONDS
    tick_interval_s: float = 5 * SECONDS
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 1_000
    max_poll_interval_ms: int = 300_000
    retry_initial_s: float = 0.2 * SECONDS
    retry_max_s: float = 30 * SECONDS
    drain_timeout_s: float = 15 * SECONDS
    dedup_window_s: float = DEFAULT_WINDOW_S
    dedup_capacity: int = DEFAULT_CAPACITY
