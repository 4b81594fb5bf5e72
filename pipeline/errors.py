"""Errors raised by the pipeline package.

PipelineError                      root; ``retriable`` says whether trying again may succeed
├── ConfigError                    a configuration key has a value we cannot use
├── UnknownTopic                   a topic that must exist does not
└── PublishError                   records were not acknowledged by Kafka
    ├── KafkaUnavailable           no producer connected (broker down, still connecting, stopping)
    └── PublishTimeout             Kafka did not acknowledge within the publish deadline
"""


class PipelineError(Exception):
    retriable = False


class ConfigError(PipelineError):
    """A configuration key has a value we cannot use; the message names key and value."""


class UnknownTopic(PipelineError):
    """A topic that must exist does not; the message names the topic and the bootstrap."""


class PublishError(PipelineError):
    retriable = True


class KafkaUnavailable(PublishError):
    pass


class PublishTimeout(PublishError):
    pass
