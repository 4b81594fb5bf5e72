"""Every rejected request gets a precise JSON error and publishes nothing (proved by reading
every topic to its end)."""

import base64
import logging
from typing import Any

import orjson
import pytest

from ingest.settings import ServerSettings
from tests.support import payloads as p
from tests.support.ingress import (
    OTHER_CLIENT,
    OTHER_TOKEN,
    Ingress,
    raw_request,
)
from tools.simulate.signing import SigningKey, signed_headers


async def expect(resp: Any, status: int, code: str) -> None:
    assert resp.status == status, await resp.text()
    body = await resp.json()
    assert body["error"] == code
    assert body["detail"]


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "missing_credentials"),
        ("Bearer nope-nope-nope-nope", "invalid_token"),
        ("Basic x y", "invalid_token"),
    ],
)
async def test_push_without_valid_token(
    ingress: Ingress, authorization: str | None, code: str
) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    resp = await ingress.client.post(
        "/v1/lead-activity", data=orjson.dumps(p.direct_push([p.activity()])), headers=headers
    )
    await expect(resp, 401, code)
    assert await ingress.total_published() == 0


async def test_wrong_content_type(ingress: Ingress) -> None:
    resp = await ingress.post_push(p.direct_push([p.activity()]), **{"Content-Type": "text/plain"})
    await expect(resp, 415, "unsupported_media_type")
    body = orjson.dumps(p.lads_event())
    headers = ingress.signer.headers(body) | {"content-type": "application/x-www-form-urlencoded"}
    await expect(
        await ingress.client.post("/v1/adobe-io", data=body, headers=headers),
        415,
        "unsupported_media_type",
    )
    assert await ingress.total_published() == 0


async def test_body_over_the_limit(make_ingress: Any) -> None:

    ingress = await make_ingress(
        server=ServerSettings(host="127.0.0.1", port=0, max_body_bytes=4096)
    )
    activities = [p.activity() for _ in range(20)]
    await expect(await ingress.post_push(p.direct_push(activities)), 413, "payload_too_large")

    async def chunks():
        for _ in range(10):
            yield b" " * 1024

    resp = await ingress.client.post(
        "/v1/lead-activity",
        data=chunks(),
        headers={
            "Authorization": "Bearer tenant-one-token-0123456789",
            "Content-Type": "application/json",
        },
    )
    await expect(resp, 413, "payload_too_large")
    assert await ingress.total_published() == 0


async def test_missing_and_bad_signatures(ingress: Ingress) -> None:
    body = orjson.dumps(p.lads_event())
    resp = await ingress.client.post(
        "/v1/adobe-io", data=body, headers={"content-type": "application/json"}
    )
    await expect(resp, 401, "missing_signature")
    good = ingress.signer.headers(body)
    tampered = body.replace(b"884201", b"884202")
    await expect(
        await ingress.client.post("/v1/adobe-io", data=tampered, headers=good),
        401,
        "invalid_signature",
    )
    stranger = SigningKey(path=ingress.signer.first.path)
    forged = signed_headers(body, stranger, SigningKey(path=ingress.signer.second.path))
    await expect(
        await ingress.client.post("/v1/adobe-io", data=body, headers=forged),
        401,
        "invalid_signature",
    )
    evil = good | {
        "x-adobe-public-key1-path": "/../evil.pem",
        "x-adobe-public-key2-path": "/../evil.pem",
    }
    await expect(
        await ingress.client.post("/v1/adobe-io", data=body, headers=evil), 401, "invalid_signature"
    )
    garbage = good | {"x-adobe-digital-signature-1": "%%%", "x-adobe-digital-signature-2": "%%%"}
    await expect(
        await ingress.client.post("/v1/adobe-io", data=body, headers=garbage),
        401,
        "invalid_signature",
    )
    assert await ingress.total_published() == 0


async def test_one_valid_signature_is_enough(ingress: Ingress) -> None:
    body = orjson.dumps(p.lads_event())
    headers = ingress.signer.headers(body)
    headers["x-adobe-digital-signature-1"] = base64.b64encode(b"x" * 256).decode()
    resp = await ingress.client.post("/v1/adobe-io", data=body, headers=headers)
    assert resp.status == 200


async def test_unsigned_malformed_json_is_400_when_signatures_are_off(make_ingress: Any) -> None:
    from ingest.settings import AdobeIoSettings

    ingress = await make_ingress(adobe_io=AdobeIoSettings(verify_signatures=False))
    resp = await ingress.client.post(
        "/v1/adobe-io", data=b"{nope", headers={"content-type": "application/json"}
    )
    await expect(resp, 400, "malformed_json")
    assert await ingress.total_published() == 0


async def test_wrong_or_missing_recipient(ingress: Ingress) -> None:
    await expect(
        await ingress.post_adobe([p.lads_event(), p.lads_event(client_id="stranger")]),
        403,
        "wrong_recipient",
    )
    event = p.lads_event()
    del event["recipientclientid"]
    await expect(await ingress.post_adobe(event), 403, "wrong_recipient")
    assert await ingress.total_published() == 0


async def test_recipient_cannot_publish_another_orgs_munchkin(ingress: Ingress) -> None:
    event = p.lads_event(data=p.lads_data(munchkin="999-OTH-999"))
    await expect(await ingress.post_adobe([p.lads_event(), event]), 403, "tenant_mismatch")
    other = p.lads_event(client_id=OTHER_CLIENT)
    await expect(await ingress.post_adobe(other), 403, "tenant_mismatch")
    assert await ingress.total_published() == 0


async def test_bad_challenge(ingress: Ingress) -> None:
    resp = await ingress.client.get("/v1/adobe-io", params={"challenge": "x" * 300})
    await expect(resp, 400, "invalid_challenge")


async def test_unknown_route_and_method(ingress: Ingress) -> None:
    await expect(await ingress.client.get("/nope"), 404, "not_found")
    await expect(await ingress.client.put("/v1/adobe-io"), 405, "method_not_allowed")


async def test_non_utf8_bytes_in_authorization_are_a_401(ingress: Ingress) -> None:
    body = orjson.dumps(p.direct_push([p.activity()]))
    head = b"POST /v1/lead-activity HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    status, answer_body = await raw_request(
        ingress, head + b"Authorization: Bearer s\xffecret\xc3\x28token\r\n", body
    )
    assert status == 401
    assert orjson.loads(answer_body)["error"] == "invalid_token"
    assert await ingress.total_published() == 0


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


async def test_a_path_cannot_forge_a_log_line(
    ingress: Ingress, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="ingest.app"):
        resp = await ingress.client.post("/x%0d%0aFORGED-LOG-LINE", data=b"{}")
    assert resp.status == 404
    assert "/x%0d%0aforged-log-line" in caplog.text.lower()
    assert not any(line.startswith("FORGED") for line in caplog.text.splitlines())
