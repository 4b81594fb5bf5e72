import pytest

from ingest.auth import (
    TenantDirectory,
    check_tenants,
    munchkins_for_recipients,
    presented_token,
    tenant_for_push,
)
from ingest.errors import InvalidToken, MissingCredentials, TenantMismatch, WrongRecipient
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


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}", TOKEN, f"bearer  {TOKEN} "])
async def test_bearer_and_bare_tokens(header: str) -> None:
    assert await tenant_for_push(header, DIRECTORY, NO_OAUTH) == p.MUNCHKIN


@pytest.mark.parametrize("header", [None, "", "   "])
async def test_missing_credentials(header: str | None) -> None:
    with pytest.raises(MissingCredentials):
        await tenant_for_push(header, DIRECTORY, NO_OAUTH)


@pytest.mark.parametrize("header", ["Bearer wrong", TOKEN[:-1], f"Basic {TOKEN}", TOKEN + "x"])
async def test_invalid_tokens(header: str) -> None:
    with pytest.raises(InvalidToken):
        await tenant_for_push(header, DIRECTORY, NO_OAUTH)


def test_presented_token_strips_scheme() -> None:
    assert presented_token("Bearer abc") == "abc"


def test_recipient_maps_to_every_munchkin_of_its_org() -> None:
    items = adobe_items([p.lads_event(), p.lads_event(old_names=True)])
    assert munchkins_for_recipients(items, DIRECTORY) == {p.MUNCHKIN, p.SANDBOX}


@pytest.mark.parametrize("client", ["unknown-client", ""])
def test_unknown_or_missing_recipient_is_refused(client: str) -> None:
    items = adobe_items([p.lads_event(), p.lads_event(client_id=client)])
    with pytest.raises(WrongRecipient):
        munchkins_for_recipients(items, DIRECTORY)


def test_tenant_outside_the_set_is_refused() -> None:
    check_tenants([p.MUNCHKIN, None], frozenset({p.MUNCHKIN}))
    with pytest.raises(TenantMismatch):
        check_tenants([p.MUNCHKIN, "999-OTH-999"], frozenset({p.MUNCHKIN}))


def test_secrets_never_show_themselves() -> None:
    tenant = Tenant(p.MUNCHKIN, (ApiToken.from_plain(TOKEN),), None)
    assert TOKEN not in repr(tenant)
    assert ApiToken.from_plain(TOKEN).digest.hex() not in repr(tenant)
    assert "hunter2" not in repr(Secret("hunter2")) + str(Secret("hunter2"))
