"""``[[tenants]]``: who may publish for which Marketo instance, and ``[oauth]`` client knobs.

A tenant is one munchkin ID. It authenticates the direct push with static tokens and/or OAuth
2.0 access tokens from its identity provider (JWTs checked against the IdP's JWKS, or opaque
tokens checked by RFC 7662 introspection), and Adobe I/O deliveries by the recipient client id
of its registration (shared by the instances of one Adobe org).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ingest.secrets import ApiToken, Secret, api_token, resolve
from pipeline.errors import ConfigError
from pipeline.settings import SECONDS, Section, table

# Asymmetric algorithms only: an HMAC algorithm would let anyone holding the public key sign.
ASYMMETRIC_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
)  # fmt: skip


@dataclass(frozen=True)
class OAuthSettings:
    issuer: str
    audience: str
    jwks_uri: str | None = None  # None: from the issuer's /.well-known/openid-configuration
    client_ids: tuple[str, ...] = ()  # accepted azp / client_id / sub; empty: any
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    leeway_s: float = 30 * SECONDS
    introspection_url: str | None = None
    introspection_client_id: str | None = None
    introspection_client_secret: Secret | None = None


@dataclass(frozen=True)
class Tenant:
    munchkin_id: str
    api_tokens: tuple[ApiToken, ...] = ()
    adobe_client_id: str | None = None
    oauth: OAuthSettings | None = None


@dataclass(frozen=True)
class OAuthClientSettings:
    http_timeout_s: float = 3 * SECONDS
    jwks_ttl_s: float = 3600 * SECONDS
    # An unknown ``kid`` refetches the JWKS, but not more often than this: garbage tokens must not
    # turn us into a load generator against the customer's identity provider.
    jwks_min_refetch_s: float = 30 * SECONDS
    introspection_cache_s: float = 60 * SECONDS
    max_concurrent_introspections: int = 16


TENANT_KEYS = {"munchkin_id", "api_tokens", "adobe_client_id", "oauth"}
OAUTH_KEYS = {
    "issuer",
    "audience",
    "jwks_uri",
    "client_ids",
    "algorithms",
    "leeway_seconds",
    "introspection_url",
    "introspection_client_id",
    "introspection_client_secret",
}
OAUTH_CLIENT_KEYS = {
    "http_timeout_seconds",
    "jwks_ttl_seconds",
    "jwks_min_refetch_seconds",
    "introspection_cache_seconds",
    "max_concurrent_introspections",
}


def _optional(s: Section, values: Mapping[str, Any], key: str) -> str | None:
    return s.text(key, "") if key in values else None


def read_oauth(values: Mapping[str, Any], where: str, env: Mapping[str, str]) -> OAuthSettings:
    s = Section(where, values, OAUTH_KEYS)
    issuer, audience = s.text("issuer", ""), s.text("audience", "")
    if not issuer or not audience:
        raise ConfigError(f"Config '{where}' needs both 'issuer' and 'audience'.")
    algorithms = tuple(s.texts("algorithms") or OAuthSettings.algorithms)
    weak = sorted(set(algorithms) - set(ASYMMETRIC_ALGORITHMS))
    if weak:
        raise ConfigError(
            f"Config '{where}.algorithms' has {weak}; allowed: {list(ASYMMETRIC_ALGORITHMS)}."
        )
    secret = _optional(s, values, "introspection_client_secret")
    settings = OAuthSettings(
        issuer=issuer,
        audience=audience,
        jwks_uri=_optional(s, values, "jwks_uri"),
        client_ids=tuple(s.texts("client_ids")),
        algorithms=algorithms,
        leeway_s=s.number("leeway_seconds", OAuthSettings.leeway_s),
        introspection_url=_optional(s, values, "introspection_url"),
        introspection_client_id=_optional(s, values, "introspection_client_id"),
        introspection_client_secret=(
            None if secret is None else resolve(secret, f"{where}.introspection_client_secret", env)
        ),
    )
    if settings.introspection_url and not (
        settings.introspection_client_id and settings.introspection_client_secret
    ):
        raise ConfigError(f"Config '{where}': introspection needs a client id and secret.")
    return settings


def read_tenant(values: Any, index: int, env: Mapping[str, str]) -> Tenant:
    where = f"tenants[{index}]"
    if not isinstance(values, Mapping):
        raise ConfigError(f"Config '{where}' must be a table.")
    s = Section(where, values, TENANT_KEYS)
    munchkin = s.text("munchkin_id", "")
    if not munchkin:
        raise ConfigError(f"Config '{where}.munchkin_id' is required.")
    oauth = values.get("oauth")
    return Tenant(
        munchkin_id=munchkin,
        api_tokens=tuple(
            api_token(ref, f"{where}.api_tokens", env) for ref in s.texts("api_tokens")
        ),
        adobe_client_id=_optional(s, values, "adobe_client_id"),
        oauth=None if oauth is None else read_oauth(table(values, "oauth"), f"{where}.oauth", env),
    )


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
    raw = doc.get("tenants", [])
    if not isinstance(raw, list):
        raise ConfigError("Config 'tenants' must be an array of tables ([[tenants]]).")
    tenants = [read_tenant(values, i, env) for i, values in enumerate(raw)]
    _check_unique(tenants)
    return tuple(tenants)


def read_oauth_client(doc: Mapping[str, Any]) -> OAuthClientSettings:
    s = Section("oauth", table(doc, "oauth"), OAUTH_CLIENT_KEYS)
    d = OAuthClientSettings()
    return OAuthClientSettings(
        http_timeout_s=s.number("http_timeout_seconds", d.http_timeout_s, 0.1),
        jwks_ttl_s=s.number("jwks_ttl_seconds", d.jwks_ttl_s, 1),
        jwks_min_refetch_s=s.number("jwks_min_refetch_seconds", d.jwks_min_refetch_s),
        introspection_cache_s=s.number("introspection_cache_seconds", d.introspection_cache_s),
        max_concurrent_introspections=s.integer(
            "max_concurrent_introspections", d.max_concurrent_introspections, 1
        ),
    )
