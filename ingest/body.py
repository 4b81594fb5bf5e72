"""A delivery's body: read within its size and time limits, and decoded when compressed.

Request ``Content-Encoding`` policy. Neither upstream documents compressed requests, so the
plausible ones are accepted and decoded here (aiohttp's own decompression is off, so that the
bytes Adobe signed and the size limits stay ours):

* none or ``identity``: the body as sent;
* ``gzip`` / ``x-gzip``, ``deflate`` (zlib-wrapped as HTTP says, or raw as some clients send):
  decoded; the **decoded** size counts against ``server.max_body_bytes`` (413) and against the
  in-flight budget (503 ``overloaded``), so a few KiB that inflate to megabytes are paid for;
* anything else, or several encodings: 415 ``unsupported_encoding``.

Bytes that do not decode are ``InvalidEncoding``: a 400 while nothing has authenticated the
delivery, a dead letter (reason ``invalid_encoding``, the bytes as sent) once something has.
"""

import asyncio
import zlib
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ingest import keys
from ingest.errors import (
    InvalidEncoding,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedEncoding,
    shorten,
)

IDENTITY = "identity"
# zlib's window bits: 16 + 15 reads a gzip member, 15 a zlib stream, -15 raw deflate.
_GZIP, _ZLIB, _RAW = 31, 15, -15
DECODERS = {"gzip": (_GZIP,), "x-gzip": (_GZIP,), "deflate": (_ZLIB, _RAW)}
CHUNK = 64 * 1024
# Options every runner of the app must use (the server, the tests): the app decodes bodies itself.
RUNNER_OPTIONS: dict[str, Any] = {"auto_decompress": False}


@dataclass(frozen=True, slots=True)
class Body:
    wire: bytes  # exactly as sent: what Adobe signs, what a dead letter keeps
    encoding: str


def encoding_of(request: web.Request) -> str:
    value = request.headers.get("Content-Encoding", "").strip().lower()
    if value in ("", IDENTITY):
        return IDENTITY
    if value in DECODERS:
        return value
    raise UnsupportedEncoding(
        f"Content-Encoding {shorten(value)} is not supported; send identity, gzip or deflate"
    )


async def read_body(request: web.Request) -> Body:
    """The body as sent, once its encoding is known to be one we decode."""
    encoding = encoding_of(request)
    server = request.app[keys.SETTINGS].server
    limit = server.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"body of {request.content_length} bytes exceeds {limit} bytes")
    try:
        if request.content.is_eof():  # every byte is here already: no timer to arm and cancel
            return Body(await request.read(), encoding)
        async with asyncio.timeout(server.body_timeout_s):
            return Body(await request.read(), encoding)
    except web.HTTPRequestEntityTooLarge as exc:
        raise PayloadTooLarge(f"body exceeds {limit} bytes") from exc
    except TimeoutError as exc:
        raise RequestTimeout(f"the body did not arrive within {server.body_timeout_s:g} s") from exc


def decoded(request: web.Request, body: Body) -> bytes:
    """The body's content, its decoded size paid for in the delivery's in-flight reservation."""
    if body.encoding == IDENTITY:
        return body.wire
    content = decode(body.wire, body.encoding, request.app[keys.SETTINGS].server.max_body_bytes)
    request[keys.RESERVATION].grow(len(content) - len(body.wire))
    return content


def decode(wire: bytes, encoding: str, limit: int) -> bytes:
    """Decoded bytes, never more than ``limit`` of them held (a bomb stops at ``limit`` + 1)."""
    first, *fallbacks = DECODERS[encoding]
    try:
        return _inflate(wire, first, limit)
    except InvalidEncoding:
        for wbits in fallbacks:
            with suppress(InvalidEncoding):
                return _inflate(wire, wbits, limit)
        raise


def _inflate(wire: bytes, wbits: int, limit: int) -> bytes:
    out = bytearray()
    rest = wire
    while True:  # gzip may hold several members, one after the other
        inflater = zlib.decompressobj(wbits)
        try:
            out += inflater.decompress(rest, limit + 1 - len(out))
            while inflater.unconsumed_tail and len(out) <= limit:
                out += inflater.decompress(inflater.unconsumed_tail, limit + 1 - len(out))
        except zlib.error as exc:
            raise InvalidEncoding(f"the body is not valid {_name(wbits)} data: {exc}") from exc
        if len(out) > limit:
            raise PayloadTooLarge(f"the body decodes to more than {limit} bytes")
        if not inflater.eof:
            raise InvalidEncoding(f"the {_name(wbits)} data ends before its end marker")
        rest = inflater.unused_data
        if not rest or wbits != _GZIP:
            if rest:
                raise InvalidEncoding(f"{len(rest)} bytes follow the {_name(wbits)} data")
            return bytes(out)


def _name(wbits: int) -> str:
    return {_GZIP: "gzip", _ZLIB: "deflate (zlib)", _RAW: "deflate"}[wbits]
