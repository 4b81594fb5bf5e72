"""Recovering what the push paths lost: the Adobe I/O journal (``datastreams journal``), the
Marketo REST backfill (``datastreams backfill marketo``), and where the gaps are
(``datastreams gaps``).

Each reads an upstream, puts what it reads through the same intake and tenant gate as the
webhooks (``ingest.intake``), publishes to the same topics with the same keys and ids, and keeps
its cursor in the compacted topic ``<prefix>.recovery-cursors``, advanced only after Kafka
acknowledged the events it covers. Events already on the topics are skipped, so overlaps cost
nothing downstream.
"""
