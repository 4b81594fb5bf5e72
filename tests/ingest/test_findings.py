"""Regression tests for the attacks that got through (issue 12): each one failed on the code
before the tenant gate, the body reader and the redaction filter existed.

Each test proves what did not happen as well as what did: a refused delivery leaves every topic
empty (read to its end on the real broker), a 500 never answers, a token never reaches a log.
"""

import asyncio
import gzip
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from ingest.errors import Overloaded
from ingest.limits import InFlight
from ingest.secrets import ApiToken, Secret
from ingest.tenant_settings import OAuthClientSettings, OAuthSettings, Tenant
from tests.support import payloads as p
from tests.support.idp import (
    AUDIENCE,
    CLIENT_ID,
    INTROSPECTION_CLIENT,
    IdentityProvider,
    IdpKey,
    serve,
)
from tests.support.ingress import (
    OTHER_CLIENT,
    OTHER_MUNCHKIN,
    OTHER_TOKEN,
    TOKEN,
    Ingress,
    IngressFactory,
)

MIB = 1024 * 1024


async def answer(resp: Any) -> tuple[int, dict[str, Any]]:
    return resp.status, await resp.json()


# 1. Cross-tenant writes through the dead-letter path ----------------------------------------


async def test_push_with_an_unusable_activity_naming_another_tenant_is_refused(
    ingress: Ingress,
) -> None:
    foreign = p.activity() | {"munchkinId": OTHER_MUNCHKIN}
    del foreign["leadId"]  # cannot be normalized: before the gate it became A's dead letter
    status, body = await answer(await ingress.post_push(p.direct_push([p.activity(), foreign])))
    assert (status, body["error"]) == (403, "tenant_mismatch")
    assert OTHER_MUNCHKIN in body["detail"]
    assert await ingress.total_published() == 0


# 2. Cross-tenant writes through a mixed Adobe batch -------------------------------------------


async def test_mixed_adobe_batch_checks_each_event_against_its_own_recipient(
    ingress: Ingress,
) -> None:
    # Recipient A's event names tenant B; a recipient-B event beside it used to widen the set.
    smuggled = p.lads_event(data=p.lads_data(munchkin=OTHER_MUNCHKIN))
    honest_b = p.lads_event(data=p.lads_data(munchkin=OTHER_MUNCHKIN), client_id=OTHER_CLIENT)
    status, body = await answer(await ingress.post_adobe([smuggled, honest_b]))
    assert (status, body["error"]) == (403, "tenant_mismatch")
    assert "event 0" in body["detail"]
    assert await ingress.total_published() == 0


async def test_mixed_adobe_batch_of_honest_events_is_accepted(ingress: Ingress) -> None:
    mine = p.lads_event()
    theirs = p.lads_event(data=p.lads_data(munchkin=OTHER_MUNCHKIN), client_id=OTHER_CLIENT)
    status, body = await answer(await ingress.post_adobe([mine, theirs]))
    assert (status, body) == (200, {"accepted": 2, "deadlettered": 0})
    keys = {r.key for r in await ingress.records(ingress.topics.lead_activity.name)}
    assert keys == {f"{p.MUNCHKIN}:884201".encode(), f"{OTHER_MUNCHKIN}:884201".encode()}


# 4. Tokens sent to other tenants' identity providers ------------------------------------------


@pytest.fixture
async def two_idps() -> AsyncIterator[tuple[IdentityProvider, IdentityProvider]]:
    first, second = IdentityProvider(), IdentityProvider()
    servers = [await serve(first), await serve(second)]
    yield first, second
    for server in servers:
        await server.close()


def introspected_tenant(munchkin: str, idp: IdentityProvider, client: str) -> Tenant:
    oauth = OAuthSettings(
        issuer=idp.issuer,
        audience=AUDIENCE,
        client_ids=(client,),
        introspection_url=idp.base_url + "/introspect",
        introspection_client_id=INTROSPECTION_CLIENT[0],
        introspection_client_secret=Secret(INTROSPECTION_CLIENT[1]),
    )
    return Tenant(munchkin, (), None, oauth)


async def test_an_opaque_token_goes_only_to_the_named_tenants_idp(
    make_ingress: IngressFactory, two_idps: tuple[IdentityProvider, IdentityProvider]
) -> None:
    idp_a, idp_b = two_idps
    ingress = await make_ingress(
        tenants=(
            introspected_tenant(p.MUNCHKIN, idp_a, CLIENT_ID),
            introspected_tenant(OTHER_MUNCHKIN, idp_b, "other-push-client"),
        )
    )
    token_b = idp_b.opaque_token(client_id="other-push-client")
    push_b = p.direct_push([p.activity()], munchkin=OTHER_MUNCHKIN)
    status, body = await answer(await ingress.post_push(push_b, token=token_b))
    assert (status, body) == (200, {"accepted": 1, "deadlettered": 0})
    assert idp_a.introspected == [], "tenant A's identity provider saw tenant B's token"
    assert idp_b.introspected == [token_b]

    # Naming tenant A with B's token asks A's IdP only (which does not know it): refused.
    status, body = await answer(await ingress.post_push(p.direct_push([p.activity()]), token_b))
    assert (status, body["error"]) == (401, "invalid_token")
    assert idp_b.introspected == [token_b]

    # A delivery that names no tenant is never introspected anywhere.
    status, body = await answer(await ingress.post_push([p.activity()], token=token_b))
    assert (status, body["error"]) == (401, "invalid_token")
    assert "names no munchkinId" in body["detail"]
    assert len(idp_a.introspected) + len(idp_b.introspected) == 2


# 5. 500s from input ---------------------------------------------------------------------------


async def raw_request(ingress: Ingress, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """One HTTP/1.1 request written byte for byte: aiohttp's client refuses hostile headers."""
    server = ingress.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    status_line, _, rest = response.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


async def test_non_utf8_bytes_in_authorization_are_a_401(ingress: Ingress) -> None:
    body = orjson.dumps(p.direct_push([p.activity()]))
    head = b"POST /v1/lead-activity HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    status, answer_body = await raw_request(
        ingress, head + b"Authorization: Bearer s\xffecret\xc3\x28token\r\n", body
    )
    assert status == 401
    assert orjson.loads(answer_body)["error"] == "invalid_token"
    assert await ingress.total_published() == 0


async def test_a_gzip_label_on_bytes_that_are_not_gzip(ingress: Ingress) -> None:
    not_gzip = orjson.dumps(p.direct_push([p.activity()]))
    # Direct push: the token authenticated the delivery, so the body is kept as a dead letter.
    resp = await ingress.post_push(not_gzip, **{"Content-Encoding": "gzip"})
    assert await answer(resp) == (200, {"accepted": 0, "deadlettered": 1})
    [letter] = await ingress.records(ingress.topics.dead_letter.name)
    assert dict(letter.headers)["dl_reason"] == b"invalid_encoding"
    assert letter.value == not_gzip
    # Adobe I/O with a valid signature over the bytes sent: authenticated, dead-lettered too.
    adobe = orjson.dumps(p.lads_event())
    resp = await ingress.post_adobe(adobe, **{"Content-Encoding": "gzip"})
    assert await answer(resp) == (200, {"accepted": 0, "deadlettered": 1})
    # Unauthenticated (no signature verifies): a 4xx before anything is kept.
    resp = await ingress.client.post(
        "/v1/adobe-io",
        data=adobe,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    status, body = await answer(resp)
    assert (status, body["error"]) == (401, "missing_signature")
    assert len(await ingress.records(ingress.topics.dead_letter.name)) == 2


async def test_unknown_content_encodings_are_refused(ingress: Ingress) -> None:
    for encoding in ("br", "compress", "gzip, gzip", "x-custom"):
        resp = await ingress.post_push(b"{}", **{"Content-Encoding": encoding})
        status, body = await answer(resp)
        assert (status, body["error"]) == (415, "unsupported_encoding"), encoding
    assert await ingress.total_published() == 0


@pytest.mark.parametrize("when", [1e15, 1e300, -1e300, 10**18, -(10**18)])
async def test_extreme_numeric_activity_dates_are_dead_letters(
    ingress: Ingress, when: float
) -> None:
    extreme = p.activity() | {"activityDate": when}
    status, body = await answer(await ingress.post_push(p.direct_push([p.activity(), extreme])))
    assert (status, body) == (200, {"accepted": 1, "deadlettered": 1})


@pytest.mark.parametrize("when", [1e300, -1e300, "9999-12-31T23:59:59-14:00", "0001-01-01T00:00Z"])
async def test_an_extreme_adobe_time_loses_no_neighbour(ingress: Ingress, when: Any) -> None:
    extreme = p.lads_event() | {"time": when}
    status, body = await answer(await ingress.post_adobe([p.lads_event(), extreme]))
    assert status == 200, body
    assert body["accepted"] + body["deadlettered"] == 2
    assert body["accepted"] >= 1


# 6. Compressed bodies count decoded against the in-flight budget ------------------------------


def inflating_push(decoded_bytes: int) -> bytes:
    """A valid push that inflates from a few KiB on the wire to ``decoded_bytes``."""
    doc = orjson.dumps(p.direct_push([]))
    return gzip.compress(doc[:-1] + b" " * (decoded_bytes - len(doc)) + b"}")


def test_a_reservation_grows_to_the_decoded_size() -> None:
    budget = InFlight(limit=64, max_bytes=4 * MIB)
    holder = budget.reserve(7 * 1024)
    inflating = budget.reserve(7 * 1024)
    with pytest.raises(Overloaded):
        inflating.grow(7 * MIB)
    inflating.release()
    holder.release()
    assert (budget.count, budget.bytes) == (0, 0)


async def test_compressed_bodies_cannot_bypass_the_in_flight_budget(
    make_ingress: IngressFactory,
) -> None:
    from ingest.settings import ServerSettings

    server = ServerSettings(host="127.0.0.1", port=0, max_in_flight_body_bytes=4 * MIB)
    ingress = await make_ingress(server=server)
    # A slow delivery holds its place in the budget while its body trickles in.
    http = ingress.client.server
    _, writer = await asyncio.open_connection(http.host, http.port)
    writer.write(
        b"POST /v1/lead-activity HTTP/1.1\r\nHost: x\r\n"
        + f"Authorization: Bearer {TOKEN}\r\nContent-Length: 1000\r\n\r\n{{".encode()
    )
    await writer.drain()
    await asyncio.sleep(0.2)
    bomb = inflating_push(6 * MIB)
    assert len(bomb) < 64 * 1024
    resp = await ingress.post_push(bomb, **{"Content-Encoding": "gzip"})
    status, body = await answer(resp)
    assert (status, body["error"]) == (503, "overloaded")
    writer.close()
    # Alone, the same body is within budget and accepted.
    await asyncio.sleep(0.2)
    resp = await ingress.post_push(inflating_push(3 * MIB), **{"Content-Encoding": "gzip"})
    assert await answer(resp) == (200, {"accepted": 0, "deadlettered": 0})


async def test_decoded_size_counts_against_max_body_bytes(ingress: Ingress) -> None:
    resp = await ingress.post_push(inflating_push(9 * MIB), **{"Content-Encoding": "gzip"})
    status, body = await answer(resp)
    assert (status, body["error"]) == (413, "payload_too_large")


# 7. JWKS refetch storm ------------------------------------------------------------------------


async def test_unknown_kids_at_once_fetch_the_jwks_once(make_ingress: IngressFactory) -> None:
    idp = IdentityProvider()
    server = await serve(idp)
    try:
        oauth = OAuthSettings(issuer=idp.issuer, audience=AUDIENCE, client_ids=(CLIENT_ID,))
        ingress = await make_ingress(
            tenants=(Tenant(p.MUNCHKIN, (ApiToken.from_plain(TOKEN),), None, oauth),),
            oauth=OAuthClientSettings(jwks_min_refetch_s=0.0),
        )
        forged = [idp.token(IdpKey("RS256")) for _ in range(40)]
        answers = await asyncio.gather(*(ingress.post_push(b"{}", token=t) for t in forged))
        assert {r.status for r in answers} == {401}
        assert idp.jwks_fetches == 1
    finally:
        await server.close()


# 8. No credential in any log line -------------------------------------------------------------


@pytest.mark.parametrize("hostile", [b"\x00", b"\r", b"\x7f\x00"])
async def test_a_token_with_cr_or_nul_never_reaches_a_log(
    ingress: Ingress, caplog: pytest.LogCaptureFixture, hostile: bytes
) -> None:
    secret = OTHER_TOKEN.encode()
    head = (
        b"POST /v1/lead-activity HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + b"Authorization: Bearer "
        + secret[:8]
        + hostile
        + secret[8:]
        + b"\r\n"
    )
    with caplog.at_level(logging.DEBUG):
        status, _ = await raw_request(ingress, head, b"{}")
    assert status == 400
    logged = caplog.text
    assert OTHER_TOKEN[:8] not in logged
    assert OTHER_TOKEN[8:] not in logged
    assert await ingress.total_published() == 0
