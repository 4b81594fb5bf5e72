"""``make chaos``: every fault scenario of issue 6 under simulator load, one table.

    simulator ──► ingress (process) ──► Kafka ──► workers (processes)
        │  ack file: every event answered 2xx          │
        └──────────── verify.py: acks vs topics ◄──────┘   effects.py: workers vs a clean run

Each scenario (``scenarios/``) starts what it needs, injects one fault under load, lets the
simulator drain its retries and returns a ``ScenarioResult`` (``report.py``): events sent,
acknowledged, found on Kafka, lost, duplicates on the topic, duplicate effects after the
consumers' dedup, time to recover, and the problems found. ``run.py`` runs them in order;
``__main__.py`` prints the table, writes ``var/chaos/chaos.json`` and exits 1 on any problem.
The tests in ``tests/reliability/`` call the same scenarios with ``SHORT`` settings.

``scenarios/balancer/`` is the family behind a real load balancer: HAProxy (``haproxy.py``,
with the shipped ``deploy/haproxy/haproxy.cfg``) in front of three replicas, both workers
consuming (``downstream.py``); ``doc_table.py`` puts its measured rows on the deploying page.
"""
