"""Process-wide runtime tuning, applied by the entrypoints (`datastreams ingress|worker`), never
at import time."""

import gc

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
