"""The scoring worker's effects role: emitted scores and score crossings → Marketo.

* an ``emitted`` record on lead-scores (with ``scoring.push_to_marketo``) writes the score to the
  lead field ``scoring.push_field``; key ``<munchkinId>:<leadId>@<through>``, the lead and the
  score's version (the offset of the activity behind it). Checkpoints change no field.
* a record on score-crossings asks for its actions, in order; key ``<crossing id>/<n>``. List
  and program-status calls are idempotent by nature; campaign requests go through the effects
  ledger (``effects/ledger.py``).

A lead without a numeric id, or a tenant without a ``[[marketo]]`` instance or the named list,
has nothing to do (counted ``skipped``); so has everything when no instance is configured.
"""

from collections.abc import Mapping
from typing import Any

import orjson

from pipeline.consume.record import Record
from pipeline.errors import UnusableInput
from pipeline.marketo.client import MarketoClient
from pipeline.workers.effects.effect import Effect
from pipeline.workers.effects.handler import Decide, EffectsRole
from pipeline.workers.effects.marketo import MarketoSink
from pipeline.workers.metrics import WorkerMetrics
from pipeline.workers.scoring.settings import ScoringSettings
from pipeline.workers.spec import Wiring

SINK_OF_ACTION = {
    "request_campaign": "marketo_campaign",
    "change_program_status": "marketo_program",
    "add_to_list": "marketo_list",
    "remove_from_list": "marketo_unlist",
}


def _doc(record: Record) -> dict[str, Any]:
    try:
        doc = orjson.loads(record.value or b"")
    except orjson.JSONDecodeError as exc:
        raise UnusableInput("malformed_json", str(exc)) from exc
    if type(doc) is not dict:
        raise UnusableInput("invalid_envelope", "a score or crossing record is a JSON object")
    return doc


def _target(action: Mapping[str, Any], client: MarketoClient, score: float) -> tuple[Any, ...]:
    """What an action of a crossing calls; () when the tenant's instance lacks the list."""
    kind = action["action"]
    if kind == "request_campaign":
        # Token values are per call: leads whose scores round alike share one.
        return (int(action["campaignId"]), str(action.get("token", "")), str(round(score)))
    if kind == "change_program_status":
        return (int(action["programId"]), str(action["status"]))
    list_id = client.instance.lists.get(str(action.get("list", "")))
    return () if list_id is None else (list_id,)


def decider(
    s: ScoringSettings, scores_topic: str, clients: Mapping[str, MarketoClient], m: WorkerMetrics
) -> Decide:
    def skipped(sink: str) -> list[Effect]:
        m.sink_deliveries.labels(sink, "skipped").inc()
        return []

    def decide(record: Record) -> list[Effect]:
        doc = _doc(record)
        munchkin, lead = str(doc["munchkinId"]), str(doc["leadId"])
        client = clients.get(munchkin)
        if record.partition.topic == scores_topic:
            if doc["update"] != "emitted" or not s.push_to_marketo:
                return []
            if client is None or not lead.isdigit():
                return skipped("marketo_field")
            key = f"{munchkin}:{lead}@{doc['state']['through']}"
            score = round(float(doc["score"]), 4)
            return [
                Effect("marketo_field", key, record, munchkin, int(lead), (s.push_field,), score)
            ]
        effects = []
        for n, action in enumerate(doc["actions"]):
            sink = SINK_OF_ACTION[action["action"]]
            target = _target(action, client, float(doc["score"])) if client else ()
            if not target or not lead.isdigit():
                skipped(sink)
                continue
            effects.append(Effect(sink, f"{doc['id']}/{n}", record, munchkin, int(lead), target))
        return effects

    return decide


def role(w: Wiring) -> EffectsRole | None:
    s = w.settings.scoring
    assert s is not None  # parse_worker_settings reads it for this kind
    if not w.clients or not (s.push_to_marketo or s.thresholds):
        return None
    sink = MarketoSink(w.clients, w.metrics)
    return EffectsRole(
        inputs=(w.topics.lead_scores, w.topics.score_crossings),
        decide=decider(s, w.topics.lead_scores.name, w.clients, w.metrics),
        sinks=dict.fromkeys((*SINK_OF_ACTION.values(), "marketo_field"), sink),
    )
