"""How a long-running process runs: garbage-collector tuning and the signals that stop it, applied
by the entrypoints (`datastreams ingress|worker`), never at import time."""

import asyncio
import gc
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

GC_THRESHOLDS = (50_000, 20, 20)


def tune_gc() -> None:
    """Fewer cyclic garbage collections, for processes that allocate per event.

    A direct push of 500 activities decodes into some 10,000 containers; a worker allocates a few
    per record. With CPython's default thresholds (700, 10, 10) a collection runs every few
    hundred of them and the older generations walk every live delivery or lead state: under load
    the ingress spent more time there than in parsing. These objects are freed by reference
    counting anyway; cycles are rare. Objects alive at start are frozen out of collections.
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def serve_until_signalled(serve: Callable[[Awaitable[object]], Awaitable[T]]) -> T:
    """Run ``serve(shutdown)`` in a new event loop; ``shutdown`` completes at the first SIGTERM
    or SIGINT, and ``serve`` drains and returns (shutdown is an argument, so tests pass their
    own)."""

    async def main() -> T:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        tune_gc()
        return await serve(stop.wait())

    return asyncio.run(main())
