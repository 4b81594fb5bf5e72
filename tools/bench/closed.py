"""Closed-loop load with ``wrk``: a fixed number of connections, each sending its next request as
soon as the previous one is answered, for a fixed time.

This is the measurement the headline ratios come from. What a system is charged is the CPU time
(user + system) of its own processes over the run (``targets.sample``), so the figures are
events and requests per CPU-second: robust to a shared machine whose other tenants slow every
process down, which a wall-clock rate is not. wrk is compiled C with LuaJIT; its own CPU is
reported beside, to show the load generator is not what limits the run.

``wrk`` is Debian's package (``make bench-tools`` installs it). The requests are the pool's,
rendered once into the Lua script (``wrk.format``), and sent round-robin.
"""

import asyncio
import json
import resource
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tools.bench.ramp import settle
from tools.bench.targets import Target, TargetFailed, sample
from tools.bench.workload import Shape

WRK_TIMEOUT_S = 10

SCRIPT_TAIL = """
local reqs, i, threads = {}, 0, {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  ok = 0; bad = 0
  -- a header table replaces wrk's defaults, Host included, so it is added here
  for _, spec in ipairs(specs) do
    spec[1]["Host"] = wrk.host .. ":" .. wrk.port
    reqs[#reqs + 1] = wrk.format("POST", path, spec[1], spec[2])
  end
end
function request() i = i % #reqs + 1; return reqs[i] end
function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local good, failed = 0, 0
  for _, t in ipairs(threads) do good = good + t:get("ok"); failed = failed + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    '{"duration_us":%d,"ok":%d,"bad":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\\n',
    summary.duration, good, failed, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


class WrkMissing(TargetFailed):
    pass


def _long_string(text: str) -> str:
    """A Lua long string holding ``text`` exactly (no escapes are read inside one)."""
    level = 0
    while (text + f"]{'=' * level}]").find(f"]{'=' * level}]") != len(text):
        level += 1  # the first closing bracket must be the one after the text
    eq = "=" * level
    # a newline right after the opening bracket would be dropped: bodies start with { or [
    return f"[{eq}[{text}]{eq}]"


def wrk_script(pool: Path, path: str) -> str:
    """The Lua script sending the pool's requests to ``path`` round-robin."""
    lines = [f"local path = {_long_string(path)}", "local specs = {}"]
    for raw in pool.read_bytes().splitlines():
        doc = orjson.loads(raw)
        headers = ", ".join(
            f"[ {_long_string(k)} ] = {_long_string(v)}"
            for k, v in doc["headers"].items()
            if k.lower() not in ("content-length", "host")
        )
        body = _long_string(doc["body"])
        lines.append(f"specs[#specs + 1] = {{{{{headers}}}, {body}}}")
    return "\n".join(lines) + SCRIPT_TAIL


@dataclass
class ClosedRun:
    target: str
    shape: Shape
    connections: int
    result: dict[str, Any]
    cpu_s: float  # the target's processes over the run
    generator_cpu_s: float  # wrk's

    @property
    def seconds(self) -> float:
        return float(self.result["duration_us"]) / 1e6

    @property
    def requests_ok(self) -> int:
        return int(self.result["ok"])

    @property
    def events_ok(self) -> int:
        return self.requests_ok * self.shape.events

    def row(self) -> dict[str, Any]:
        cpu = max(self.cpu_s, 1e-9)
        failed = int(self.result["bad"]) + int(self.result["socket_errors"])
        return {
            "target": self.target,
            "shape": self.shape.name,
            "connections": self.connections,
            "seconds": round(self.seconds, 2),
            "requests_ok": self.requests_ok,
            "failed": failed,
            "events_per_s": round(self.events_ok / self.seconds, 1),
            "requests_per_s": round(self.requests_ok / self.seconds, 1),
            "cpu_s": round(self.cpu_s, 3),
            "cpu_percent": round(100 * self.cpu_s / self.seconds, 1),
            "events_per_cpu_s": round(self.events_ok / cpu, 1),
            "requests_per_cpu_s": round(self.requests_ok / cpu, 1),
            "generator_cpu_percent": round(100 * self.generator_cpu_s / self.seconds, 1),
            "p50_ms": round(int(self.result["p50_us"]) / 1000, 2),
            "p99_ms": round(int(self.result["p99_us"]) / 1000, 2),
        }


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def _wrk(script: Path, url: str, connections: int, seconds: float) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise WrkMissing("wrk is not installed: `make bench-tools` installs Debian's package")
    argv = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    argv += [f"--timeout={WRK_TIMEOUT_S}s", "-s", str(script), url]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    text = out.decode("utf-8", "replace")
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            doc: dict[str, Any] = json.loads(line)
            return doc
    raise TargetFailed(f"wrk printed no result (exit {proc.returncode}):\n{text[-2000:]}")


async def closed_loop(
    pool: Path,
    target: Target,
    shape: Shape,
    out_dir: Path,
    *,
    connections: int,
    seconds: float,
    warmup_s: float,
) -> ClosedRun:
    """A warm-up run, then the measured one; the target's CPU and wrk's over the measured run."""
    script = out_dir / f"wrk-{target.name}-{shape.name}.lua"
    script.write_text(wrk_script(pool, target.path(shape.name)), "utf-8")
    url = f"http://127.0.0.1:{target.port}"
    if warmup_s > 0:
        await _wrk(script, url, connections, warmup_s)
        # wrk stops with a request in flight on every connection: the target works them off
        # first, else the measured run starts at twice the connections (and sheds what its
        # in-flight budget does not admit) and its CPU includes the warm-up's tail
        await settle(target)
    first, generator_first = sample(target.pid), _children_cpu_s()
    result = await _wrk(script, url, connections, seconds)
    last, generator_last = sample(target.pid), _children_cpu_s()
    return ClosedRun(
        target.name,
        shape,
        connections,
        result,
        last.cpu_s - first.cpu_s,
        generator_last - generator_first,
    )
