"""Secrets in the configuration: never shown, and never required to sit in the file itself.

A secret value in the config may be written as
  ``env:NAME``          the value of environment variable NAME (read at startup)
  ``file:/path``        the contents of a file (trailing newline stripped), e.g. a mounted Secret
  ``sha256:<64 hex>``   only for API tokens: the token's SHA-256, so the config never holds it
  anything else         the literal value
"""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import ConfigError

_SHA256 = re.compile(r"^sha256:([0-9a-fA-F]{64})$")
MIN_TOKEN_CHARS = 16


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


@dataclass(frozen=True)
class ApiToken:
    """A static token, kept only as its SHA-256 digest."""

    digest: bytes = field(repr=False)

    @classmethod
    def from_plain(cls, token: str) -> "ApiToken":
        return cls(hashlib.sha256(token.encode("utf-8")).digest())


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


def api_token(ref: str, where: str, env: Mapping[str, str]) -> ApiToken:
    hashed = _SHA256.match(ref)
    if hashed:
        return ApiToken(bytes.fromhex(hashed.group(1)))
    token = resolve(ref, where, env).reveal()
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(
            f"Config '{where}': api tokens must be at least {MIN_TOKEN_CHARS} characters."
        )
    return ApiToken.from_plain(token)
