"""Consuming: the one loop every worker runs, and what a worker plugs into it.

* ``record``     ``Record`` (one Kafka record, headers read, value decoded on demand), decoders
* ``handler``    ``Handler``, the protocol a worker implements; ``Reader``, what it may re-read
* ``loop``       ``ConsumeLoop``: fetch, handle, dead-letter, flush, commit; start and drain
* ``rebalance``  ``Membership``: the partitions owned, handed over and restored on a rebalance
* ``reader``     ``PartitionReader``: ranges of partitions read outside the group
* ``settings``, ``metrics``, ``errors``

Workers import ``record`` and ``handler`` only; the service builds the loop.

Delivery semantics: offsets are committed only after everything before them was handled and
flushed, so every record is handled at least once (aiokafka's manual commit after processing).
Records of one partition are handled in offset order by one member of the group; several
replicas share the partitions. Handlers get exactly-once *effects* by skipping ids the partition
has seen (``pipeline/dedup.py``) and by restoring their own state when a partition arrives.
"""
