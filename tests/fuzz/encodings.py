"""How the fuzzer's request bodies are encoded on the wire (``ENCODINGS``, by the names a
``FuzzCase`` gives), and every plausible reading of encoded bytes (``decodings``) for the oracle."""

import gzip
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

MAX_BODY_BYTES = 8 * 1024 * 1024  # the fuzzed ingress' server.max_body_bytes
BOMB_BYTES = 1 << 30


@cache
def bomb(kind: str) -> bytes:
    """1 GiB of zeros in about 1 MiB on the wire, built without ever holding the GiB: a block
    ended by a full flush does not depend on what came before it, so one compressed MiB is
    repeated, and the trailer (CRC-32 or Adler-32 of the whole) is computed chunk by chunk."""
    wbits = 31 if kind == "gzip" else 15
    chunk = b"0" * (1 << 20)
    count = BOMB_BYTES // len(chunk)
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    head = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush(zlib.Z_FINISH)
    if kind == "gzip":
        crc = 0
        for _ in range(count):
            crc = zlib.crc32(chunk, crc)
        last, trailer = tail[:-8], struct.pack("<II", crc, BOMB_BYTES & 0xFFFFFFFF)
    else:
        adler = 1
        for _ in range(count):
            adler = zlib.adler32(chunk, adler)
        last, trailer = tail[:-4], struct.pack(">I", adler)
    return head + block * (count - 1) + last + trailer


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


@dataclass(frozen=True)
class Encoding:
    header: bytes | None
    encode: Callable[[bytes], bytes]
    # Whether every reading of the header decodes the wire bytes back to the body exactly (what
    # aiohttp does today and any fix must keep): only then does the oracle reason about content.
    clean: bool = False


ENCODINGS: dict[str, Encoding] = {
    "none": Encoding(None, lambda b: b, clean=True),
    "identity": Encoding(b"identity", lambda b: b, clean=True),
    "gzip": Encoding(b"gzip", gzip.compress, clean=True),
    "deflate": Encoding(b"deflate", zlib.compress, clean=True),
    "GZIP-upper": Encoding(b"GZIP", gzip.compress),
    "deflate-raw": Encoding(b"deflate", _raw_deflate),
    "x-gzip": Encoding(b"x-gzip", gzip.compress),
    "gzip-gzip-double": Encoding(b"gzip, gzip", lambda b: gzip.compress(gzip.compress(b))),
    "gzip-gzip-once": Encoding(b"gzip, gzip", gzip.compress),
    "gzip-label-plain": Encoding(b"gzip", lambda b: b),
    "deflate-label-plain": Encoding(b"deflate", lambda b: b),
    "gzip-truncated": Encoding(b"gzip", lambda b: gzip.compress(b)[:-6]),
    "gzip-trailing-garbage": Encoding(b"gzip", lambda b: gzip.compress(b) + b"\x00garbage"),
    "gzip-bomb": Encoding(b"gzip", lambda b: bomb("gzip")),
    "deflate-bomb": Encoding(b"deflate", lambda b: bomb("deflate")),
    "gzip-gzip-bomb": Encoding(b"gzip, gzip", lambda b: gzip.compress(bomb("gzip"))),
    "br": Encoding(b"br", lambda b: b),
    "zstd": Encoding(b"zstd", lambda b: b),
    "compress": Encoding(b"compress", lambda b: b),
    "garbage": Encoding(b"x-fuzz-unknown", lambda b: b),
    "empty-label": Encoding(b"", lambda b: b),
    "gzip-q": Encoding(b"gzip;q=1.0", gzip.compress),
}


def _inflate(data: bytes, wbits: int) -> bytes | None:
    try:
        out = zlib.decompressobj(wbits).decompress(data, MAX_BODY_BYTES + 1)
    except zlib.error:
        return None
    return out if out and len(out) <= MAX_BODY_BYTES else None


def decodings(wire: bytes) -> list[bytes]:
    """Every plausible reading of the wire bytes (as they are, and up to two layers of gzip, zlib
    or raw deflate, bounded so a bomb costs nothing), for the oracle's lenient questions."""
    found = [wire]
    frontier = [wire]
    for _ in range(2):
        following = []
        for data in frontier:
            for wbits in (31, 15, -15):
                decoded = _inflate(data, wbits)
                if decoded is not None and decoded not in found:
                    found.append(decoded)
                    following.append(decoded)
        frontier = following
    return found
