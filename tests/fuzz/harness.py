"""Runs the world on an event loop of its own, sends one case at a time, checks it and keeps the
tally; ``finish`` makes the checks only the whole run can make.

The loop runs only while a request is in flight (``run``), never while Hypothesis draws: the
world's clients (aiokafka) use the ``random`` module, which Hypothesis requires strategies to
leave alone.

Requests go one at a time: then the records added between two readings of the end offsets are
exactly those of the request in between, so every record is checked against the answer that
reported it.
"""

import asyncio
import os
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tests.fuzz import model as m
from tests.fuzz.findings import (
    Finding,
    IntrospectionLeak,
    ProcessDied,
    SecretLogged,
    Unaccounted,
)
from tests.fuzz.observe import end_offsets, rss_of, topic_names
from tests.fuzz.oracle import Exchange, Oracle, SecretIndex, Tally
from tests.fuzz.regressions import EXAMPLES
from tests.fuzz.settings import RSS_LIMIT_MB, RSS_PEAK_LIMIT_MB
from tests.fuzz.system import World

T = TypeVar("T")
MIB = 1024 * 1024
RSS_LIMIT_BYTES = RSS_LIMIT_MB * MIB
RSS_PEAK_LIMIT_BYTES = RSS_PEAK_LIMIT_MB * MIB
RSS_SAMPLE_EVERY = 250
# The fuzzer's own memory: a runaway here would starve everything else on the machine.
OWN_RSS_LIMIT_BYTES = 2048 * MIB
DEFERRED = {IntrospectionLeak.title}
WARM_UP = (  # one valid request of each kind, so lazily built state is in the baseline RSS
    m.FuzzCase(b"GET", b"/readyz"),
    m.FuzzCase(
        b"POST",
        b"/v1/lead-activity",
        body=m.Body({"munchkinId": m.JWT, "activities": []}),
        auth=m.Auth("jwt-rs256"),
    ),
    m.FuzzCase(
        b"POST",
        b"/v1/lead-activity",
        body=m.Body({"munchkinId": m.OPA, "activities": []}),
        auth=m.Auth("opaque-opa"),
    ),
    m.FuzzCase(
        b"POST",
        b"/v1/adobe-io",
        body=m.Body([]),
        signature=(m.SigSlot("valid"), m.SigSlot("valid")),
    ),
)


@dataclass
class Memory:
    baseline: dict[str, int] = field(default_factory=dict)
    samples: list[int] = field(default_factory=list)
    final: dict[str, int] = field(default_factory=dict)
    peak: int = 0
    # The requests that raised the peak most: (MiB added, outcome, start of the request).
    jumps: list[tuple[int, str, bytes]] = field(default_factory=list)

    def observe(self, peak: int, outcome: tuple[str, str, str], raw: bytes) -> None:
        if self.peak and peak - self.peak >= 8 * MIB:
            self.jumps.append(((peak - self.peak) // MIB, " ".join(outcome), raw[:160]))
            self.jumps = sorted(self.jumps, reverse=True)[:3]
        self.peak = max(self.peak, peak)

    def line(self) -> str:
        if not self.baseline or not self.final:
            return "ingress RSS: not measured"
        base, end, peak = self.baseline["VmRSS"], self.final["VmRSS"], self.final["VmHWM"]
        trace = " ".join(f"{s // MIB}" for s in self.samples[-16:])
        jumps = "".join(
            f"\n  peak +{n} MiB after {outcome}: {raw!r}" for n, outcome, raw in self.jumps
        )
        return (
            f"ingress RSS: {base // MIB} MiB after warm-up, {end // MIB} MiB at the end, "
            f"peak {peak // MIB} MiB (limits: +{RSS_LIMIT_MB} MiB at the end, "
            f"+{RSS_PEAK_LIMIT_MB} MiB at the peak); "
            f"every {RSS_SAMPLE_EVERY} requests: {trace}{jumps}"
        )


class Harness:
    def __init__(self, bootstrap: str, workdir: Path, *, keep_going: bool) -> None:
        self.keep_going = keep_going
        self.loop = asyncio.new_event_loop()
        self.finished = False
        self.world = World(bootstrap, workdir)
        self.tally = Tally()
        self.memory = Memory()
        self.started = time.monotonic()
        self.elapsed = 0.0
        self.exit_code: int | None = None
        try:
            self.run(self.world.start(), timeout_s=120)
            self.oracle = Oracle(
                self.world.tokens,
                self.world.public_keys(),
                self.world.topics.dead_letter.name,
                self.world.secrets(),
            )
            for case in WARM_UP:
                self.check(case)
            self.memory.baseline = self.world.rss()
        except BaseException:
            self.run(self.world.stop())
            self.loop.close()
            raise

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 90) -> T:
        return self.loop.run_until_complete(asyncio.wait_for(coro, timeout_s))

    async def _exchange(self, case: m.FuzzCase, rendered: m.Rendered) -> Exchange:
        world = self.world
        answer = await world.send(rendered.raw, head_request=case.method == b"HEAD")
        records = await world.new_records()
        return Exchange(
            case,
            rendered,
            answer,
            records,
            world.new_introspections(),
            world.new_log(),
            world.alive(),
        )

    def check(self, case: m.FuzzCase) -> None:
        """Send the case, check everything about it; raise the first finding (unless keeping
        going, when every finding is only counted)."""
        own = rss_of(os.getpid())["VmRSS"]
        if own > OWN_RSS_LIMIT_BYTES:
            raise MemoryError(f"the fuzzer itself holds {own // MIB} MiB; stopping")
        rendered = m.render(case, self.world)
        exchange = self.run(self._exchange(case, rendered))
        outcome = self.oracle.outcome(exchange)
        self.tally.add(outcome, exchange.records, self.oracle.dead_letter_topic)
        if self.world.alive():
            rss = self.world.rss()
            self.memory.observe(rss["VmHWM"], outcome, rendered.raw)
            if self.tally.requests % RSS_SAMPLE_EVERY == 0:
                self.memory.samples.append(rss["VmRSS"])
        problems = self.oracle.check(exchange)
        explicit = any(case is example for example in EXAMPLES)
        for kind, message in problems:
            text = describe(exchange, kind, message)
            self.tally.remember(kind.title, len(rendered.raw), text, explicit)
        raised = [(kind, message) for kind, message in problems if not kind.deferred]
        if raised and not self.keep_going:
            kind, message = raised[0]
            raise kind(describe(exchange, kind, message))

    def finish(self) -> list[str]:
        """The whole-run checks: no record the per-request readings missed, no topic besides
        ours, no credential anywhere in the log, bounded RSS, a clean exit."""
        self.finished = True
        self.elapsed = time.monotonic() - self.started
        problems: list[str] = []
        world = self.world
        try:
            if world.alive():
                self.memory.final = world.rss()
                growth = self.memory.final["VmRSS"] - self.memory.baseline["VmRSS"]
                peak = self.memory.final["VmHWM"] - self.memory.baseline["VmRSS"]
                if growth > RSS_LIMIT_BYTES or peak > RSS_PEAK_LIMIT_BYTES:
                    problems.append(f"unbounded RSS: {self.memory.line()}")
            else:
                problems.append(f"{ProcessDied.title}:\n{world.log_tail()}")
            problems += self.run(self._all_records_accounted())
        finally:
            self.exit_code = self.run(world.stop())
            self.loop.close()
        if self.exit_code != 0:
            problems.append(f"the ingress exited with {self.exit_code} on SIGTERM")
        line = SecretIndex(world.secrets()).find(world.whole_log())
        if line is not None:
            problems.append(f"{SecretLogged.title}: {line[:300]}")
        if not self.keep_going:
            problems += [
                f"{self.tally.findings[title]} request(s): {text}"
                for title, (_, text) in sorted(self.tally.examples.items())
                if title in DEFERRED
            ]
        return problems

    async def _all_records_accounted(self) -> list[str]:
        world = self.world
        assert world.watcher is not None
        expected = {t.name for t in world.topics.all()}
        names = await topic_names(world.bootstrap, world.prefix)
        problems = [f"{Unaccounted.title}: topic {n} was written" for n in set(names) - expected]
        offsets = await end_offsets(world.bootstrap, names)
        for tp, end in sorted(offsets.items()):
            seen = world.watcher.next.get(tp, 0)
            if end != seen:
                problems.append(
                    f"{Unaccounted.title}: {tp.topic}[{tp.partition}] ends at offset {end}; the "
                    f"requests account for {seen}"
                )
        return problems

    def summary(self) -> str:
        rate = self.tally.requests / self.elapsed if self.elapsed else 0.0
        records = ", ".join(f"{k} {v}" for k, v in sorted(self.tally.records.items())) or "none"
        lines = [
            f"fuzz: {self.tally.requests} requests in {self.elapsed:.0f} s ({rate:.0f}/s); "
            f"ingress log: {self.world.log_path}",
            f"records published: {records}",
            self.memory.line(),
        ]
        if self.tally.findings:
            lines.append("findings (requests; of them sent by the regression examples):")
            lines += [
                f"  {n:>6} ({self.tally.explicit[kind]:>2})  {kind}"
                for kind, n in self.tally.findings.most_common()
            ]
        else:
            lines.append("findings: none")
        return "\n".join([*lines, self.tally.table()])

    def findings_report(self) -> str:
        parts = [
            f"{self.tally.findings[kind]} request(s): {text}"
            for kind, (_, text) in sorted(self.tally.examples.items())
        ]
        return "\n\n".join(parts)


def describe(exchange: Exchange, kind: type[Finding], message: str) -> str:
    raw = exchange.rendered.raw
    shown = raw if len(raw) <= 1500 else raw[:1500] + b"..."
    answer = exchange.answer
    body = answer.body[:300]
    log = "\n    ".join(exchange.log.splitlines()[:12])
    return (
        f"{kind.title}: {message}\n"
        f"  request ({len(raw)} bytes): {shown!r}\n"
        f"  answer: {answer.status} {answer.content_type} {body!r}\n"
        f"  log:\n    {log}"
    )
