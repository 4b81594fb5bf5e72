"""Realistic deliveries of every stream, shaped as docs/protocol.md documents them."""

import gzip
import uuid
from typing import Any

import orjson

# The audit components, their actions and the notification kinds live with the simulator.
from tools.simulate.catalog import AUDIT_COMPONENTS as AUDIT_COMPONENTS
from tools.simulate.catalog import NOTIFICATIONS as NOTIFICATIONS

MUNCHKIN = "321-XYZ-987"
SANDBOX = "654-SBX-321"
CLIENT_ID = "9b8e7d6c5b4a49f0a1b2c3d4e5f60718"

LADS_SOURCE = "urn:marketo_activity_stream"
LADS_PREFIX = "com.adobe.platform.marketo.activity."


def uid() -> str:
    return str(uuid.uuid4())


def lads_data(
    type_id: int = 10, name: str = "Open Email", lead: Any = "884201", munchkin: str = MUNCHKIN
) -> dict[str, Any]:
    return {
        "munchkinId": munchkin,
        "leadId": lead,
        "activityDate": "2026-03-02T09:15:03Z",
        "activityTypeId": type_id,
        "activityType": name,
        "activityLogItemId": 77120033451,
        "primaryAttributeValueId": 5120,
        "primaryAttributeValue": "Spring Webinar.Confirmation Email",
        "attributes": [
            {"name": "Campaign Run ID", "dataType": "integer", "value": 90211},
            {"name": "Mailing ID", "dataType": "object", "value": 5120},
        ],
    }


def lads_event(
    suffix: str = "standard.openemail",
    *,
    data: dict[str, Any] | None = None,
    old_names: bool = False,
    both_names: bool = False,
    client_id: str = CLIENT_ID,
    ce_id: str | None = None,
) -> dict[str, Any]:
    event_id = uid()
    event: dict[str, Any] = {
        "specversion": "1.0",
        "type": LADS_PREFIX + suffix,
        "source": LADS_SOURCE,
        "id": ce_id or uid(),
        "time": "2026-03-02T09:15:04Z",
        "datacontenttype": "application/json",
        "data": data if data is not None else lads_data(),
    }
    if not old_names or both_names:
        event |= {"eventid": event_id, "recipientclientid": client_id}
    if old_names or both_names:
        event |= {"event_id": event_id, "recipient_client_id": client_id}
    return event


def audit_body(component: str, action: str, munchkin: str = MUNCHKIN) -> dict[str, Any]:
    suffix, _ = AUDIT_COMPONENTS[component]
    return {
        "specversion": "1.0",
        "type": f"com.adobe.platform.marketo.audit.user.{suffix}",
        "source": "urn:mlm",
        "time": "2026-03-03 14:02:11.318",
        "datacontenttype": "application/json",
        "dataschema": "V2.0",
        "data": {
            "componentId": 40512,
            "componentType": component,
            "eventAction": action,
            "munchkinId": munchkin,
            "imsOrgId": "ABCDEF0123456789ABCDEF01@AdobeOrg",
            "userId": "ops.admin@example.com",
        },
    }


def wrapped(
    body: dict[str, Any], *, shape: str = "body", client_id: str = CLIENT_ID
) -> dict[str, Any]:
    """``body``: current wrapper, recipient at top level; ``inner``: recipient inside ``event``;
    ``old``: 2020-era wrapper with ``event_id`` and no ``body`` level."""
    if shape == "old":
        return {"event_id": uid(), "event": body, "recipient_client_id": client_id}
    if shape == "inner":
        return {"eventid": uid(), "event": {"body": body, "recipientclientid": client_id}}
    return {"eventid": uid(), "event": {"body": body}, "recipientclientid": client_id}


def notification_body(kind: str, munchkin: str = MUNCHKIN) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "source": "urn:mlm",
        "time": "2026-03-04T06:00:05Z",
        "type": f"com.adobe.platform.marketo.notification.{kind}",
        "dataschema": "V1.0",
        "datacontenttype": "application/json",
        "data": {
            "munchkinId": munchkin,
            "imsOrgId": "ABCDEF0123456789ABCDEF01@AdobeOrg",
            **NOTIFICATIONS[kind],
        },
    }


def activity(
    type_id: int = 2, name: str = "Fill Out Form", lead: Any = 884201, guid: str | None = None
) -> dict[str, Any]:
    return {
        "marketoGUID": guid or uid(),
        "leadId": lead,
        "activityDate": "2026-03-05T10:59:58Z",
        "primaryAttributeValueId": 1044,
        "primaryAttributeValue": "Webinar Registration Form",
        "activityTypeId": type_id,
        "activityType": name,
        "activityLogItemId": 77120040001,
        "attributes": [
            {"name": "Client IP Address", "dataType": "string", "value": "198.51.100.23"},
            {"name": "Webpage ID", "dataType": "object", "value": 2207},
        ],
    }


def direct_push(activities: list[Any], munchkin: str = MUNCHKIN) -> dict[str, Any]:
    return {
        "sourceApplication": "Marketo",
        "munchkinId": munchkin,
        "messageId": "99871",
        "messageCreatedDate": "2026-03-05T11:00:02Z",
        "activities": activities,
    }


def inflating_push(decoded_bytes: int) -> bytes:
    """A valid, empty push, gzip-compressed, that inflates from a few KiB on the wire to
    ``decoded_bytes`` (JSON allows the padding: it is white space)."""
    doc = orjson.dumps(direct_push([]))
    return gzip.compress(doc[:-1] + b" " * (decoded_bytes - len(doc)) + b"}")
