"""The ingress' secrets: ``Secret`` and ``resolve`` (``env:NAME``, ``file:/path``, a literal) from
``pipeline/secrets.py``, plus API tokens, which may also be written ``sha256:<64 hex>`` (the
token's SHA-256, so the config never holds it)."""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from pipeline.errors import ConfigError
from pipeline.secrets import Secret, resolve

__all__ = ["MIN_TOKEN_CHARS", "ApiToken", "Secret", "api_token", "resolve"]

_SHA256 = re.compile(r"^sha256:([0-9a-fA-F]{64})$")
MIN_TOKEN_CHARS = 16


@dataclass(frozen=True)
class ApiToken:
    """A static token, kept only as its SHA-256 digest."""

    digest: bytes = field(repr=False)

    @classmethod
    def from_plain(cls, token: str) -> "ApiToken":
        return cls(hashlib.sha256(token.encode("utf-8")).digest())


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
