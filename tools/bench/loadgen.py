"""An open-loop HTTP/1.1 load generator, run as its own process (``python -m tools.bench.loadgen``).

Open loop: request *i* of a step is due at ``t0 + i / rate`` whatever the answers do, and its
latency is measured from that due time, so a slow server cannot hide its slowness by slowing
the client down (no coordinated omission). Requests go out on ``connections`` keep-alive
connections, the most recently used idle one first, as client pools do. A due request that
finds every connection busy waits in a local queue (its wait counts in its latency); past
``MAX_BACKLOG`` waiting requests a due request is not sent at all and is counted as ``unsent``.

The client is deliberately minimal (pre-rendered request bytes, a ``Content-Length`` response
parser) so that on a 2-core machine it leaves the CPU to the server it measures.

Protocol: ``--pool`` names a JSON-lines file of requests (``{"headers", "body", "events"}``); the
process then reads one JSON step per stdin line (``{"rate", "duration_s", "warmup_s"}``) and
answers one JSON result line per step on stdout. EOF on stdin ends it.
"""

import argparse
import asyncio
import sys
from array import array
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic
from typing import Any

import orjson

MAX_BACKLOG = 20_000
TICK_S = 0.001
CONNECT_TIMEOUT_S = 5.0
DRAIN_AFTER_STEP_S = 2.0


@dataclass(frozen=True)
class Request:
    raw: bytes
    events: int


def render(path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-length"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def load_pool(path: Path, target_path: str, host: str) -> list[Request]:
    pool = []
    for line in path.read_bytes().splitlines():
        doc = orjson.loads(line)
        raw = render(target_path, host, doc["headers"], doc["body"].encode())
        pool.append(Request(raw, int(doc["events"])))
    return pool


@dataclass
class StepStats:
    warmup_until: float
    latencies: array = field(default_factory=lambda: array("d"))  # type: ignore[type-arg]
    service: array = field(default_factory=lambda: array("d"))  # type: ignore[type-arg]
    statuses: Counter[str] = field(default_factory=Counter)
    events_ok: int = 0
    offered: int = 0
    unsent: int = 0

    def record(self, due: float, sent: float, now: float, status: int, events: int) -> None:
        if due < self.warmup_until:
            return
        self.latencies.append(now - due)
        self.service.append(now - sent)
        self.statuses[str(status)] += 1
        if 200 <= status < 300:
            self.events_ok += events


class Connection(asyncio.Protocol):
    """One keep-alive connection carrying one request at a time."""

    def __init__(self, client: "Client") -> None:
        self.client = client
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.current: tuple[Request, float, float, StepStats] | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send(self, request: Request, due: float, stats: StepStats) -> None:
        assert self.transport is not None
        self.current = (request, due, monotonic(), stats)
        self.transport.write(request.raw)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.current is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            length = 0
            marker = head.find(b"content-length:")
            if marker >= 0:
                length = int(head[marker + 15 :].split(b"\r\n", 1)[0])
            if len(self.buffer) < end + 4 + length:
                return
            status = int(head[9:12])
            del self.buffer[: end + 4 + length]
            request, due, sent, stats = self.current
            self.current = None
            stats.record(due, sent, monotonic(), status, request.events)
            if b"connection: close" in head:
                assert self.transport is not None
                self.transport.close()
                return
            self.client.idle(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.current is not None:
            _, due, sent, stats = self.current
            stats.record(due, sent, monotonic(), 599, 0)  # no answer
            self.current = None
        if not self.closed.done():
            self.closed.set_result(None)
        self.client.lost(self)


class Client:
    def __init__(self, host: str, port: int, connections: int, pool: list[Request]) -> None:
        self.host, self.port = host, port
        self.size = connections
        self.pool = pool
        self.free: deque[Connection] = deque()
        self.backlog: deque[tuple[Request, float]] = deque()
        self.all: set[Connection] = set()
        self.stats = StepStats(0.0)
        self.next_request = 0
        self._reconnecting = 0

    async def connect(self) -> None:
        await asyncio.gather(*(self._open() for _ in range(self.size)))

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            _, conn = await loop.create_connection(lambda: Connection(self), self.host, self.port)
        self.all.add(conn)
        self.idle(conn)

    def idle(self, conn: Connection) -> None:
        if self.backlog:
            request, due = self.backlog.popleft()
            conn.send(request, due, self.stats)
        else:
            self.free.append(conn)

    def lost(self, conn: Connection) -> None:
        self.all.discard(conn)
        if conn in self.free:
            self.free.remove(conn)
        if len(self.all) + self._reconnecting < self.size:
            self._reconnecting += 1
            asyncio.get_running_loop().create_task(self._reopen())

    async def _reopen(self) -> None:
        try:
            await asyncio.sleep(0.01)
            await self._open()
        except (OSError, TimeoutError):
            pass
        finally:
            self._reconnecting -= 1

    def issue(self, due: float) -> None:
        request = self.pool[self.next_request % len(self.pool)]
        self.next_request += 1
        self.stats.offered += due >= self.stats.warmup_until
        if self.free:  # LIFO: the most recently used connection
            self.free.pop().send(request, due, self.stats)
        elif len(self.backlog) < MAX_BACKLOG:
            self.backlog.append((request, due))
        elif due >= self.stats.warmup_until:
            self.stats.unsent += 1

    async def step(self, rate: float, duration_s: float, warmup_s: float) -> dict[str, Any]:
        start = monotonic()
        self.stats = stats = StepStats(start + warmup_s)
        end = start + warmup_s + duration_s
        issued = 0
        while (now := monotonic()) < end:
            due_count = int((now - start) * rate) + 1  # request i is due at start + i / rate
            while issued < due_count:
                self.issue(start + issued / rate)
                issued += 1
            await asyncio.sleep(TICK_S)
        unsent_backlog = sum(1 for _, due in self.backlog if due >= stats.warmup_until)
        self.backlog.clear()
        await self._settle()
        in_flight = sum(
            1 for c in self.all if c.current is not None and c.current[1] >= stats.warmup_until
        )
        return summarize(stats, duration_s, unsent_backlog, in_flight)

    def busy(self) -> bool:
        return any(c.current is not None for c in self.all)

    async def _settle(self) -> None:
        deadline = monotonic() + DRAIN_AFTER_STEP_S
        while self.busy() and monotonic() < deadline:  # noqa: ASYNC110 - polls many connections
            await asyncio.sleep(0.01)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(q * len(values)))]


def summarize(stats: StepStats, duration_s: float, unsent: int, in_flight: int) -> dict[str, Any]:
    latencies = sorted(stats.latencies)
    service = sorted(stats.service)
    ok = sum(n for s, n in stats.statuses.items() if s.startswith("2"))
    return {
        "duration_s": duration_s,
        "offered": stats.offered,
        "completed": len(latencies),
        "ok": ok,
        "events_ok": stats.events_ok,
        "statuses": dict(stats.statuses),
        "unsent": stats.unsent + unsent,
        "incomplete": in_flight,
        "latency_ms": {
            "p50": percentile(latencies, 0.50) * 1000,
            "p90": percentile(latencies, 0.90) * 1000,
            "p99": percentile(latencies, 0.99) * 1000,
            "max": (latencies[-1] if latencies else 0.0) * 1000,
        },
        "service_ms": {
            "p50": percentile(service, 0.50) * 1000,
            "p99": percentile(service, 0.99) * 1000,
            "max": (service[-1] if service else 0.0) * 1000,
        },
    }


async def serve_steps(client: Client) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print(orjson.dumps({"ready": True}).decode(), flush=True)
    while line := await reader.readline():
        step = orjson.loads(line)
        result = await client.step(step["rate"], step["duration_s"], step["warmup_s"])
        print(orjson.dumps(result).decode(), flush=True)


async def main_async(args: argparse.Namespace) -> None:
    host = f"{args.host}:{args.port}"
    client = Client(args.host, args.port, args.connections, load_pool(args.pool, args.path, host))
    await client.connect()
    try:
        await serve_steps(client)
    finally:
        for conn in list(client.all):
            if conn.transport is not None:
                conn.transport.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="loadgen", description=__doc__)
    parser.add_argument("--pool", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--connections", type=int, default=64)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
