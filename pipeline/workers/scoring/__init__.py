"""The scoring worker: lead activities → a score per lead → ``<prefix>.lead-scores``.

* ``models``   pure lead-scoring models (decayed weights, logistic regression)
* ``handler``  ``ScoringHandler``: the consume loop's handler; lead-scores is its changelog
"""
