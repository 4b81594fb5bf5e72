"""Simulator load for a scenario: Marketo and Adobe I/O as they behave, retries included.

The simulator runs in this process (``tools.simulate.run.Simulator``) and writes the ack file of
every event it got a 2xx for. ``Load`` also keeps when each request was sent and answered, so a
scenario can say when the first 2xx after a fault came, and what was answered meanwhile.
"""

import asyncio
import io
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tools.chaos.settings import ChaosSettings
from tools.simulate.run import SimulationResult, Simulator
from tools.simulate.settings import SimulatorSettings
from tools.simulate.signing import SigningKey
from tools.simulate.tenants import SimTenant, make_tenants

Keys = tuple[SigningKey, SigningKey]
# No answer after this long is Adobe's timeout (the direct push waits 20 s); sooner, the
# connection was refused or cut.
ADOBE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Answer:
    sent_at: float  # monotonic seconds
    answered_at: float
    status: int | None  # None: no answer (refused, reset, timed out)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def label(self) -> str:
        """The status, or for no answer "timeout" (waited Adobe's 10 s) or "no-answer"."""
        if self.status is not None:
            return str(self.status)
        return "timeout" if self.answered_at - self.sent_at >= ADOBE_TIMEOUT_S else "no-answer"


def tenants(settings: ChaosSettings) -> tuple[SimTenant, ...]:
    return make_tenants(settings.tenants, settings.seed)


class Load:
    def __init__(
        self, settings: ChaosSettings, url: str, key_port: int, ack_file: Path, keys: Keys
    ) -> None:
        self.ack_file = ack_file
        self.answers: list[Answer] = []
        sim = SimulatorSettings(
            url=url,
            tenants=settings.tenants,
            seed=settings.seed,
            time_scale=settings.time_scale,
            malformed=settings.malformed,
            leads=settings.leads,
            rate_per_s=settings.rate_per_s,
            duration_s=settings.load_s,
            drain_s=settings.drain_s,
            ack_file=ack_file,
            key_port=key_port,
        )
        self.simulator = Simulator(sim, out=io.StringIO(), keys=keys, observe=self._observe)
        self.started_at = 0.0
        self._task: asyncio.Task[SimulationResult] | None = None

    def _observe(self, sent_at: float, answered_at: float, status: int | None) -> None:
        self.answers.append(Answer(sent_at, answered_at, status))

    def start(self) -> None:
        self.started_at = time.monotonic()
        self._task = asyncio.create_task(self.simulator.run())

    async def until(self, seconds_after_start: float) -> None:
        """Sleep until this long after the load started."""
        await asyncio.sleep(max(0.0, self.started_at + seconds_after_start - time.monotonic()))

    async def finish(self) -> SimulationResult:
        """Wait for the end of generation and of the drain (queues empty, retries done)."""
        if self._task is None:
            raise RuntimeError("the load was never started")
        return await self._task

    def cancel(self) -> None:
        """Stop the simulator now (a scenario that failed half-way); no-op once finished."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def in_flight(self) -> int:
        sender = self.simulator.sender
        return 0 if sender is None else sender.in_flight

    async def wait_in_flight(self, timeout_s: float = 10.0) -> bool:
        """Return as soon as a delivery is on the wire, so a fault hits one mid-way; False if
        none was within the timeout (the fault then hits an idle moment)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:  # polling: the sender offers no notification
            if self.in_flight():
                return True
            await asyncio.sleep(0.001)
        return False

    def cut(self, moment: float) -> int:
        """Requests in flight at ``moment`` that never got an answer."""
        return sum(
            1 for a in self.answers if a.sent_at <= moment < a.answered_at and a.status is None
        )

    def failed_in_flight(self, moment: float) -> dict[str, int]:
        """Requests in flight at ``moment`` that did not get a 2xx, by what they got."""
        return dict(
            Counter(
                a.label for a in self.answers if a.sent_at <= moment < a.answered_at and not a.ok
            )
        )

    def acked(self) -> int:
        return sum(p.acked_events for p in self.simulator.stats.values())

    def first_ok_after(self, moment: float) -> float | None:
        """Seconds from ``moment`` to the first 2xx for a request sent at or after it."""
        answered = [a.answered_at for a in self.answers if a.ok and a.sent_at >= moment]
        return min(answered) - moment if answered else None

    def statuses(self, since: float, until: float = float("inf")) -> Counter[str]:
        """Answers to requests sent within [since, until), by status ("none": no answer)."""
        return Counter(
            "none" if a.status is None else str(a.status)
            for a in self.answers
            if since <= a.sent_at < until
        )

    def errors(self) -> dict[str, int]:
        """What the upstreams saw that was not a 2xx, by status: the table's error column."""
        return dict(sorted(Counter(a.label for a in self.answers if not a.ok).items()))

    def slowest_answer_s(self, since: float = 0.0, until: float = float("inf")) -> float:
        """The longest wait for any answer (or for giving up) to a request sent within
        [since, until)."""
        waits = [a.answered_at - a.sent_at for a in self.answers if since <= a.sent_at < until]
        return max(waits, default=0.0)

    def slowest_refusal_s(self, since: float, until: float) -> float:
        """The longest wait for a non-2xx answer to a request sent within [since, until)."""
        waits = [
            a.answered_at - a.sent_at
            for a in self.answers
            if since <= a.sent_at < until and a.status is not None and not a.ok
        ]
        return max(waits, default=0.0)
