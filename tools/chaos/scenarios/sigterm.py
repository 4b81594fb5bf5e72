"""SIGTERM under load: in-flight deliveries finish, the producer flushes, exit 0 within the drain
deadline, no 2xx for an event not on Kafka; then the ingress is started again and the simulator
re-sends what was refused meanwhile. Recovered: the first 2xx to a delivery sent after SIGTERM.
"""

import time

from tools.chaos.report import ScenarioResult, result
from tools.chaos.scenarios.common import (
    Context,
    load_details,
    load_problems,
    sent,
    since,
    start_rig,
)
from tools.process import Child

NAME = "ingress SIGTERM"
FLUSH_SLACK_S = 5.0  # the producer's final flush and the interpreter's exit, after the drain
HANG_S = 30.0  # past the deadline by this much, the process is taken to hang and is killed


async def _exit_status(child: Child, timeout_s: float) -> int | None:
    """The exit status after SIGTERM; None if it hung (it is then killed)."""
    try:
        return await child.wait(timeout_s)
    except TimeoutError:
        child.kill()
        await child.wait()
        return None


async def run(ctx: Context) -> ScenarioResult:
    s = ctx.settings
    rig = await start_rig(ctx, "ingress-sigterm", ctx.bootstrap)
    deadline_s = s.drain_timeout_s + FLUSH_SLACK_S
    try:
        await rig.load.until(s.fault_at_s)
        mid_delivery = await rig.load.wait_in_flight()
        signalled_at = time.monotonic()
        child = rig.ingress.running()
        child.terminate()
        code = await _exit_status(child, deadline_s + HANG_S)
        exit_s = since(signalled_at)
        await rig.ingress.start()
        simulation = await rig.load.finish()
    finally:
        await rig.close()
    tally, _ = await rig.verify()
    problems = load_problems(simulation)
    if code != 0:
        problems.append(f"exit status {code} after SIGTERM (see {rig.ingress.log})")
    if exit_s > deadline_s:
        problems.append(f"exited {exit_s:.1f} s after SIGTERM; the deadline is {deadline_s:g} s")
    if "ingress stopped" not in rig.ingress.log.read_text("utf-8", "replace"):
        problems.append("no shutdown summary line in the log")
    if not mid_delivery:
        problems.append("no delivery was in flight at SIGTERM")
    details = {
        **load_details(simulation),
        "exit_code": code,
        "exit_s": exit_s,
        # sent before SIGTERM and never answered: not accepted before the listener closed
        "unanswered_at_sigterm": rig.load.cut(signalled_at),
        "answers_while_draining": dict(rig.load.statuses(signalled_at, signalled_at + exit_s)),
    }
    return result(
        NAME,
        sent(simulation),
        tally,
        rig.load.first_ok_after(signalled_at),
        "SIGTERM -> first 2xx to a delivery sent after it (drain and restart included)",
        problems,
        details,
        rig.load.errors(),
    )
