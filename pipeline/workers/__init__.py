"""The workers: each runs the one consume loop with a handler from its wing.

* ``alerting/``, ``scoring/``  the wings: handler, sinks, config table, the effects they decide
                               (``effects.py``) and ``worker.py``, the ``WorkerSpec`` the
                               service runs
* ``effects/``                 the effects role every process runs beside its worker: effects
                               driven from Kafka, at least once, with idempotency keys
* ``registry``                 kind → spec; the one module that names the wings
* ``service``                  one worker process, from its spec: start, ready, drain, stop
* ``spec``, ``settings``, ``metrics``, ``errors``, ``sinks``, ``files``, ``history``,
  ``command``: shared

Dependency rule: a wing imports ``pipeline.consume.record`` and ``pipeline.consume.handler`` and
the shared modules, never the other wing.
"""
