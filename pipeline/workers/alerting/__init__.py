"""The alerting worker: records → rule engines → ``<prefix>.alerts`` → sinks.

* ``rules``    the rule file format, parsed into frozen values
* ``engine``   rules evaluated per partition: pure state machines returning ``Alert`` values
* ``handler``  ``AlertingHandler``: the consume loop's handler, exactly-once alerts
* ``sinks``    the log, as alerts fire
* ``effects``  the effects role's side: an alert record → a signed webhook, a Marketo list add
"""
