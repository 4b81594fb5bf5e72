"""A Marketo REST activity (``/rest/v1/activities.json``, the deleted-leads call, a bulk extract
row) in the shape of a direct-push activity, so that the one direct-push normalizer gives it the
same envelope: same ``id`` (``marketoGUID``), ``type``, ``subject`` and ``data``; only ``via``
differs.

The REST record lacks three things the push carries, and they come back from the instance's own
activity types (``/rest/v1/activities/types.json``): ``activityType`` (the type's name) and each
attribute's ``dataType``. Its integer ``id`` is the activity log item the push calls
``activityLogItemId`` (INFERRED: both number one activity in the instance's log). Fields the push
has and the REST record does not (none in the documented push shape) cannot be invented.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from pipeline.activity_types import standard_names

# A bulk extract row's numbers arrive as text; these columns are numbers in the REST record.
_NUMBERS = ("leadId", "activityTypeId", "campaignId", "primaryAttributeValueId")


@dataclass(frozen=True)
class ActivityCatalog:
    """One instance's activity types: names, and each attribute's data type."""

    names: Mapping[int, str] = field(default_factory=dict)
    data_types: Mapping[tuple[int, str], str] = field(default_factory=dict)

    @classmethod
    def from_types(cls, types: Iterable[Any]) -> "ActivityCatalog":
        """From the ``result`` of ``types.json``; malformed entries are skipped."""
        names: dict[int, str] = {}
        data_types: dict[tuple[int, str], str] = {}
        for entry in types:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), int):
                continue
            type_id = entry["id"]
            if isinstance(entry.get("name"), str):
                names[type_id] = entry["name"]
            for attribute in entry.get("attributes") or []:
                if isinstance(attribute, dict):
                    name, kind = attribute.get("name"), attribute.get("dataType")
                    if isinstance(name, str) and isinstance(kind, str):
                        data_types[(type_id, name)] = kind
        return cls(names, data_types)

    def name(self, type_id: Any) -> str | None:
        if not isinstance(type_id, int) or isinstance(type_id, bool):
            return None
        return self.names.get(type_id) or standard_names().get(type_id)


def _attributes(type_id: Any, attributes: Any, catalog: ActivityCatalog) -> Any:
    if not isinstance(attributes, list):
        return attributes  # the normalizer keeps data as it came; nothing to complete
    out = []
    for attribute in attributes:
        name = attribute.get("name") if isinstance(attribute, dict) else None
        kind = catalog.data_types.get((type_id, name)) if isinstance(name, str) else None
        if kind is None or "dataType" in attribute:
            out.append(attribute)
        else:
            out.append({**attribute, "dataType": kind})
    return out


def push_activity(record: Any, catalog: ActivityCatalog) -> Any:
    """The direct-push form of one REST activity; anything but an object is returned as is (the
    normalizer dead-letters it with the reason)."""
    if not isinstance(record, dict):
        return record
    activity = {k: v for k, v in record.items() if k != "id"}
    if "id" in record and "activityLogItemId" not in record:
        activity["activityLogItemId"] = record["id"]
    type_id = record.get("activityTypeId")
    name = catalog.name(type_id)
    if name is not None and "activityType" not in record:
        activity["activityType"] = name
    if "attributes" in record:
        activity["attributes"] = _attributes(type_id, record["attributes"], catalog)
    return activity


def bulk_record(row: Mapping[str, str]) -> dict[str, Any]:
    """A Bulk Extract CSV row (``marketoGUID, leadId, activityDate, activityTypeId, campaignId,
    primaryAttributeValueId, primaryAttributeValue, attributes``) as the REST record it stands
    for. The export has no activity log item id, so such an activity's ``data`` lacks
    ``activityLogItemId``; its id, type and the rest are the push's."""
    record: dict[str, Any] = {}
    for name, text in row.items():
        # An empty number column is an absent field; an empty text column is an empty text.
        if name == "attributes" or (text == "" and name in _NUMBERS):
            continue
        record[name] = int(text) if name in _NUMBERS and text.lstrip("-").isdigit() else text
    raw = row.get("attributes") or "{}"
    try:
        attributes = orjson.loads(raw)
    except orjson.JSONDecodeError:
        attributes = raw  # kept as it came: the envelope's data shows what Marketo sent
    if isinstance(attributes, dict):
        record["attributes"] = [{"name": k, "value": v} for k, v in attributes.items()]
    else:
        record["attributes"] = attributes
    return record
