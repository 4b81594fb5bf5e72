"""How a long-running process runs: garbage-collector tuning and the signals that stop it, applied
by the entrypoints (`datastreams ingress|worker`), never at import time."""

import asyncio
import gc
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

GC_THRESHOLDS = (50_000, 20, 20)
# collect_between_batches: a young collection once this share of the threshold is allocated
YOUNG_SHARE = 8


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


def collect_between_batches() -> None:
    """A young-generation collection now, while only what the last batch left behind is young,
    if one is due soon; CPython's own choice of the oldest generation due otherwise.

    A consume loop calls this after it has handled a batch and let go of its records. Left to
    itself, the collector runs when allocations cross the threshold, which for a worker is in the
    middle of the next batch: each collection then walks every record of that batch (some tens of
    thousands of objects) to find nothing, since records are freed by reference counting. Here it
    walks only the survivors (new lead states, pending outputs), and the next batch starts with
    a count of zero, far from the threshold."""
    count, threshold = gc.get_count(), gc.get_threshold()
    # a threshold of 0 turns automatic collection off, as gc.disable() does
    if not gc.isenabled() or threshold[0] == 0 or count[0] < threshold[0] // YOUNG_SHARE:
        return
    # CPython's choice when allocations cross the threshold: the oldest generation whose count
    # (of collections of the one below) is past its threshold. Its further rule, deferring a full
    # collection until a quarter of the old objects are new, is not visible from Python; without
    # it full collections come about every 400 young ones, and lead states are untracked.
    generation = max((g for g in (1, 2) if count[g] > threshold[g]), default=0)
    gc.collect(generation)


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
