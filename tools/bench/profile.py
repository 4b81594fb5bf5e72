"""Where the ingress spends its CPU: py-spy attached to the running process during a step.

``py-spy record --format raw`` writes collapsed stacks (``frame;frame;... count``); ``hot_spots``
turns them into the functions with the most samples on top of the stack (self) and anywhere in
it (inclusive), which is what the report lists.
"""

import asyncio
import re
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

# Frames every sample shares (the event loop, the entrypoint): left out of the inclusive list.
GENERIC = ("asyncio/", "<frozen", "ingest/cli.py", "ingest/__main__.py", "selectors.py")
FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")


class ProfileFailed(RuntimeError):
    pass


def py_spy() -> str:
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.is_file() else shutil.which("py-spy")
    if found is None:
        raise ProfileFailed("py-spy is not installed (pip install py-spy)")
    return found


def start(pid: int, duration_s: float, out: Path) -> "asyncio.Future[asyncio.subprocess.Process]":
    argv = [
        py_spy(), "record", "--pid", str(pid), "--duration", str(max(1, round(duration_s))),
        "--rate", "200", "--nonblocking", "--format", "raw", "--output", str(out),
    ]  # fmt: skip
    return asyncio.ensure_future(
        asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
    )


def _name(frame: str) -> str:
    m = FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    file = m["file"]
    for marker in ("site-packages/", "/work/main/", "python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{m['func']} ({file})"


def hot_spots(raw: str, top: int = 15) -> dict[str, Any]:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_name(f) for f in stack.split(";") if f.strip()]
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for name in set(frames):
            if not any(marker in name for marker in GENERIC):
                inclusive[name] += n
    return {
        "samples": total,
        "self": _shares(own, total, top),
        "inclusive": _shares(inclusive, total, top),
    }


def _shares(counts: Counter[str], total: int, top: int) -> list[dict[str, Any]]:
    return [
        {"function": f, "percent": round(100 * n / total, 1) if total else 0.0}
        for f, n in counts.most_common(top)
    ]


def missed_goal_profiles(
    ratios: dict[str, Any], profiles: dict[str, Any], top: int = 8
) -> list[tuple[str, str]]:
    """For each shape whose goal is missed: (the shape and its ratio, where its time goes), the
    functions with the most self time in its profile, or why there is no profile."""
    out = []
    for shape, goal in ratios.items():
        if goal.get("met"):
            continue
        ratio = goal.get("ratio")
        head = f"{shape} ({'-' if ratio is None else format(ratio, '.2f')} x {goal.get('peer')}"
        head += f", goal ≥ {goal.get('goal')})"
        found = profiles.get(shape)
        if not found:
            out.append((head, "not profiled (run with --profile)"))
        elif "error" in found:
            out.append((head, f"no profile: {found['error']}"))
        else:
            spots = ", ".join(
                f"{s['function']} {s['percent']:.1f} %" for s in found.get("self", [])[:top]
            )
            rate = found.get("rate_per_s") or 0
            out.append((head, f"py-spy self time at {rate:,.0f}/s: {spots}"))
    return out
