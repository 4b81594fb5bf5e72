"""The HTTP edge: bytes in → envelopes acknowledged by Kafka.

request → authenticate (auth.py, signature.py) → parse (parse.py) → normalize (normalize.py,
streams/) → publish (pipeline.publish) → respond (handlers.py).
"""
