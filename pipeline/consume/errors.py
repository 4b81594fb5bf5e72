"""Errors raised while consuming.

PipelineError (pipeline.errors)    ``retriable`` says whether trying again may succeed
├── Undecodable                    a record the worker cannot read: dead-lettered with ``reason``
└── RestoreFailed                  state for new partitions could not be rebuilt: the worker stops
"""

from pipeline.errors import PipelineError


class Undecodable(PipelineError):
    """A record the worker cannot read; it goes to the dead-letter topic with ``reason``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class RestoreFailed(PipelineError):
    """State for newly assigned partitions could not be rebuilt; the worker must restart."""
