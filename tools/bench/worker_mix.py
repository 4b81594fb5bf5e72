"""The records the worker phase of the benchmark consumes: a realistic mix of envelopes (94 %
lead activities, with the activity types' real shares, 5 % user audit, 1 % notifications) for
two tenants, generated reproducibly from a seeded random source."""

import random
import uuid
from datetime import datetime

from pipeline.envelope import Envelope, Stream, Via, format_time

MUNCHKINS = ("321-XYZ-987", "654-SBX-321")
LEAD_TYPES = (  # (activityTypeId, name, share)
    (10, "Open Email", 30),
    (1, "Visit Webpage", 25),
    (7, "Email Delivered", 15),
    (6, "Send Email", 10),
    (11, "Click Email", 5),
    (3, "Click Link", 5),
    (2, "Fill Out Form", 3),
    (13, "Change Data Value", 4),
    (22, "Change Score", 2),
    (9, "Unsubscribe Email", 1),
)


def iso(moment: datetime) -> str:
    return format_time(moment)


def lead_activity(rng: random.Random, at: datetime) -> Envelope:
    type_id, name, _ = rng.choices(LEAD_TYPES, weights=[t[2] for t in LEAD_TYPES])[0]
    munchkin, lead = rng.choice(MUNCHKINS), str(rng.randrange(50_000))
    suffix = name.lower().replace(" ", "")
    data = {
        "munchkinId": munchkin,
        "leadId": lead,
        "activityDate": iso(at),
        "activityTypeId": type_id,
        "activityType": name,
        "activityLogItemId": rng.randrange(10**11),
        "primaryAttributeValueId": 5120,
        "primaryAttributeValue": "Spring Webinar.Confirmation Email",
        "attributes": [
            {"name": "Campaign Run ID", "dataType": "integer", "value": 90211},
            {"name": "Mailing ID", "dataType": "object", "value": 5120},
            {"name": "Change Value", "dataType": "string", "value": str(rng.randrange(-60, 60))},
        ],
    }
    return Envelope(
        str(uuid.UUID(int=rng.getrandbits(128))),
        f"com.adobe.platform.marketo.activity.standard.{suffix}",
        iso(at),
        lead,
        munchkin,
        Stream.LEAD_ACTIVITY,
        suffix,
        iso(at),
        Via.ADOBE_IO,
        data,
    )


def user_audit(rng: random.Random, at: datetime) -> Envelope:
    component, action = rng.choice(
        [("Login", "login failure"), ("Login", "login success"), ("Email", "approve")]
    )
    user = f"user{rng.randrange(200)}@example.com"
    data = {
        "componentId": rng.randrange(10_000),
        "componentType": component,
        "eventAction": action,
        "munchkinId": MUNCHKINS[0],
        "userId": user,
    }
    slug = action.lower().replace(" ", "_")
    return Envelope(
        str(uuid.UUID(int=rng.getrandbits(128))),
        f"com.adobe.platform.marketo.audit.user.{component.lower()}",
        iso(at),
        str(data["componentId"]),
        MUNCHKINS[0],
        Stream.USER_AUDIT,
        f"{component.lower()}.{slug}",
        iso(at),
        Via.ADOBE_IO,
        data,
    )


def notification(rng: random.Random, at: datetime) -> Envelope:
    kind = rng.choice(["campaign_abort", "web_services", "nurture"])
    action = {
        "campaignId": rng.randrange(100),
        "percent": rng.choice([50, 80, 100]),
        "dailyQuota": 50000,
    }
    data = {"munchkinId": MUNCHKINS[0], "componentType": kind, "eventAction": action}
    return Envelope(
        str(uuid.UUID(int=rng.getrandbits(128))),
        f"com.adobe.platform.marketo.notification.{kind}",
        iso(at),
        str(action["campaignId"]),
        MUNCHKINS[0],
        Stream.NOTIFICATION,
        kind,
        iso(at),
        Via.ADOBE_IO,
        data,
    )


def mixed_event(rng: random.Random, at: datetime) -> Envelope:
    """One envelope of the mix."""
    roll = rng.random()
    maker = lead_activity if roll < 0.94 else user_audit if roll < 0.99 else notification
    return maker(rng, at)
