"""The scoring worker: lead activities → a score per lead → ``<prefix>.lead-scores``.

* ``models``   pure lead-scoring models (decayed weights, logistic regression)
* ``handler``  ``ScoringHandler``: the consume loop's handler; lead-scores is its changelog
* ``state``    the leads held per partition, and those with changes not yet on Kafka
* ``records``  the score and crossing records it writes
* ``crossings`` score thresholds with hysteresis, per tenant; their actions
* ``effects``  the effects role's side: emitted scores and crossings → Marketo calls
"""
