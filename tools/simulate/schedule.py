"""The upstreams' delivery policies as pure values: what happens after an attempt, and when the
next one is due. No I/O and no clock; ``direct_push.py`` and ``adobe_io.py`` act on them.

Direct push (docs/protocol.md)::

    ACTIVE --fail--> RETRYING(1) --fail--> RETRYING(2) --fail--> RETRYING(3) --fail--> PAUSED
      ^  every interval_s   each retry_wait_s later (3 min)          re-enable every 3 min |
      +--------------------------------- any success -------------------------------------+

Adobe I/O Events (docs/protocol.md): 2xx acknowledges; 429, every 5xx but 505, a timeout or no
answer are retried after 1, 2, 4, 8, then every 15 minutes, for up to 24 h from the first
attempt; every other status drops the event from push delivery.
"""

from dataclasses import dataclass
from enum import StrEnum

from tools.simulate.settings import AdobeIoSettings, DirectPushSettings


class PushPhase(StrEnum):
    ACTIVE = "active"
    RETRYING = "retrying"
    PAUSED = "paused"


@dataclass(frozen=True)
class PushState:
    phase: PushPhase = PushPhase.ACTIVE
    failures: int = 0  # consecutive failed attempts

    def after(self, ok: bool, policy: DirectPushSettings) -> "PushState":
        if ok:
            return PushState()
        failures = self.failures + 1
        if failures > policy.retries:
            return PushState(PushPhase.PAUSED, failures)
        return PushState(PushPhase.RETRYING, failures)

    def wait_s(self, policy: DirectPushSettings) -> float:
        """Upstream seconds until the next attempt."""
        if self.phase is PushPhase.RETRYING:
            return policy.retry_wait_s
        if self.phase is PushPhase.PAUSED:
            return policy.reenable_wait_s
        return policy.interval_s


class Verdict(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    RETRY = "retry"
    DROP = "drop"


def verdict(status: int | None) -> Verdict:
    """What Adobe I/O Events does with an answer; ``None`` is a timeout or no response."""
    if status is None:
        return Verdict.RETRY
    if 200 <= status < 300:
        return Verdict.ACKNOWLEDGED
    if status == 429 or (500 <= status < 600 and status != 505):
        return Verdict.RETRY
    return Verdict.DROP


def retry_wait_s(retry: int, policy: AdobeIoSettings) -> float:
    """Upstream seconds to wait before retry number ``retry`` (1-based)."""
    if retry <= len(policy.retry_waits_s):
        return policy.retry_waits_s[retry - 1]
    return policy.retry_wait_after_s


def retry_offsets_s(policy: AdobeIoSettings) -> list[float]:
    """When each retry happens, in upstream seconds after the first attempt, within the window."""
    offsets, at, retry = [], 0.0, 1
    while at + retry_wait_s(retry, policy) <= policy.retry_window_s:
        at += retry_wait_s(retry, policy)
        offsets.append(at)
        retry += 1
    return offsets
