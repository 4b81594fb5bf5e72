"""Decoding request bodies: what is accepted, what is refused, and that a bomb stops at the limit
(pure functions, no server)."""

import gzip
import zlib

import pytest

from ingest.body import decode
from ingest.errors import InvalidEncoding, PayloadTooLarge

DOC = b'{"munchkinId": "123-ABC-456", "activities": []}'


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "wire"),
    [
        ("gzip", gzip.compress(DOC)),
        ("x-gzip", gzip.compress(DOC)),
        ("gzip", gzip.compress(DOC[:20]) + gzip.compress(DOC[20:])),  # two members
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
        ("gzip", gzip.compress(DOC)[:-10], "ends before"),
        ("gzip", gzip.compress(DOC) + b"trailing", "not valid gzip"),
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
