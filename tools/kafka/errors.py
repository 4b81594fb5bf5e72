"""The one error of the local broker tools."""


class BrokerError(RuntimeError):
    """The broker (or its jars) could not be fetched, started or stopped."""
