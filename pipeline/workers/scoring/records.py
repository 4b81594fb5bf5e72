"""The records the scoring worker writes: a lead's score with the state behind it
(``<prefix>.lead-scores``), and a lead's score crossing a threshold (``<prefix>.score-crossings``).
"""

import time
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson

from pipeline.consume.event_time import event_time_s
from pipeline.consume.record import Partition, Record
from pipeline.envelope import format_epoch_s
from pipeline.errors import UnusableInput
from pipeline.topics import Headers, OutboundRecord
from pipeline.workers.scoring.crossings import Crossing, crossing_id
from pipeline.workers.scoring.models import (
    Activity,
    ScoringModel,
    features_from_json,
    features_to_json,
)
from pipeline.workers.scoring.state import Held, LeadScore


def score_record(
    part: Partition,
    key: str,
    held: Held,
    counts: Mapping[int, int],
    above: frozenset[str],
    update: str,
    model: ScoringModel,
    topic: str,
) -> OutboundRecord:
    """A lead's score record, from the scoring handler's own form of its state (``Held``, the
    counts, the thresholds it is above): written for every emitted score and checkpoint, so
    without a ``LeadScore`` or ``Features`` in between."""
    decayed, decayed_at_s, events, through, last_event_id, emitted, emitted_at_s = held
    munchkin, _, lead = key.partition(":")
    doc: dict[str, Any] = {
        "munchkinId": munchkin,
        "leadId": lead,
        "model": model.name,
        "score": emitted,
        "scoreTime": format_epoch_s(emitted_at_s) if emitted is not None else None,
        "update": update,
        "state": {
            "current": model.score_of(decayed, counts),
            "features": features_to_json(decayed, decayed_at_s, counts),
            "events": events,
            "partition": part.partition,
            "through": through,
            "lastEventId": last_event_id,
            "emittedAt": emitted_at_s,
            "above": sorted(above),
        },
    }
    headers: Headers = (
        # the score's version: the effects role skips a record written twice
        ("ce_id", f"{key}@{through}:{update}".encode()),
        ("content-type", b"application/json"),
        ("munchkin_id", munchkin.encode()),
        ("model", model.name.encode()),
        ("update", update.encode()),
    )
    # The partition number of the lead's activities, where a restore looks for it (the service
    # checks that both topics have as many partitions); murmur2 would pick the same one, slower.
    value = orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS)
    return OutboundRecord(
        topic, key.encode(), value, headers, int(time.time() * 1000), part.partition
    )


def state_from_json(doc: dict[str, Any]) -> LeadScore:
    state = doc["state"]
    emitted = doc.get("score")
    return LeadScore(
        features=features_from_json(state["features"]),
        events=int(state["events"]),
        through=int(state["through"]),
        last_event_id=str(state.get("lastEventId", "")),
        emitted=None if emitted is None else float(emitted),
        emitted_at_s=float(state.get("emittedAt", 0.0)),
        above=frozenset(state.get("above") or ()),
    )


class Crossed(NamedTuple):
    """A crossing as the record that made it left it (later records may move the score on)."""

    part: Partition
    key: str
    crossing: Crossing
    score: float
    at_s: float  # the activity's event time
    event_id: str  # the activity's id


def crossing_record(crossed: Crossed, model: ScoringModel, topic: str) -> OutboundRecord:
    """A lead's score crossing a threshold, with the actions it asks for; in the partition
    number of the lead's activities, like its score."""
    part, key, (t, direction), score, at_s, event_id = crossed
    munchkin, _, lead = key.partition(":")
    xid = crossing_id(key, t.id, direction, event_id)
    actions = t.on_up if direction == "up" else t.on_down
    doc = {
        "id": xid,
        "munchkinId": munchkin,
        "leadId": lead,
        "threshold": t.id,
        "direction": direction,
        "score": score,
        "scoreTime": format_epoch_s(at_s),
        "model": model.name,
        "eventId": event_id,
        "actions": [a.to_json() for a in actions],
    }
    headers: Headers = (
        ("ce_id", xid.encode()),
        ("content-type", b"application/json"),
        ("munchkin_id", munchkin.encode()),
        ("threshold", t.id.encode()),
        ("direction", direction.encode()),
    )
    return OutboundRecord(
        topic, key.encode(), orjson.dumps(doc), headers, int(time.time() * 1000), part.partition
    )


def activity_type(data: dict[str, Any]) -> int:
    type_id = data.get("activityTypeId")
    return type_id if isinstance(type_id, int) and not isinstance(type_id, bool) else 0


def activity_from_value(record: Record) -> tuple[str, str, Activity]:
    """(lead key, event id, activity) from the JSON value: records without the headers."""
    doc = record.document()
    activity = Activity(activity_type(doc["data"]), event_time_s(doc["time"]))
    return f"{doc['munchkinid']}:{doc['subject']}", doc["id"], activity


# ``int()`` of an ``activity_type_id`` header costs about ten times a dictionary lookup, and a
# few dozen types make nearly all activities: each is converted once (bounded: past that many,
# each time). The scoring handler looks in ``type_numbers`` first.
_TYPE_NUMBERS_KEPT = 10_000
type_numbers: dict[bytes, int] = {}


def type_number_of(header: bytes) -> int:
    try:
        number = int(header)
    except (TypeError, ValueError) as exc:  # bad input, not a bug: no traceback in the log
        detail = f"activity_type_id header {header[:40]!r} is not an integer"
        raise UnusableInput("invalid_envelope", detail) from exc
    if len(type_numbers) < _TYPE_NUMBERS_KEPT:
        type_numbers[header] = number
    return number
