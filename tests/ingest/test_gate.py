"""The tenant gate as a pure function, and the intake of every path through it: own tenant,
another tenant, a mixed delivery and an unparseable one → accepted or 403 (no broker needed)."""

from typing import Any

import orjson
import pytest

from ingest.auth import TenantDirectory
from ingest.errors import TenantMismatch, UnusableInput
from ingest.gate import UNATTRIBUTED_ADOBE, Outcome, Part, Principal, admit
from ingest.intake import IntakeLimits, adobe_outcome, push_outcome
from ingest.normalize import dead_letter
from ingest.secrets import ApiToken
from ingest.tenant_settings import Tenant
from pipeline.envelope import Via
from tests.support import payloads as p

OTHER = "999-OTH-999"
OTHER_CLIENT = "other-client"
AT = "2026-03-05T11:00:00.000Z"
LIMITS = IntakeLimits(max_body_bytes=1 << 20, max_json_depth=32, max_events=1000)
DIRECTORY = TenantDirectory.from_tenants(
    [
        Tenant(p.MUNCHKIN, (ApiToken.from_plain("a" * 20),), p.CLIENT_ID),
        Tenant(p.SANDBOX, (), p.CLIENT_ID),
        Tenant(OTHER, (ApiToken.from_plain("b" * 20),), OTHER_CLIENT),
    ]
)
A = Principal.push(p.MUNCHKIN)
DEEP: dict[str, Any] = {}
for _ in range(40):  # deeper than LIMITS.max_json_depth: refused before anything walks it
    DEEP = {"d": DEEP}


def unusable_activity(**fields: Any) -> dict[str, Any]:
    activity = p.activity() | fields
    del activity["leadId"]
    return activity


PUSHES: dict[str, tuple[Any, bool]] = {  # name: (body, admitted for tenant A)
    "own tenant": (p.direct_push([p.activity(), p.activity()]), True),
    "own tenant, a bare array": ([p.activity()], True),
    "own tenant, one unusable activity": (p.direct_push([unusable_activity()]), True),
    "another tenant at the top": (p.direct_push([p.activity()], munchkin=OTHER), False),
    "another tenant, no activities": (p.direct_push([], munchkin=OTHER), False),
    "another tenant in an activity": (p.direct_push([p.activity() | {"munchkinId": OTHER}]), False),
    "mixed, the foreign one unusable": (
        p.direct_push([p.activity(), unusable_activity(munchkinId=OTHER)]),
        False,
    ),
    "mixed, padded with spaces": (
        p.direct_push([p.activity() | {"munchkinId": f" {OTHER} "}]),
        False,
    ),
    "unparseable": (b'{"munchkinId": "' + OTHER.encode() + b'", "activities": [', True),
    "too deep, own tenant": (p.direct_push([p.activity() | {"deep": DEEP}]), True),
    "too deep, another tenant at the top": (
        p.direct_push([p.activity() | {"deep": DEEP}], munchkin=OTHER),
        False,
    ),
    "too deep, another tenant in an activity": (
        p.direct_push([p.activity() | {"deep": DEEP, "munchkinId": OTHER}]),
        False,
    ),
    "activities not a list, another tenant at the top": (
        {"munchkinId": OTHER, "activities": {"not": "a list"}},
        False,
    ),
}


@pytest.mark.parametrize("name", PUSHES)
def test_direct_push_paths(name: str) -> None:
    body, admitted = PUSHES[name]
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    if not admitted:
        with pytest.raises(TenantMismatch, match=OTHER):
            push_outcome(content, A, LIMITS, AT)
        return
    outcome = push_outcome(content, A, LIMITS, AT)
    tenants: set[str | None] = {e.munchkinid for e in outcome.envelopes()}
    tenants |= {d.munchkinid for d in outcome.dead_letters()}
    assert tenants == {p.MUNCHKIN}
    assert outcome.count >= 1


def adobe(munchkin: str, client: str = p.CLIENT_ID) -> dict[str, Any]:
    return p.lads_event(data=p.lads_data(munchkin=munchkin), client_id=client)


ADOBE: dict[str, tuple[Any, bool]] = {
    "own tenant": ([adobe(p.MUNCHKIN), adobe(p.SANDBOX)], True),
    "another tenant's recipient, its own tenant": ([adobe(OTHER, OTHER_CLIENT)], True),
    "another tenant under my recipient": ([adobe(OTHER)], False),
    "mixed, each honest": ([adobe(p.MUNCHKIN), adobe(OTHER, OTHER_CLIENT)], True),
    "mixed, smuggled beside an honest one": ([adobe(OTHER), adobe(OTHER, OTHER_CLIENT)], False),
    "mixed, the foreign one unusable": (
        [adobe(p.MUNCHKIN), adobe(OTHER) | {"type": "not.a.marketo.type"}],
        False,
    ),
    "unparseable": (b'[{"recipientclientid": "' + OTHER_CLIENT.encode(), True),
    "too deep, own tenant": ([adobe(p.MUNCHKIN) | {"deep": DEEP}], True),
    "too deep, another tenant under my recipient": ([adobe(OTHER) | {"deep": DEEP}], False),
}


@pytest.mark.parametrize("name", ADOBE)
def test_adobe_paths(name: str) -> None:
    body, admitted = ADOBE[name]
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    if not admitted:
        with pytest.raises(TenantMismatch, match=f"event .* '{OTHER}'"):
            adobe_outcome(content, DIRECTORY, LIMITS, AT, authenticated=True)
        return
    outcome = adobe_outcome(content, DIRECTORY, LIMITS, AT, authenticated=True)
    for part in outcome.parts:
        claimed = {e.munchkinid for e in part.envelopes} | {
            d.munchkinid for d in part.dead_letters if d.munchkinid
        }
        assert claimed <= part.principal.tenants, name


def test_an_unparseable_adobe_body_belongs_to_no_registration() -> None:
    outcome = adobe_outcome(b"[{", DIRECTORY, LIMITS, AT, authenticated=True)
    [part] = outcome.parts
    assert part.principal == UNATTRIBUTED_ADOBE
    assert [d.munchkinid for d in part.dead_letters] == [None]


def test_admit_checks_every_part_against_its_own_principal() -> None:
    letter = dead_letter(b"x", UnusableInput("r", "d"), Via.DIRECT_PUSH, AT, munchkin=OTHER)
    nameless = dead_letter(b"y", UnusableInput("r", "d"), Via.ADOBE_IO, AT, munchkin=None)
    admit(Outcome([Part(A, dead_letters=[nameless])]))  # names nobody: its principal's
    admit(Outcome([Part(Principal.push(OTHER), dead_letters=[letter])]))
    with pytest.raises(TenantMismatch):
        admit(Outcome([Part(A), Part(A, dead_letters=[letter])]))
    with pytest.raises(TenantMismatch, match="the delivery"):
        admit(Outcome([Part(A, named={OTHER})]))
