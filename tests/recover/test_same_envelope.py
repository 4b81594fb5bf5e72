"""A recovered event is the envelope its push would have made, except ``via``: a Marketo REST
activity against the direct push of the same activity (a property over generated activities),
a bulk-extract row (which lacks only the log item id), and a journal event against its webhook
delivery."""

import csv
import io
import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.auth import TenantDirectory
from ingest.gate import Principal
from ingest.intake import IntakeLimits, adobe_outcome, journal_outcome, push_outcome, rest_outcome
from ingest.streams.rest_activity import ActivityCatalog, bulk_record
from ingest.tenant_settings import Tenant
from pipeline.envelope import Envelope, Via
from tools.simulate.catalog import activity_types
from tools.simulate.marketo_bulk import COLUMNS
from tools.simulate.upstream import rest_record, types_result

MUNCHKIN = "123-ABC-456"
AT = "2026-03-05T11:00:00.000Z"
LIMITS = IntakeLimits(8 * 1024 * 1024, 32, 1000)
CATALOG = ActivityCatalog.from_types(types_result())
TYPES = activity_types()
values = st.one_of(st.integers(-(10**9), 10**9), st.text(max_size=20), st.booleans())


@st.composite
def activities(draw: st.DrawFn) -> dict[str, Any]:
    """A direct-push activity in its documented field set, of a type the instance has."""
    kind = draw(st.sampled_from(TYPES))
    chosen = [a for a in kind.attributes if draw(st.booleans())]
    activity: dict[str, Any] = {
        "marketoGUID": str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)), version=4)),
        "leadId": draw(st.integers(1, 10**9)),
        "activityDate": draw(st.datetimes(datetime(2000, 1, 1), datetime(2099, 1, 1))).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
        "activityTypeId": kind.id,
        "activityType": kind.name,
        "activityLogItemId": draw(st.integers(1, 10**12)),
        "primaryAttributeValueId": draw(st.integers(0, 10**6)),
        "primaryAttributeValue": draw(st.text(max_size=30)),
        "attributes": [{"name": n, "dataType": t, "value": draw(values)} for n, t, _ in chosen],
    }
    if draw(st.booleans()):
        activity["campaignId"] = draw(st.integers(1, 10**6))
    return activity


def pushed(activity: dict[str, Any]) -> Envelope:
    body = orjson.dumps({"munchkinId": MUNCHKIN, "activities": [activity]})
    (envelope,) = push_outcome(body, Principal.push(MUNCHKIN), LIMITS, AT).envelopes()
    return envelope


def recovered(record: dict[str, Any]) -> Envelope:
    outcome = rest_outcome([record], Principal.rest(MUNCHKIN), CATALOG, AT)
    (envelope,) = outcome.envelopes()
    return envelope


@settings(max_examples=200, deadline=None)
@given(activities())
def test_a_rest_activity_is_its_push_envelope_but_for_via(activity: dict[str, Any]) -> None:
    rest = recovered(rest_record(activity, activity["marketoGUID"]))
    assert rest.via is Via.MARKETO_REST
    assert replace(rest, via=Via.DIRECT_PUSH) == pushed(activity)


@settings(max_examples=50, deadline=None)
@given(activities())
def test_a_bulk_row_lacks_only_the_log_item_id(activity: dict[str, Any]) -> None:
    record = rest_record(activity, activity["marketoGUID"])
    attributes = {a["name"]: a["value"] for a in record["attributes"]}
    row = {**record, "attributes": orjson.dumps(attributes).decode()}
    out = io.StringIO()
    csv.writer(out).writerows([COLUMNS, ["" if row.get(c) is None else row[c] for c in COLUMNS]])
    (parsed,) = csv.DictReader(io.StringIO(out.getvalue()))
    bulk = recovered(bulk_record(parsed))
    push = pushed(activity)
    assert (bulk.id, bulk.type, bulk.subject) == (push.id, push.type, push.subject)
    without = {k: v for k, v in push.data.items() if k != "activityLogItemId"}
    if len({a["name"] for a in activity["attributes"]}) == len(activity["attributes"]):
        # text columns come back as text: only compare what a CSV keeps typed
        assert bulk.data.keys() == without.keys()


def test_a_journal_event_is_its_webhook_envelope_but_for_via() -> None:
    tenant = Tenant(MUNCHKIN, (), "client-1")
    event = {
        "specversion": "1.0",
        "type": "com.adobe.platform.marketo.activity.standard.openemail",
        "source": "urn:marketo_activity_stream",
        "id": "9f0e",
        "time": "2026-03-02T09:15:04Z",
        "eventid": "e-1",
        "recipientclientid": "client-1",
        "data": {"munchkinId": MUNCHKIN, "leadId": "88", "activityTypeId": 10, "attributes": []},
    }
    directory = TenantDirectory.from_tenants([tenant])
    (hook,) = adobe_outcome(
        orjson.dumps([event]), directory, LIMITS, AT, authenticated=True
    ).envelopes()
    principal = Principal.adobe("client-1", frozenset({MUNCHKIN}))
    (journal,) = journal_outcome(event, principal, LIMITS, AT).envelopes()
    assert journal.via is Via.ADOBE_IO_JOURNAL
    assert replace(journal, via=Via.ADOBE_IO) == hook
