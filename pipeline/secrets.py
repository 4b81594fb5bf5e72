"""Secrets in the configuration of every process (ingress and workers): never shown, and never
required to sit in the file itself.

A secret value in the config may be written as
  ``env:NAME``          the value of environment variable NAME (read at startup)
  ``file:/path``        the contents of a file (trailing newline stripped), e.g. a mounted Secret
  anything else         the literal value
The ingress adds ``sha256:<64 hex>`` for API tokens (``ingest/secrets.py``).
"""

from collections.abc import Mapping
from pathlib import Path

from pipeline.errors import ConfigError


class Secret:
    """A string that never shows itself in repr, str or logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def resolve(ref: str, where: str, env: Mapping[str, str]) -> Secret:
    """The secret a config value refers to; errors name the key, never the value."""
    if ref.startswith("env:"):
        name = ref[4:]
        if name not in env:
            raise ConfigError(f"Config '{where}' refers to environment variable {name}, unset.")
        return Secret(env[name])
    if ref.startswith("file:"):
        try:
            return Secret(Path(ref[5:]).read_text("utf-8").rstrip("\r\n"))
        except OSError as exc:
            raise ConfigError(
                f"Config '{where}' refers to file {ref[5:]!r}: {exc.strerror}"
            ) from exc
    return Secret(ref)
