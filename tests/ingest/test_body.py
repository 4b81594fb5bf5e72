"""Decoding request bodies: what is accepted, what is refused, and that a bomb stops at the limit
(pure functions, no server)."""

import gzip
import zlib

import orjson
import pytest

from ingest.body import decode
from ingest.errors import InvalidEncoding, PayloadTooLarge
from pipeline.config import MIB
from tests.support import payloads as p
from tests.support.ingress import (
    Ingress,
    answer,
)
from tests.support.payloads import inflating_push

DOC = b'{"munchkinId": "123-ABC-456", "activities": []}'


def gz(data: bytes) -> bytes:
    # mtime=0: the same bytes in every process that collects the tests, so the same test ids
    # (the parameters name them, and pytest-xdist's workers must collect identical ids)
    return gzip.compress(data, mtime=0)


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "wire"),
    [
        ("gzip", gz(DOC)),
        ("x-gzip", gz(DOC)),
        ("gzip", gz(DOC[:20]) + gz(DOC[20:])),  # two members
        ("deflate", zlib.compress(DOC)),  # zlib-wrapped, as HTTP says
        ("deflate", raw_deflate(DOC)),  # raw, as some clients send
    ],
)
def test_accepted_encodings_decode(encoding: str, wire: bytes) -> None:
    assert decode(wire, encoding, 1 << 20) == DOC


@pytest.mark.parametrize(
    ("encoding", "wire", "says"),
    [
        ("gzip", DOC, "not valid gzip"),
        ("gzip", gz(DOC)[:-10], "ends before"),
        ("gzip", gz(DOC) + b"trailing", "not valid gzip"),
        ("deflate", b"\x00\x01garbage", "not valid deflate"),
        ("deflate", zlib.compress(DOC) + b"xx", "follow"),
    ],
)
def test_bytes_that_do_not_decode_say_why(encoding: str, wire: bytes, says: str) -> None:
    with pytest.raises(InvalidEncoding, match=says):
        decode(wire, encoding, 1 << 20)


def test_a_bomb_stops_one_byte_past_the_limit() -> None:
    bomb = gzip.compress(b" " * (64 << 20))  # 64 MiB of spaces: about 64 KiB on the wire
    assert len(bomb) < 100_000
    with pytest.raises(PayloadTooLarge, match="more than 1048576 bytes"):
        decode(bomb, "gzip", 1 << 20)


def test_exactly_the_limit_is_accepted() -> None:
    body = b" " * 1000
    assert decode(gzip.compress(body), "gzip", 1000) == body
    with pytest.raises(PayloadTooLarge):
        decode(gzip.compress(body), "gzip", 999)


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


async def test_decoded_size_counts_against_max_body_bytes(ingress: Ingress) -> None:
    resp = await ingress.post_push(inflating_push(9 * MIB), **{"Content-Encoding": "gzip"})
    status, body = await answer(resp)
    assert (status, body["error"]) == (413, "payload_too_large")
