"""Errors of the recovery commands' upstreams (the Marketo REST API has its own,
``pipeline.marketo.errors``).

PipelineError (pipeline.errors)     ``retriable``
└── UpstreamError                   the journal or Adobe IMS failed
    ├── UpstreamUnavailable         429, 5xx, no answer: retriable (``retry_after_s`` if known)
    └── UpstreamRefused             refused for good (credentials, a bad request): not retriable
"""

from pipeline.errors import PipelineError


class UpstreamError(PipelineError):
    retriable = True

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class UpstreamUnavailable(UpstreamError):
    pass


class UpstreamRefused(UpstreamError):
    retriable = False
