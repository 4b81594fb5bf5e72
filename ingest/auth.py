"""Who may publish: tenant tokens for the direct push, recipient client ids for Adobe I/O.

A static token or an OAuth client belongs to one munchkin ID. An Adobe recipient client id
belongs to one Adobe org, which may hold several Marketo instances (production and sandbox share
one registration), so it maps to the set of munchkin IDs configured with it. A delivery carrying
any event of a munchkin ID outside its credential's set is refused whole (403): nothing of it is
published.
"""

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from ingest.errors import InvalidToken, MissingCredentials, TenantMismatch, WrongRecipient, shorten
from ingest.oauth import OAuthVerifier
from ingest.parse import AdobeItem
from ingest.tenant_settings import Tenant


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


@dataclass(frozen=True)
class TenantDirectory:
    token_digests: tuple[tuple[bytes, str], ...]
    munchkins_by_client: dict[str, frozenset[str]]

    @classmethod
    def from_tenants(cls, tenants: Iterable[Tenant]) -> "TenantDirectory":
        tenants = tuple(tenants)
        by_client: dict[str, set[str]] = {}
        for t in tenants:
            if t.adobe_client_id:
                by_client.setdefault(t.adobe_client_id, set()).add(t.munchkin_id)
        return cls(
            token_digests=tuple(
                (tok.digest, t.munchkin_id) for t in tenants for tok in t.api_tokens
            ),
            munchkins_by_client={k: frozenset(v) for k, v in by_client.items()},
        )


def presented_token(authorization: str | None) -> str:
    """The token of ``Authorization: Bearer <token>`` or of a bare ``Authorization: <token>``."""
    if not authorization or not authorization.strip():
        raise MissingCredentials("the Authorization header is missing or empty")
    scheme, _, rest = authorization.strip().partition(" ")
    if rest and scheme.lower() == "bearer":
        return rest.strip()
    if rest:
        raise InvalidToken("the Authorization header must be 'Bearer <token>' or the bare token")
    return scheme


def static_tenant(token: str, directory: TenantDirectory) -> str | None:
    """The munchkin ID a static token belongs to. Compares every digest in constant time, so
    the time taken says nothing about which token (or how much of one) matched."""
    digest = _digest(token)
    match = None
    for known, munchkin in directory.token_digests:
        if hmac.compare_digest(known, digest):
            match = munchkin
    return match


async def tenant_for_push(
    authorization: str | None, directory: TenantDirectory, oauth: OAuthVerifier
) -> str:
    """The munchkin ID a direct push may publish for: a static token, else an OAuth token."""
    token = presented_token(authorization)
    munchkin = static_tenant(token, directory)
    if munchkin is not None:
        return munchkin
    if oauth.enabled:
        return await oauth.tenant_for(token)
    raise InvalidToken("the token is not valid for any tenant")


def munchkins_for_recipients(items: list[AdobeItem], directory: TenantDirectory) -> frozenset[str]:
    """The munchkin IDs the delivery may carry; 403 unless every event names a known recipient."""
    allowed: set[str] = set()
    for index, item in enumerate(items):
        if item.recipient is None:
            raise WrongRecipient(f"event {index} has no recipientclientid")
        munchkins = directory.munchkins_by_client.get(item.recipient)
        if munchkins is None:
            raise WrongRecipient(
                f"event {index} is for recipient {shorten(item.recipient)}, not a configured client"
            )
        allowed |= munchkins
    return frozenset(allowed)


def check_tenants(munchkins: Iterable[str | None], allowed: frozenset[str]) -> None:
    for munchkin in munchkins:
        if munchkin is not None and munchkin not in allowed:
            raise TenantMismatch(
                f"the delivery carries munchkin ID {shorten(munchkin)}, which this credential "
                "may not publish for"
            )
