"""Hypothesis strategies for one request to the ingress.

Every choice shrinks towards the plain, valid request (integer draws shrink to 0, and 0 always
means "leave it as a real client would send it"), so a shrunk failure shows only the hostile parts
that matter. Deliveries start as the realistic documents of tests/payloads.py and are then bent:
other tenants' munchkin IDs and recipients, extreme values in time, id and number fields, deep
nesting, byte edits, encodings, header bytes no client should send.
"""

from hypothesis import strategies as st

from tests.fuzz.deliveries import (
    adobe_cases,
    push_cases,
)
from tests.fuzz.draws import (
    VALUES,
    integers,
    pick,
    rarely,
    transport,
)
from tests.fuzz.model import (
    Body,
    FuzzCase,
)
from tests.fuzz.values import (
    ADOBE,
    ALL_PATHS,
    OTHER_METHODS,
    VERSIONS_ODD,
)

# ---- the other routes ---------------------------------------------------------------------------

CHALLENGES = (
    b"abc123",
    b"",
    b"%00",
    b"%0d%0aFORGED-LOG-LINE",
    b"%ff%fe",
    b"%e2%80%ae",
    b"a+b%20c",
    b"x" * 256,
    b"x" * 257,
    b"x" * 9000,
    b"%F0%9F%98%80",
    b"\xff",
)


def challenge_cases(draw: st.DrawFn) -> FuzzCase:
    value = draw(pick(CHALLENGES))
    query = b"?challenge=" + value if not rarely(draw, 10) else draw(pick((b"", b"?x=1", b"?")))
    headers = ((b"Accept", b"application/json"),) if rarely(draw, 40) else ()
    method = draw(pick((b"GET", b"HEAD", b"PUT"))) if rarely(draw, 10) else b"GET"
    return FuzzCase(method, ADOBE + query, headers=headers)


def other_requests(draw: st.DrawFn) -> FuzzCase:
    method = draw(pick(OTHER_METHODS))
    target = draw(pick(ALL_PATHS))
    body = Body(draw(VALUES)) if rarely(draw, 30) else None
    options, _ = transport(draw)
    version = draw(pick(VERSIONS_ODD)) if rarely(draw, 20) else b"HTTP/1.1"
    return FuzzCase(method, target, body=body, version=version, **options)


@st.composite
def fuzz_cases(draw: st.DrawFn) -> FuzzCase:
    """One request: mostly deliveries on the two delivery routes, the rest everything else."""
    kind = draw(integers(0, 99))
    if kind < 44:
        return push_cases(draw)
    if kind < 86:
        return adobe_cases(draw)
    if kind < 92:
        return challenge_cases(draw)
    return other_requests(draw)
