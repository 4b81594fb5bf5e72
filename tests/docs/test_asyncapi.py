"""docs/asyncapi.yaml is valid AsyncAPI 3.0 and says what the code writes.

The specification's own JSON Schema comes from the npm package ``@asyncapi/specs``, pinned in
``tests/docs/asyncapi-schema/`` and installed there with ``npm ci`` the first time. The topic
names come from the code's topic builders with the default settings, and the header names and
JSON documents from the functions that build each kind of record.
"""

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from jsonschema import Draft7Validator

from ingest.redrive import ledger_topic
from pipeline.consume.loop import dead_letter_record
from pipeline.consume.record import Partition, Record
from pipeline.envelope import DeadLetter, Envelope, Stream, Via
from pipeline.settings import KafkaSettings, TopicSettings
from pipeline.topics import (
    Topic,
    build_topics,
    build_worker_topics,
    recovery_cursor_topic,
    route,
    route_dead_letter,
)
from pipeline.workers.alerting.engine import Alert
from pipeline.workers.alerting.handler import alert_record
from pipeline.workers.alerting.rules import Severity
from pipeline.workers.effects.effect import Effect, Failure, sink_dead_letter
from pipeline.workers.effects.redrive import redriven_topic
from pipeline.workers.metrics import SINKS
from pipeline.workers.scoring.crossings import Crossing, ScoreAction, ScoreThreshold
from pipeline.workers.scoring.models import parse_decayed_weights
from pipeline.workers.scoring.records import Crossed, crossing_record, score_record
from tests.docs.markdown import DOCS, REPO_ROOT

ASYNCAPI = DOCS / "asyncapi.yaml"
SCHEMA_PACKAGE = Path(__file__).parent / "asyncapi-schema"
SPEC_SCHEMA = SCHEMA_PACKAGE / "node_modules" / "@asyncapi" / "specs" / "schemas" / "3.0.0.json"
ENVELOPE_SCHEMA = REPO_ROOT / "pipeline" / "schema" / "envelope.schema.json"
AT = "2026-03-05T10:59:58.000Z"


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    if not SPEC_SCHEMA.is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install @asyncapi/specs (apt-get install npm)")
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=SCHEMA_PACKAGE,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, f"npm ci in {SCHEMA_PACKAGE} failed: {proc.stderr[-2000:]}"
    schema = json.loads(SPEC_SCHEMA.read_text("utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def load() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(ASYNCAPI.read_text("utf-8"))
    return doc


def errors(validator: Draft7Validator, doc: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(doc)]


def code_topics() -> list[Topic]:
    settings = TopicSettings()  # the default prefix, as the document's addresses
    max_record_bytes = KafkaSettings().max_record_bytes
    workers = build_worker_topics(settings, max_record_bytes)
    inputs = build_topics(settings, max_record_bytes)
    redriven = redriven_topic(workers.sink_dead_letter)
    return [
        *inputs.all(),
        *workers.outputs(),
        ledger_topic(inputs),
        recovery_cursor_topic(settings),
        redriven,
    ]


def channel_of(doc: dict[str, Any], address: str) -> dict[str, Any]:
    (channel,) = [c for c in doc["channels"].values() if c["address"] == address]
    found: dict[str, Any] = channel
    return found


def message(doc: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = doc["components"]["messages"][name]
    return found


def header_names(doc: dict[str, Any], name: str) -> set[str]:
    return set(message(doc, name).get("headers", {}).get("properties", {}))


def envelope(stream: Stream, data: dict[str, Any]) -> Envelope:
    return Envelope(
        id="0a1b2c3d-4e5f-6789-abcd-000000099871",
        type="com.adobe.platform.marketo.activity.standard.filloutform",
        time=AT,
        subject="884201",
        munchkinid="123-ABC-456",
        stream=stream,
        eventtype="filloutform",
        receivedat=AT,
        via=Via.DIRECT_PUSH,
        data=data,
    )


def names(headers: tuple[tuple[str, bytes], ...]) -> set[str]:
    return {name for name, _ in headers}


def test_the_document_is_valid_asyncapi_3_0(validator: Draft7Validator) -> None:
    doc = load()
    assert doc["asyncapi"] == "3.0.0"
    assert errors(validator, doc) == []


def test_the_schema_refuses_a_broken_document(validator: Draft7Validator) -> None:
    # Proves the validation above can fail: an action AsyncAPI 3 does not have.
    doc = load()
    next(iter(doc["operations"].values()))["action"] = "publish"
    assert errors(validator, doc)


def test_the_channels_are_the_codes_topics() -> None:
    addresses = {c["address"] for c in load()["channels"].values()}
    assert addresses == {t.name for t in code_topics()}


def test_the_channel_bindings_match_the_topic_settings() -> None:
    doc = load()
    for topic in code_topics():
        kafka = channel_of(doc, topic.name)["bindings"]["kafka"]
        assert kafka["partitions"] == topic.partitions, topic.name
        for key, value in kafka.get("topicConfiguration", {}).items():
            written = topic.config.get(key)
            expected = (written or "").split(",") if key == "cleanup.policy" else int(written or -1)
            assert value == expected, f"{topic.name} {key}: document {value}, code {written}"


def test_the_envelope_schema_is_the_shipped_one() -> None:
    embedded = load()["components"]["schemas"]["Envelope"]["schema"]
    assert embedded == json.loads(ENVELOPE_SCHEMA.read_text("utf-8"))


def test_envelope_headers_are_what_route_writes() -> None:
    doc = load()
    topics = build_topics(TopicSettings(), KafkaSettings().max_record_bytes)
    activity = route(
        envelope(Stream.LEAD_ACTIVITY, {"leadId": 884201, "activityTypeId": 2}), topics
    )
    audit = route(envelope(Stream.USER_AUDIT, {"componentType": "Email"}), topics)
    assert header_names(doc, "LeadActivityEnvelope") == names(activity.headers)
    assert header_names(doc, "Envelope") == names(audit.headers)
    assert set(message(doc, "Envelope")["headers"]["required"]) <= names(audit.headers)


def test_dead_letter_headers_are_what_the_ingress_and_the_workers_write() -> None:
    doc = load()
    topics = build_topics(TopicSettings(), KafkaSettings().max_record_bytes)
    letter = DeadLetter("sha256:00", b"{", "malformed_json", "x", None, None, Via.ADOBE_IO, AT)
    ingress = route_dead_letter(letter, topics)
    record = Record(Partition("marketo.lead-activity", 0), 7, 0, None, b"", (), "", "", "", "")
    worker = dead_letter_record(record, "empty_record", "x", "scoring", topics.dead_letter.name)
    assert header_names(doc, "IngressDeadLetter") == names(ingress.headers)
    assert header_names(doc, "WorkerDeadLetter") == names(worker.headers)


def test_alert_records_match_the_alert_message() -> None:
    doc = load()
    alert = Alert("alert-1", "r", Severity.INFO, "k", "123-ABC-456", "s", ("e",), 1, 0.0, 0.0)
    record = alert_record(alert, Partition("marketo.notification", 0), "marketo.alerts", 0.0)
    assert header_names(doc, "Alert") == names(record.headers)
    payload = message(doc, "Alert")["payload"]
    assert set(payload["properties"]) == set(orjson.loads(record.value))


def test_score_records_match_the_lead_score_message() -> None:
    doc = load()
    held = (0.0, 0.0, 1, 7, "e", None, 0.0)  # decayed, decayedAt, events, through, id, score, at
    model = parse_decayed_weights({})
    part = Partition("marketo.lead-activity", 0)
    topic = "marketo.lead-scores"
    record = score_record(part, "123-ABC-456:1", held, {}, frozenset(), "checkpoint", model, topic)
    assert header_names(doc, "LeadScore") == names(record.headers)
    payload = message(doc, "LeadScore")["payload"]
    value = orjson.loads(record.value)
    assert set(payload["properties"]) == set(value)
    assert set(payload["properties"]["state"]["properties"]) == set(value["state"])


def test_crossing_records_match_the_score_crossing_message() -> None:
    doc = load()
    action = ScoreAction("add_to_list", list_name="followup")
    threshold = ScoreThreshold("mql", "123-ABC-456", 30.0, 10.0, (action,), ())
    part = Partition("marketo.lead-activity", 0)
    crossed = Crossed(part, "123-ABC-456:1", Crossing(threshold, "up"), 31.0, 0.0, "e")
    record = crossing_record(crossed, parse_decayed_weights({}), "marketo.score-crossings")
    assert header_names(doc, "ScoreCrossing") == names(record.headers)
    payload = message(doc, "ScoreCrossing")["payload"]
    value = orjson.loads(record.value)
    assert set(payload["properties"]) == set(value)
    action_doc = payload["properties"]["actions"]["items"]["properties"]
    assert set(value["actions"][0]) <= set(action_doc)


def test_sink_dead_letters_match_the_sink_dead_letter_message() -> None:
    doc = load()
    record = Record(Partition("marketo.alerts", 0), 7, 0, b"k", b"{}", (), "a", "m", "", "")
    failed = Failure(Effect("webhook", "alert-1", record), "sink_failed", "HTTP 503")
    letter = sink_dead_letter(failed, "marketo.sink-dead-letter", "alerting-effects")
    assert header_names(doc, "SinkDeadLetter") == names(letter.headers)
    sinks = message(doc, "SinkDeadLetter")["headers"]["properties"]["dl_sink"]["enum"]
    assert set(sinks) == set(SINKS) - {"log"}
