"""API tokens of the direct push: besides the forms every secret takes (``pipeline.config``:
``env:NAME``, ``file:/path``, a literal), a token may be written ``sha256:<64 hex>`` (its SHA-256,
so the config never holds it)."""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.config import Secret, resolve
from pipeline.errors import ConfigError

__all__ = ["MIN_TOKEN_CHARS", "ApiToken", "Secret", "api_token", "api_tokens"]

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


def api_tokens(raw: Any, where: str, env: Mapping[str, str]) -> tuple[ApiToken, ...]:
    if not isinstance(raw, list) or not all(isinstance(ref, str) for ref in raw):
        raise ConfigError(f"Config '{where}' must be a list of strings.")
    return tuple(api_token(ref, where, env) for ref in raw)
