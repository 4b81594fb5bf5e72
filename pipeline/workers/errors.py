"""Errors raised by the workers.

PipelineError (pipeline.errors)        ``retriable`` says whether trying again may succeed
├── ConfigError                        a setting, rule or model file cannot be used (exit 2)
│   └── RuleError                      an alert rule is invalid; names the rule and the key
└── WorkerError                        root of the workers' own errors
    ├── SinkError                      an alert or score could not be delivered now (retriable)
    │   └── WebhookError               the webhook answered 429/5xx or did not answer
    └── PartitioningError              lead-scores is not co-partitioned with lead-activity

Marketo's errors are the shared client's (``pipeline.marketo.errors``); ``DELIVERY_ERRORS`` are
the failures a sink retries and, when they last, counts as failed deliveries.
"""

from pipeline.errors import ConfigError, PipelineError
from pipeline.marketo.errors import MarketoError


class RuleError(ConfigError):
    """An alert rule is invalid; the message names the rule, the key and the value."""


class WorkerError(PipelineError):
    pass


class SinkError(WorkerError):
    retriable = True
    retry_after_s: float | None = None  # when the other side said how long to wait


class WebhookError(SinkError):
    pass


DELIVERY_ERRORS = (SinkError, MarketoError)


class PartitioningError(WorkerError):
    """Scores restore from the lead-scores partition with the lead-activity partition's number,
    so both topics need the same partition count."""
