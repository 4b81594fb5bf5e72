"""The hostile values the fuzzer draws from: odd paths and methods, header bytes, content types
and encodings, extreme times, ids and numbers, tenant claims.
"""

from typing import Any

from tests.fuzz import model as m
from tests.fuzz.model import (
    MAX_EVENTS,
    SBX,
    STA,
    TENANTS,
    UNCONFIGURED,
    VALID_TOKENS,
    Big,
    Deep,
    Raw,
)

PUSH = m.PUSH_PATH
ADOBE = m.ADOBE_PATH
ODD_PATHS = (
    b"/",
    b"/v1/lead-activity/",
    b"/v1/LEAD-ACTIVITY",
    b"//v1/adobe-io",
    b"/v1/../v1/adobe-io",
    b"/v1/adobe-io/..",
    b"/%00",
    b"/v1/lead-activity%00",
    b"/v1/%2e%2e/healthz",
    b"/x%0d%0aFORGED-LOG-LINE",
    b"*",
    b"http://127.0.0.1/v1/lead-activity",
    b"/" + b"a" * 5000,
    b"/v1/adobe-io?challenge=x&challenge=y",
    b"/v1/lead-activity?munchkinId=111-STA-111",
    b"/\xff\xfe",
    b"/v1/lead-activity#fragment",
    b"",
)
OTHER_METHODS = (
    *m.METHODS,
    b"PROPFIND",
    b"FUZZ",
    b"post",
    b"G\x00T",
    b"\x16\x03\x01\x02\x00\x01",  # the start of a TLS ClientHello on the plain port
)
VERSIONS_ODD = (b"HTTP/1.0", b"HTTP/2.0", b"HTTP/0.9", b"HTTP/1.1x", b"")

# Bytes that no client should put in a header: controls, CR, LF, NUL, invalid and odd UTF-8.
HOSTILE_BYTES = (
    b"\xff",
    b"\r",
    b"\x00",
    b"\n",
    b"\xc3\x28",
    b"\x80",
    b"\x7f",
    b"\x01",
    b"\x1b[31m",
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\xe2\x80\xa8",
    b"\xc2\xa0",
    b"\xef\xbb\xbf",
    b" ",
    b"\t",
    b"\r\n",
    b"\r\n ",
)
SCHEMES: tuple[bytes, ...] = (
    b"Bearer ",
    b"bearer ",
    b"",
    b"BEARER ",
    b"Bearer  ",
    b"Bearer\t",
    b"Basic ",
    b"Token ",
)
SCHEMES += (b"Bearer", b"Bearer: ", b"Bearer Bearer ")
CLEAN_SCHEMES = (b"Bearer ", b"bearer ", b"")

CONTENT_TYPES: tuple[bytes | None, ...] = (
    b"application/json",
    None,
    b"application/json; charset=utf-8",
    b"application/cloudevents+json",
    b"application/cloudevents-batch+json; charset=utf-8",
    b"text/plain",
    b"application/x-www-form-urlencoded",
    b"multipart/form-data; boundary=x",
    b"application/json\x00",
    b"application/json; charset=\xff",
    b"",
    b"*/*",
    b"APPLICATION/JSON",
    b"application/json; charset=latin-1",
    b"application/json, text/plain",
)
CLEAN_CONTENT_TYPES = CONTENT_TYPES[:5]
ENCODING_NAMES = (
    "none",
    "gzip",
    "deflate",
    "identity",
    "deflate-raw",
    "GZIP-upper",
    "x-gzip",
    "gzip-gzip-double",
    "gzip-gzip-once",
    "gzip-label-plain",
    "deflate-label-plain",
    "gzip-truncated",
    "gzip-trailing-garbage",
    "br",
    "zstd",
    "compress",
    "garbage",
    "empty-label",
    "gzip-q",
)
CLEAN_ENCODINGS = ENCODING_NAMES[:4]
BOMBS = ("gzip-bomb", "deflate-bomb", "gzip-gzip-bomb")

EXTRA_HEADERS: tuple[tuple[tuple[bytes, bytes], ...], ...] = (
    ((b"Expect", b"100-continue"),),
    ((b"X-Forwarded-For", b"\xff\xfe, 10.0.0.1"),),
    ((b"Accept", b"application/json"),),
    ((b"Content-Length", b"0"),),
    ((b"Transfer-Encoding", b"gzip"),),
    ((b"Host", b"evil.example"),),
    ((b"Content-Type", b"text/plain"),),
    ((b"X Bad Name", b"v"),),
    ((b"X-\xff", b"v"),),
    ((b"Connection", b"keep-alive, Upgrade"), (b"Upgrade", b"websocket")),
    ((b"Cookie", b"a=" + b"b" * 6000),),
    ((b"X-Adobe-Digital-Signature-1", b"AAAA"), (b"X-Adobe-Public-Key1-Path", b"/x")),
    tuple((b"X-Junk-%d" % i, b"v" * 40) for i in range(120)),
    ((b"X-Long", b"y" * 9000),),
    ((b"X-Null", b"a\x00b"),),
)

TIME_FIELDS = ("activityDate", "time", "messageCreatedDate")
ID_FIELDS = (
    "leadId",
    "marketoGUID",
    "id",
    "eventid",
    "event_id",
    "activityTypeId",
    "componentId",
    "campaignId",
    "userId",
    "messageId",
    "subType",
    "componentType",
    "activityType",
    "type",
    "specversion",
    "source",
    "eventAction",
)
NUMBER_FIELDS = (
    "primaryAttributeValueId",
    "activityLogItemId",
    "value",
    "dailyQuota",
    "percent",
    "componentId",
    "campaignId",
)
STRUCTURE_FIELDS = ("data", "event", "body", "activities", "attributes", "munchkinId")
TENANT_FIELDS = ("munchkinId", "recipientclientid", "recipient_client_id")

SPECIAL_VALUES: tuple[Any, ...] = (
    1e15,
    1e300,
    -1e300,
    -1,
    Raw("123456789012345678901234567890"),
    "9999-12-31T23:59:59-14:00",
    "0000-00-00",
    "0001-01-01T00:00:00+14:00",
    0,
    None,
    True,
    False,
    "",
    " ",
    1.5e308,
    -1.5e308,
    5e-324,
    -0.0,
    0.5,
    10**11,
    10**11 + 1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    -(2**63),
    2**64 - 1,
    253402300799,
    253402300800,
    253402300799999,
    253402300800000,
    -62135596800,
    -62135596801,
    Raw("1e400"),
    Raw("-1e400"),
    Raw("18446744073709551616"),
    Raw("-9223372036854775809"),
    Raw("1E+308"),
    Raw("1e-400"),
    Raw("-0"),
    Raw('"\\ud800"'),
    Raw('"\\udfff\\ud800"'),
    Raw('"\\u0000"'),
    "9999-12-31T23:59:59.999999Z",
    "2026-02-30T00:00:00Z",
    "2026-03-05T10:59:58Z",
    "2026-03-05 10:59:58.123",
    "2026-03-05T10:59:58+25:00",
    "+275760-09-13T00:00:00Z",
    "-000001-01-01T00:00:00Z",
    "T",
    "1e300",
    "NaN",
    "Infinity",
    "-1",
    "999999999999999999999",
    "\x00",
    "\u202e",
    "\U0001f600",
    "\\",
    '"',
    "null",
    [],
    {},
    [1, "a"],
    {"a": {"b": 1}},
    Deep(33),
    Deep(200),
    Big("x", 10_000),
    Big("\u00e9", 5_000),
    Big("9", 400),
)
CLAIMS: tuple[Any, ...] = (
    *TENANTS,
    UNCONFIGURED,
    STA.lower(),
    f" {SBX} ",
    "",
    None,
    Raw("123"),
    Big("9", 10_000),
    f"{STA}:{SBX}",
)
# The values most likely to break time, id and number handling, tried on every event's own fields
# more often than the general edits would.
EXTREME_TIMES: tuple[Any, ...] = (
    1e15,
    1e300,
    -1e300,
    "9999-12-31T23:59:59-14:00",
    "0000-00-00",
    -1,
    Raw("123456789012345678901234567890"),
    "0001-01-01T00:00:00+14:00",
    2**63 - 1,
    -62135596801,
    253402300800,
    253402300800000,
    Raw("1e400"),
    1.5e308,
    "",
    "+275760-09-13T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-03-05T10:59:58+25:00",
    True,
    None,
    [],
    {},
    Big("9", 400),
)
EXTREME_IDS: tuple[Any, ...] = (
    True,
    1.5,
    {},
    "",
    Big("x", 10_000),
    -1,
    0,
    False,
    -0.0,
    {"id": 1},
    [],
    " ",
    2**64 - 1,
    Raw("18446744073709551616"),
    1e300,
    None,
    "\x00",
    Raw('"\\ud800"'),
)
PUSH_TIMES = ("activityDate",)
PUSH_IDS = (
    "leadId",
    "marketoGUID",
    "activityTypeId",
    "primaryAttributeValueId",
    "activityLogItemId",
)
ADOBE_TIMES = ("time", "activityDate")
ADOBE_IDS = (
    "id",
    "eventid",
    "leadId",
    "activityTypeId",
    "componentId",
    "campaignId",
    "userId",
    "activityLogItemId",
    "primaryAttributeValueId",
)
DEEP_LEVELS = (33, 32, 31, 100, 250, 1100)
FILLS = (100, MAX_EVENTS - 1, MAX_EVENTS, MAX_EVENTS + 1, 5000)
FIELD_GROUPS = (TIME_FIELDS, ID_FIELDS, NUMBER_FIELDS, STRUCTURE_FIELDS)
ALL_PATHS = m.ROUTE_PATHS + ODD_PATHS
VALID_NAMES = tuple(VALID_TOKENS)
EDIT_BYTES = (
    b"\xff",
    b"\xef\xbb\xbf",
    b"\x00",
    b",",
    b"]",
    b"}}}",
    b"\xed\xa0\x80",
    b"null",
    b"[]",
    b"{}",
    b'"text"',
    b"1e400",
    b"",
)
