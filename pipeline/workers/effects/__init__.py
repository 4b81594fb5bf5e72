"""Effects: what the workers do outside Kafka, driven from the records that decided it.

Each worker process runs a second consume loop, its *effects role*, in a consumer group of its
own (``<group_id>-effects``). It reads the records its worker decided on (alerts; emitted scores
and score crossings), turns each into effects (a signed webhook, Marketo list, campaign, program
and field calls) and commits only once each effect succeeded or, out of retries, was written to
the sink dead-letter topic. A crash at any step repeats the uncommitted effects: at least once,
each with an idempotency key the receiver can use.

* ``effect``   ``Effect`` (one thing to do, its sink and idempotency key), sink dead letters
* ``handler``  ``EffectsHandler``: the effects role's handler for the one consume loop
* ``ledger``   delivered keys of effects that are not idempotent by nature (campaign requests)
* ``webhook``  the signed webhook sink (Standard Webhooks)
* ``marketo``  the Marketo sink: list, campaign, program and field calls, batched per instance
* ``redrive``  ``datastreams redrive-effects``: deliver the sink dead letters again
"""
