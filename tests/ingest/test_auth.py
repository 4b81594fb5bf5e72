import pytest

from ingest.auth import (
    TenantDirectory,
    presented_token,
    principal_for_push,
    principal_for_recipient,
)
from ingest.errors import InvalidToken, MissingCredentials, WrongRecipient
from ingest.gate import Principal
from ingest.oauth import OAuthVerifier
from ingest.parse import adobe_items
from ingest.secrets import ApiToken, Secret
from ingest.tenant_settings import OAuthClientSettings, Tenant
from tests.support import payloads as p

TOKEN = "tenant-one-token-0123456789"
DIRECTORY = TenantDirectory.from_tenants(
    [
        Tenant(p.MUNCHKIN, (ApiToken.from_plain(TOKEN),), p.CLIENT_ID),
        Tenant(p.SANDBOX, (ApiToken.from_plain("sandbox-token-0123456789"),), p.CLIENT_ID),
        Tenant("999-OTH-999", (), "other-client"),
    ]
)


NO_OAUTH = OAuthVerifier(None, [], OAuthClientSettings())  # type: ignore[arg-type]


async def names_nothing() -> str | None:
    raise AssertionError("a static token never needs the body's tenant")


async def tenant_for_push(header: str | None) -> str:
    principal = await principal_for_push(header, DIRECTORY, NO_OAUTH, names_nothing)
    assert principal.credential == "push:" + next(iter(principal.tenants))
    return next(iter(principal.tenants))


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}", TOKEN, f"bearer  {TOKEN} "])
async def test_bearer_and_bare_tokens(header: str) -> None:
    assert await tenant_for_push(header) == p.MUNCHKIN


@pytest.mark.parametrize("header", [None, "", "   "])
async def test_missing_credentials(header: str | None) -> None:
    with pytest.raises(MissingCredentials):
        await tenant_for_push(header)


@pytest.mark.parametrize("header", ["Bearer wrong", TOKEN[:-1], f"Basic {TOKEN}", TOKEN + "x"])
async def test_invalid_tokens(header: str) -> None:
    with pytest.raises(InvalidToken):
        await tenant_for_push(header)


def test_presented_token_strips_scheme() -> None:
    assert presented_token("Bearer abc") == "abc"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer s\udcffecret",  # what aiohttp makes of non-UTF-8 header bytes
        "Bearer caf\u00e9-token-0123456789",
        "tok\u0000en",
        "Bearer \u200btoken0123456789",
    ],
)
def test_tokens_must_be_visible_ascii(header: str) -> None:
    with pytest.raises(InvalidToken, match="visible ASCII"):
        presented_token(header)


def test_recipient_maps_to_every_munchkin_of_its_org() -> None:
    [item] = adobe_items([p.lads_event()])
    principal = principal_for_recipient(item.recipient, 0, DIRECTORY)
    assert principal == Principal(f"adobe:{p.CLIENT_ID}", frozenset({p.MUNCHKIN, p.SANDBOX}))
    assert principal.sole_tenant is None


@pytest.mark.parametrize("client", ["unknown-client", ""])
def test_unknown_or_missing_recipient_is_refused(client: str) -> None:
    [item] = adobe_items([p.lads_event(client_id=client)])
    with pytest.raises(WrongRecipient, match="event 3"):
        principal_for_recipient(item.recipient, 3, DIRECTORY)


def test_secrets_never_show_themselves() -> None:
    tenant = Tenant(p.MUNCHKIN, (ApiToken.from_plain(TOKEN),), None)
    assert TOKEN not in repr(tenant)
    assert ApiToken.from_plain(TOKEN).digest.hex() not in repr(tenant)
    assert "hunter2" not in repr(Secret("hunter2")) + str(Secret("hunter2"))
