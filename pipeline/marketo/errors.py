"""Errors of Marketo's REST API.

PipelineError (pipeline.errors)   ``retriable``; ``retry_after_s`` when the wait is known
└── MarketoError                  the API failed or is busy (604/606/608/611/615/713, 429, 5xx)
    ├── QuotaExhausted            this process' share of the daily quota is used up (or 607):
    │                             retriable after the quota resets at 00:00 US Central
    └── MarketoRejected           Marketo refused the call for good (not retriable)
"""

from pipeline.errors import PipelineError


class MarketoError(PipelineError):
    retriable = True

    def __init__(self, message: str, code: str = "", retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after_s = retry_after_s


class QuotaExhausted(MarketoError):
    pass


class MarketoRejected(MarketoError):
    retriable = False
