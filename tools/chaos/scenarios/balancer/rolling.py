"""Rolling restart behind HAProxy: each replica in turn gets SIGTERM, as a rollout does. Its
/readyz turns 503, the balancer takes it out within the readiness grace (so before the listener
closes), in-flight deliveries finish, it exits 0, is started again, and the next replica goes
only once the balancer has this one back up.

What must hold: the upstreams see nothing but 2xx or a 503 they retry (no 502, 504, reset or
timeout), and nothing is lost. Recovered: the first SIGTERM -> every replica back in the
balancer (the length of the rollout).
"""

import time
from dataclasses import asdict, dataclass

from tools.chaos.haproxy import SERVERS
from tools.chaos.report import ScenarioResult, result
from tools.chaos.scenarios.balancer.fleet import MARK_TIMEOUT_S, REPLICAS, Fleet, start_fleet
from tools.chaos.scenarios.common import Context, sent, since

NAME = "LB rolling restart"
ALLOWED = {"503"}  # besides 2xx: a refusal both upstreams retry
EXIT_SLACK_S = 10.0  # the producer's flush and the interpreter's exit, after grace and drain


@dataclass(frozen=True)
class Step:
    """One replica's restart, in seconds from its SIGTERM."""

    server: str
    marked_down_s: float | None  # the balancer stopped routing to it
    exit_code: int | None  # None: it hung and was killed
    exited_s: float
    ready_s: float  # its own /readyz said 200 again
    back_up_s: float | None  # the balancer routes to it again


async def _restart(fleet: Fleet, n: int, grace_s: float, drain_s: float) -> Step:
    server, replica = SERVERS[n], fleet.replicas[n]
    child = replica.running()
    signalled = time.monotonic()
    child.terminate()
    down = await fleet.balancer.wait_state([server], "DOWN", signalled, MARK_TIMEOUT_S)
    try:
        code: int | None = await child.wait(grace_s + drain_s + EXIT_SLACK_S)
    except TimeoutError:
        child.kill()
        await child.wait()
        code = None
    exited = since(signalled)
    await replica.start()
    ready = since(signalled)
    up = await fleet.balancer.wait_state([server], "UP", signalled, MARK_TIMEOUT_S)
    return Step(server, down, code, exited, ready, up)


def _problems(steps: list[Step], grace_s: float) -> list[str]:
    problems = []
    for step in steps:
        if step.marked_down_s is None or step.marked_down_s >= grace_s:
            problems.append(
                f"{step.server}: the balancer took {step.marked_down_s} s to take it out; "
                f"its listener closed after {grace_s:g} s"
            )
        if step.exit_code != 0:
            problems.append(f"{step.server}: exit status {step.exit_code} after SIGTERM")
        if step.back_up_s is None:
            problems.append(f"{step.server}: not back in the balancer within {MARK_TIMEOUT_S} s")
    return problems


async def run(ctx: Context) -> ScenarioResult:
    s = ctx.settings
    fleet = await start_fleet(ctx, "lb-rolling", ctx.bootstrap, load_s=s.lb_rolling_load_s)
    try:
        await fleet.load.until(s.fault_at_s)
        first_sigterm = time.monotonic()
        steps = [await _restart(fleet, n, s.lb_grace_s, s.drain_timeout_s) for n in range(REPLICAS)]
        rollout_s = since(first_sigterm)
        load_left_s = round(fleet.load.started_at + s.lb_rolling_load_s - time.monotonic(), 1)
        done = await fleet.finish()
    finally:
        await fleet.close()
    tally, problems, details = await fleet.verify(done)
    problems += _problems(steps, s.lb_grace_s)
    errors = fleet.load.errors()
    odd = {k: v for k, v in errors.items() if k not in ALLOWED}
    if odd:
        problems.append(f"the upstreams saw more than 2xx and retried 503s: {odd}")
    if load_left_s <= 0:
        problems.append(f"the rollout outlasted the load by {-load_left_s} s")
    details |= {
        "rollout_s": rollout_s,
        "steps": [asdict(step) for step in steps],
        "load_left_after_rollout_s": load_left_s,
    }
    return result(
        NAME,
        sent(done.simulation),
        tally,
        rollout_s if all(step.back_up_s is not None for step in steps) else None,
        "first SIGTERM -> every replica back in the balancer (the whole rollout)",
        problems,
        details,
        errors,
    )
