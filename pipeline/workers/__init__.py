"""The workers: each runs the one consume loop with a handler from its wing.

* ``alerting/``, ``scoring/``  the wings: handler, sinks, config table and ``worker.py``, the
                               ``WorkerSpec`` the service runs
* ``registry``                 kind → spec; the one module that names the wings
* ``service``                  one worker process, from its spec: start, ready, drain, stop
* ``spec``, ``settings``, ``metrics``, ``errors``, ``marketo``, ``sinks``, ``files``: shared

Dependency rule: a wing imports ``pipeline.consume.record`` and ``pipeline.consume.handler`` and
the shared modules, never the other wing.
"""
