"""Everything that speaks Kafka: the envelope, the topics, publishing (and, later, consuming).

Dependency rule: ``pipeline`` never imports ``ingest``. ``envelope.py`` and ``topics.py`` are the
only contract between the ingress and the consumers.
"""
