"""Marketo's REST API, shared by every process that calls it (the workers' effects, the backfill):
one client per instance (``client.py``), one limiter per instance that keeps this process within
its share of the instance's rate, concurrency and daily quota (``limiter.py``), the instance's
settings (``settings.py``) and the errors (``errors.py``)."""
