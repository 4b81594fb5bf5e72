"""Errors raised by the pipeline package.

PipelineError                      root; ``retriable`` says whether trying again may succeed
├── ConfigError                    a configuration key has a value we cannot use
├── UnusableInput                  input we cannot use: kept as a dead letter with ``reason``
├── UnknownTopic                   a topic that must exist does not
└── PublishError                   records were not acknowledged by Kafka
    ├── KafkaUnavailable           no producer connected (broker down, still connecting, stopping)
    └── PublishTimeout             Kafka did not acknowledge within the publish deadline
"""


class PipelineError(Exception):
    retriable = False


class ConfigError(PipelineError):
    """A configuration key has a value we cannot use; the message names key and value."""


class UnusableInput(PipelineError):
    """Input we cannot use (an upstream event the ingress cannot normalize, a record a worker
    cannot read). Never lost and never an HTTP answer: it goes to the dead-letter topic with
    ``reason`` (a short code) and ``detail``, and the rest goes on."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class UnknownTopic(PipelineError):
    """A topic that must exist does not; the message names the topic and the bootstrap."""


class PublishError(PipelineError):
    retriable = True


class KafkaUnavailable(PublishError):
    pass


class PublishTimeout(PublishError):
    pass
