"""What the request path keeps per process instead of making per request must be what it made
per request: the same answer bytes, the same metric children, the same principal."""

from collections import Counter

import orjson
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from ingest.auth import TenantDirectory, principal_for_recipient
from ingest.gate import Part, Principal
from ingest.handlers import answer
from ingest.metrics import IngestMetrics
from ingest.tenant_settings import Tenant
from pipeline.envelope import Stream


@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_the_answer_is_what_json_response_answers(accepted: int, deadlettered: int) -> None:
    expected = web.json_response({"accepted": accepted, "deadlettered": deadlettered})
    got = answer(accepted, deadlettered)
    assert got.body == expected.body
    assert got.headers["Content-Type"] == expected.headers["Content-Type"]
    assert got.status == expected.status == 200
    assert isinstance(got.body, bytes)
    assert orjson.loads(got.body) == {"accepted": accepted, "deadlettered": deadlettered}


def test_a_cached_child_is_the_labelled_child_and_counts_in_the_registry() -> None:
    metrics = IngestMetrics.create(["100-AAA-111"])
    child = metrics.requests_by["adobe-io", "200"]
    assert child is metrics.requests.labels("adobe-io", "200")
    assert metrics.requests_by["adobe-io", "200"] is child
    child.inc()
    metrics.events_by["notification", "accepted"].inc(3)
    sample = metrics.registry.get_sample_value
    assert sample("datastreams_http_requests_total", {"route": "adobe-io", "status": "200"}) == 1
    labels = {"stream": "notification", "outcome": "accepted"}
    assert sample("datastreams_events_total", labels) == 3
    silent = {"tenant": "100-AAA-111", "stream": "lead-activity"}
    assert sample("datastreams_tenant_events_total", silent) == 0  # there from the start


def test_two_apps_never_share_a_cached_child() -> None:
    first, second = IngestMetrics.create(), IngestMetrics.create()
    first.requests_by["health", "200"].inc()
    labels = {"route": "health", "status": "200"}
    assert second.registry.get_sample_value("datastreams_http_requests_total", labels) is None


def test_a_recipient_principal_is_made_once_and_equals_a_fresh_one() -> None:
    tenants = [
        Tenant(munchkin_id="100-AAA-111", adobe_client_id="client-a"),
        Tenant(munchkin_id="100-BBB-222", adobe_client_id="client-a"),
    ]
    directory = TenantDirectory.from_tenants(tenants)
    first = principal_for_recipient("client-a", 0, directory)
    assert first is principal_for_recipient("client-a", 7, directory)
    assert first == Principal.adobe("client-a", frozenset({"100-AAA-111", "100-BBB-222"}))


def test_a_new_part_counts_records_as_a_counter_does_and_shares_nothing() -> None:
    principal = Principal.adobe("client-a", frozenset({"100-AAA-111"}))
    first, second = Part(principal), Part(principal)
    key = ("100-AAA-111", Stream.LEAD_ACTIVITY)
    assert first.record_tenants[key] == 0  # a Counter's missing key, not a KeyError
    first.record_tenants[key] += 2
    assert first.record_tenants == Counter({key: 2})
    assert isinstance(first.record_tenants, Counter)
    assert second.record_tenants == Counter()
