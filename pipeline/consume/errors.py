"""Errors raised while consuming.

PipelineError (pipeline.errors)    ``retriable`` says whether trying again may succeed
├── UnusableInput (pipeline.errors) a record the worker cannot read: dead-lettered with ``reason``
└── RestoreFailed                  state for new partitions could not be rebuilt: the worker stops
"""

from pipeline.errors import PipelineError


class RestoreFailed(PipelineError):
    """State for newly assigned partitions could not be rebuilt; the worker must restart."""
