"""What the tests share, in one place: ``kafka`` (the session's broker, a plugin) and
``ingress`` (running ingresses and their signer, a plugin), both registered by the root
conftest; ``payloads`` (deliveries of every stream), ``idp`` (an OAuth identity provider),
``certs`` (a test CA) and ``receiver`` (a scriptable upstream receiver for the simulator).

The worker tests keep their own helpers beside them (tests/pipeline/workers).
"""
