"""Errors raised by the workers.

PipelineError (pipeline.errors)        ``retriable`` says whether trying again may succeed
├── ConfigError                        a setting, rule or model file cannot be used (exit 2)
│   └── RuleError                      an alert rule is invalid; names the rule and the key
└── WorkerError                        root of the workers' own errors
    ├── SinkError                      an alert or score could not be delivered now (retriable)
    │   ├── WebhookError               the webhook answered 429/5xx or did not answer
    │   └── MarketoError               Marketo's REST API failed or is busy (601/602/606/615…)
    │       └── MarketoRejected        Marketo refused the call for good (not retriable)
    └── PartitioningError              lead-scores is not co-partitioned with lead-activity
"""

from pipeline.errors import ConfigError, PipelineError


class RuleError(ConfigError):
    """An alert rule is invalid; the message names the rule, the key and the value."""


class WorkerError(PipelineError):
    pass


class SinkError(WorkerError):
    retriable = True
    retry_after_s: float | None = None  # when the other side said how long to wait


class WebhookError(SinkError):
    pass


class MarketoError(SinkError):
    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class MarketoRejected(MarketoError):
    retriable = False


class PartitioningError(WorkerError):
    """Scores restore from the lead-scores partition with the lead-activity partition's number,
    so both topics need the same partition count."""
