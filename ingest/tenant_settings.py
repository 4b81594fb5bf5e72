"""``[[tenants]]``: who may publish for which Marketo instance, and ``[oauth]`` client knobs.

A tenant is one munchkin ID. It authenticates the direct push with static tokens and/or OAuth
2.0 access tokens from its identity provider (JWTs checked against the IdP's JWKS, or opaque
tokens checked by RFC 7662 introspection), and Adobe I/O deliveries by the recipient client id
of its registration (shared by the instances of one Adobe org).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ingest.secrets import ApiToken, api_tokens
from pipeline.config import SECONDS, Secret, read_section, setting, table, tables
from pipeline.errors import ConfigError

# Asymmetric algorithms only: an HMAC algorithm would let anyone holding the public key sign.
ASYMMETRIC_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
)  # fmt: skip


@dataclass(frozen=True)
class OAuthSettings:
    issuer: str = setting("")
    audience: str = setting("")
    # None: from the issuer's /.well-known/openid-configuration.
    jwks_uri: str | None = setting(None)
    client_ids: tuple[str, ...] = setting(())  # accepted azp / client_id / sub; empty: any
    algorithms: tuple[str, ...] = setting(("RS256", "ES256"))
    leeway_s: float = setting(30 * SECONDS, minimum=0)
    introspection_url: str | None = setting(None)
    introspection_client_id: str | None = setting(None)
    introspection_client_secret: Secret | None = setting(None)


def read_oauth(values: Any, where: str, env: Mapping[str, str]) -> OAuthSettings:
    if not isinstance(values, Mapping):
        raise ConfigError(f"Config [{where}] must be a table, got {type(values).__name__}.")
    settings = read_section(OAuthSettings, where, values, env)
    if not settings.issuer or not settings.audience:
        raise ConfigError(f"Config '{where}' needs both 'issuer' and 'audience'.")
    weak = sorted(set(settings.algorithms) - set(ASYMMETRIC_ALGORITHMS))
    if weak:
        raise ConfigError(
            f"Config '{where}.algorithms' has {weak}; allowed: {list(ASYMMETRIC_ALGORITHMS)}."
        )
    if settings.introspection_url and not (
        settings.introspection_client_id and settings.introspection_client_secret
    ):
        raise ConfigError(f"Config '{where}': introspection needs a client id and secret.")
    return settings


@dataclass(frozen=True)
class Tenant:
    munchkin_id: str = setting("")
    api_tokens: tuple[ApiToken, ...] = setting((), parse=api_tokens)
    adobe_client_id: str | None = setting(None)
    oauth: OAuthSettings | None = setting(None, parse=read_oauth)


@dataclass(frozen=True)
class OAuthClientSettings:
    http_timeout_s: float = setting(3 * SECONDS, minimum=0.1)
    jwks_ttl_s: float = setting(3600 * SECONDS, minimum=1)
    # An unknown ``kid`` refetches the JWKS, but not more often than this: garbage tokens must not
    # turn us into a load generator against the customer's identity provider.
    jwks_min_refetch_s: float = setting(30 * SECONDS, minimum=0)
    introspection_cache_s: float = setting(60 * SECONDS, minimum=0)
    max_concurrent_introspections: int = setting(16, minimum=1)


def read_tenant(where: str, values: Mapping[str, Any], env: Mapping[str, str]) -> Tenant:
    tenant = read_section(Tenant, where, values, env)
    if not tenant.munchkin_id:
        raise ConfigError(f"Config '{where}.munchkin_id' is required.")
    return tenant


def _check_unique(tenants: list[Tenant]) -> None:
    munchkins = [t.munchkin_id for t in tenants]
    if len(set(munchkins)) != len(munchkins):
        raise ConfigError("Config 'tenants': a munchkin_id appears more than once.")
    tokens = [tok.digest for t in tenants for tok in t.api_tokens]
    if len(set(tokens)) != len(tokens):
        raise ConfigError("Config 'tenants': an api token is given more than once.")
    by_issuer: dict[str, list[OAuthSettings]] = {}
    for t in tenants:
        if t.oauth:
            by_issuer.setdefault(t.oauth.issuer, []).append(t.oauth)
    by_introspection: dict[str, list[OAuthSettings]] = {}
    for t in tenants:
        if t.oauth and t.oauth.introspection_url:
            by_introspection.setdefault(t.oauth.introspection_url, []).append(t.oauth)
    for what, shared in (("issuer", by_issuer), ("introspection_url", by_introspection)):
        for where, configs in shared.items():
            _check_distinct_clients(what, where, configs)


def _check_distinct_clients(what: str, where: str, configs: list[OAuthSettings]) -> None:
    """Tenants sharing one identity provider must tell its tokens apart by client id."""
    if len(configs) < 2:
        return
    clients = [c for o in configs for c in o.client_ids]
    if any(not o.client_ids for o in configs) or len(set(clients)) != len(clients):
        raise ConfigError(
            f"Config 'tenants': several tenants share oauth.{what} {where!r}; each needs its own "
            "distinct oauth.client_ids so a token maps to exactly one tenant."
        )


def read_tenants(doc: Mapping[str, Any], env: Mapping[str, str]) -> tuple[Tenant, ...]:
    tenants = [read_tenant(where, values, env) for where, values in tables(doc, "tenants")]
    _check_unique(tenants)
    return tuple(tenants)


def read_oauth_client(doc: Mapping[str, Any]) -> OAuthClientSettings:
    return read_section(OAuthClientSettings, "oauth", table(doc, "oauth"))
