"""What the fuzzer sends, as data: the tenants and credentials of the fuzzed ingress, one request
(``FuzzCase``) and how it becomes bytes on the wire (``render``).

A case names its credential symbolically ("static-sta-0", "jwt-expired" ...) and says how to
sign, not what the signature is: the world resolves names to the run's real tokens and signs the
final body, so Hypothesis can shrink a body and the signature stays what the case says it is.
"""

from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from tests.fuzz.encodings import ENCODINGS

# The tenants of the fuzzed ingress: three with static tokens (two of them sandbox/production of
# one Adobe org, sharing a recipient client id), one with JWTs, two with opaque tokens checked at
# their own identity provider.
STA = "111-STA-111"
SBX = "222-SBX-222"
OWN = "333-OWN-333"
JWT = "444-JWT-444"
OPA = "555-OPA-555"
OPB = "666-OPB-666"
TENANTS = (STA, SBX, OWN, JWT, OPA, OPB)
UNCONFIGURED = "999-UNK-999"

SHARED_CLIENT = "fuzz-shared-recipient-0001"
OWN_CLIENT = "fuzz-own-recipient-0002"
UNKNOWN_CLIENT = "fuzz-unknown-recipient-0003"
MUNCHKINS_BY_CLIENT: dict[str, frozenset[str]] = {
    SHARED_CLIENT: frozenset({STA, SBX}),
    OWN_CLIENT: frozenset({OWN}),
}

PUSH_PATH = b"/v1/lead-activity"
ADOBE_PATH = b"/v1/adobe-io"
ROUTE_PATHS = (PUSH_PATH, ADOBE_PATH, b"/healthz", b"/readyz", b"/metrics")
METHODS = (b"GET", b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"HEAD", b"TRACE", b"CONNECT")

MAX_JSON_DEPTH = 32
MAX_EVENTS = 1000

# Credentials by name. Valid ones map to the one tenant they authenticate.
VALID_TOKENS: dict[str, str] = {
    "static-sta-0": STA,
    "static-sta-1": STA,  # a second token of the same tenant (rotation)
    "static-sbx": SBX,
    "static-own": OWN,
    "jwt-rs256": JWT,
    "jwt-es256": JWT,
    "opaque-opa": OPA,
    "opaque-opb": OPB,
}
INVALID_TOKENS = (
    "static-unknown",
    "jwt-expired",
    "jwt-not-yet-valid",
    "jwt-wrong-audience",
    "jwt-wrong-issuer",
    "jwt-wrong-client",
    "jwt-alg-none",
    "jwt-hs256-public-key",
    "jwt-tampered",
    "jwt-unknown-kid",
    "jwt-foreign-key",
    "opaque-opa-inactive",
    "opaque-opa-expired",
    "opaque-opb-wrong-client",
    "opaque-unknown",
    "garbage-dots",
    "garbage-short",
    "empty",
)
TOKEN_NAMES = (*VALID_TOKENS, *INVALID_TOKENS)


def token_tenant(name: str) -> str | None:
    return VALID_TOKENS.get(name)


@dataclass(frozen=True)
class Raw:
    """A JSON value written verbatim: numbers JSON allows and Python cannot hold, bad escapes."""

    text: str


@dataclass(frozen=True)
class Deep:
    """Arrays nested ``depth`` levels: written at render time so a case's repr stays short."""

    depth: int


@dataclass(frozen=True)
class Big:
    """A string of ``size`` copies of ``char``."""

    char: str
    size: int


@dataclass(frozen=True)
class ByteEdit:
    """A change to the serialized body: ``truncate`` at, ``insert`` data at, ``prefix``, ``suffix``
    or ``replace`` the whole body with data."""

    kind: str
    at: int = 0
    data: bytes = b""


@dataclass(frozen=True)
class Body:
    doc: Any
    edit: ByteEdit | None = None
    # Copies of the first event (or activity) appended at render time: large batches without a
    # large repr.
    fill: int = 0


@dataclass(frozen=True)
class Auth:
    token: str  # a name from TOKEN_NAMES
    scheme: bytes = b"Bearer "
    pad: bytes = b""
    inject: tuple[int, bytes] | None = None  # (position in the token, bytes)
    repeat: int = 1
    duplicate: str | None = None  # a second Authorization header with this token


@dataclass(frozen=True)
class SigSlot:
    """How one of Adobe's two (signature, key path) header pairs is written."""

    mode: str  # see SIG_MODES
    inject: tuple[int, bytes] | None = None


SIG_MODES = (
    "valid",  # RSA-SHA256 over the decoded body with the key at the path
    "absent",
    "other-body",  # a real signature, over other bytes
    "other-key",  # the other key's signature under this key's path
    "wire",  # over the bytes on the wire (differs from the body when it is compressed)
    "bad-base64",
    "empty",
    "off-list-path",
    "unknown-key",  # a well-formed path the key server does not serve
)


@dataclass(frozen=True)
class FuzzCase:
    method: bytes
    target: bytes
    body: Body | None = None
    auth: Auth | None = None
    signature: tuple[SigSlot, SigSlot] | None = None
    content_type: bytes | None = None
    encoding: str = "none"  # a key of ENCODINGS
    chunked: bool = False
    headers: tuple[tuple[bytes, bytes], ...] = ()
    version: bytes = b"HTTP/1.1"
    # Set only on deliveries nothing was done to: a valid credential, a well-formed body of this
    # many events for tenants the credential may publish for. They must be answered 200.
    pristine_events: int | None = None

    @property
    def path(self) -> bytes:
        return self.target.partition(b"?")[0]


class Secrets(Protocol):
    """What rendering needs from the running world."""

    def token(self, name: str) -> str: ...

    def sign(self, slot: int, body: bytes) -> str: ...

    def key_path(self, slot: int) -> str: ...


# ---- bodies -------------------------------------------------------------------------------------


def _leaf(value: Any) -> Any:
    if isinstance(value, Raw):
        return orjson.Fragment(value.text.encode("utf-8", "surrogatepass"))
    if isinstance(value, Deep):
        return orjson.Fragment(b"[" * value.depth + b"]" * value.depth)
    if isinstance(value, Big):
        return value.char * value.size
    raise TypeError(f"cannot serialize {type(value).__name__}")


def _filled(doc: Any, fill: int) -> Any:
    if not fill:
        return doc
    if isinstance(doc, list) and doc:
        return doc + [doc[0]] * fill
    if isinstance(doc, dict) and isinstance(doc.get("activities"), list) and doc["activities"]:
        return {**doc, "activities": doc["activities"] + [doc["activities"][0]] * fill}
    if isinstance(doc, dict):
        return [doc] * (fill + 1)
    return doc


def body_bytes(body: Body) -> bytes:
    """The body as the application should see it: serialized, then edited."""
    # Without the option orjson writes the leaf dataclasses as objects instead of calling _leaf.
    option = orjson.OPT_PASSTHROUGH_DATACLASS
    data = orjson.dumps(_filled(body.doc, body.fill), default=_leaf, option=option)
    edit = body.edit
    if edit is None:
        return data
    at = min(edit.at, len(data))
    if edit.kind == "truncate":
        return data[:at]
    if edit.kind == "insert":
        return data[:at] + edit.data + data[at:]
    if edit.kind == "prefix":
        return edit.data + data
    if edit.kind == "suffix":
        return data + edit.data
    return edit.data  # replace


# ---- the request on the wire --------------------------------------------------------------------


@dataclass
class Rendered:
    raw: bytes
    body: bytes  # what the application should read (before byte-level encoding)
    wire_body: bytes
    authorizations: list[bytes]  # every Authorization header value, in order
    signatures: list[tuple[bytes, bytes]] = field(default_factory=list)  # (signature, path)


def _injected(value: bytes, inject: tuple[int, bytes] | None) -> bytes:
    if inject is None:
        return value
    at = inject[0] % (len(value) + 1)
    return value[:at] + inject[1] + value[at:]


def authorization(auth: Auth, secrets: Secrets) -> bytes:
    token = secrets.token(auth.token).encode() * auth.repeat
    return auth.pad + auth.scheme + _injected(token, auth.inject) + auth.pad


def _signature_pair(slot: int, spec: SigSlot, body: bytes, wire: bytes, secrets: Secrets) -> Any:
    path = secrets.key_path(slot)
    mode = spec.mode
    if mode == "absent":
        return None
    if mode == "valid":
        signature = secrets.sign(slot, body)
    elif mode == "wire":
        signature = secrets.sign(slot, wire)
    elif mode == "other-body":
        signature = secrets.sign(slot, body + b" ")
    elif mode == "other-key":
        signature = secrets.sign(3 - slot, body)
    elif mode == "bad-base64":
        signature = secrets.sign(slot, body)[:-3] + "*=="
    elif mode == "empty":
        signature = ""
    elif mode == "off-list-path":
        signature = secrets.sign(slot, body)
        path = "/prod/keys/../keys/" + path.rsplit("/", 1)[1]
    else:  # unknown-key
        signature = secrets.sign(slot, body)
        path = "/prod/keys/pub-key-00000000-fuzz-0000-0000-000000000000.pem"
    return _injected(signature.encode(), spec.inject), path.encode()


def render(case: FuzzCase, secrets: Secrets) -> Rendered:
    body = body_bytes(case.body) if case.body is not None else b""
    encoding = ENCODINGS[case.encoding]
    wire = encoding.encode(body) if case.body is not None else b""
    headers: list[tuple[bytes, bytes]] = [(b"Host", b"127.0.0.1"), (b"Connection", b"close")]
    auth_values = []
    if case.auth is not None:
        auth_values.append(authorization(case.auth, secrets))
        if case.auth.duplicate is not None:
            auth_values.append(authorization(Auth(case.auth.duplicate), secrets))
    headers += [(b"Authorization", value) for value in auth_values]
    signatures = []
    for slot, spec in enumerate(case.signature or (), start=1):
        pair = _signature_pair(slot, spec, body, wire, secrets)
        if pair is not None:
            headers.append((f"x-adobe-digital-signature-{slot}".encode(), pair[0]))
            headers.append((f"x-adobe-public-key{slot}-path".encode(), pair[1]))
            signatures.append(pair)
    if case.content_type is not None:
        headers.append((b"Content-Type", case.content_type))
    if encoding.header is not None and case.body is not None:
        headers.append((b"Content-Encoding", encoding.header))
    headers.extend(case.headers)
    if case.chunked:
        headers.append((b"Transfer-Encoding", b"chunked"))
        payload = b"".join(
            b"%x\r\n%s\r\n" % (len(wire[i : i + 4096]), wire[i : i + 4096])
            for i in range(0, len(wire), 4096)
        )
        payload += b"0\r\n\r\n"
    else:
        headers.append((b"Content-Length", str(len(wire)).encode()))
        payload = wire
    version = b" " + case.version if case.version else b""
    head = case.method + b" " + case.target + version + b"\r\n"
    head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    return Rendered(head + b"\r\n" + payload, body, wire, auth_values, signatures)
