"""Realistic events of every kind, from a seeded random source (pure: no I/O, clock injected).

A ``SimEvent`` is one event as the upstream sends it plus what the ingress should make of it:
the id its envelope will carry and the topic it lands on, or, for a deliberately malformed
event, the dead-letter reason the ingress should give. Malformed events keep their id inside
the raw JSON, so a dead-lettered record can still be matched to the event that caused it.
"""

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from pipeline.activity_types import cloudevent_type
from tools.simulate.catalog import (
    AUDIT_COMPONENTS,
    AUDIT_PAIRS,
    NOTIFICATIONS,
    ActivityType,
    activity_types,
)
from tools.simulate.settings import DEFAULT_LEADS
from tools.simulate.tenants import SimTenant

LADS_SOURCE = "urn:marketo_activity_stream"
ACTIVITY_PREFIX = "com.adobe.platform.marketo.activity."
AUDIT_PREFIX = "com.adobe.platform.marketo.audit.user."
NOTIFICATION_PREFIX = "com.adobe.platform.marketo.notification."
DEAD_LETTER = "dead-letter"

LEAD_ACTIVITY = "lead-activity"
USER_AUDIT = "user-audit"
NOTIFICATION = "notification"


@dataclass(frozen=True)
class SimEvent:
    id: str  # the envelope id the ingress will give it (the marker, if malformed)
    stream: str
    tenant: str  # munchkin ID
    doc: Any  # the JSON value sent: an activity (direct push) or an Adobe I/O event
    code: str  # the CloudEvent type (x-adobe-event-code)
    adobe_event_id: str | None = None
    reason: str | None = None  # the dead-letter reason expected, for a malformed event

    @property
    def topic(self) -> str:
        return DEAD_LETTER if self.reason else self.stream


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


FIRST_LEAD_ID = 1000


class EventFactory:
    """Makes events for the tenants; the same seed and clock give the same events."""

    def __init__(
        self,
        rng: random.Random,
        tenants: Sequence[SimTenant],
        clock: Callable[[], datetime],
        leads: int = DEFAULT_LEADS,
    ) -> None:
        self.rng = rng
        self.tenants = tenants
        self.clock = clock
        self.leads = leads
        self.types = activity_types()
        self._log_item = 77_120_000_000

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # --------------------------------------------------------------------- values
    def value(self, kind: str) -> Any:
        r = self.rng
        simple: dict[str, Callable[[], Any]] = {
            "ip": lambda: f"198.51.100.{r.randrange(1, 255)}",
            "url": lambda: f"https://www.example.com/{r.choice(PAGES)}",
            "query": lambda: f"utm_source={r.choice(('google', 'linkedin', 'newsletter'))}",
            "ua": lambda: r.choice(AGENTS),
            "asset": lambda: r.randrange(1000, 9999),
            "int": lambda: r.randrange(10_000, 999_999),
            "small": lambda: r.randrange(0, 30),
            "bool": lambda: r.random() < 0.5,
            "email": lambda: f"{r.choice(FIRST).lower()}.{r.randrange(1000)}@example.org",
            "date": lambda: _time(self.clock() - timedelta(days=r.randrange(400))),
            "score_delta": lambda: f"+{r.randrange(1, 25)}",
            "merge_ids": lambda: f"{r.randrange(10**5, 10**6)},{r.randrange(10**5, 10**6)}",
            "form_fields": lambda: orjson.dumps(
                {"Email": f"{r.choice(FIRST).lower()}@example.org", "Company": "Example Co"}
            ).decode(),
        }
        if kind in simple:
            return simple[kind]()
        return r.choice(WORDS.get(kind, WORDS["title"]))

    def attributes(self, kind: ActivityType) -> list[dict[str, Any]]:
        # "A subset of the type's attributes, or none at all" (docs/protocol.md)
        chosen = [a for a in kind.attributes if self.rng.random() < 0.85]
        return [{"name": n, "dataType": t, "value": self.value(k)} for n, t, k in chosen]

    def activity_data(self, kind: ActivityType) -> dict[str, Any]:
        self._log_item += self.rng.randrange(1, 40)
        data: dict[str, Any] = {
            "leadId": self.rng.randrange(FIRST_LEAD_ID, FIRST_LEAD_ID + self.leads),
            "activityDate": _time(self.clock() - timedelta(seconds=self.rng.randrange(5))),
            "activityTypeId": kind.id,
            "activityType": kind.name,
            "activityLogItemId": self._log_item,
            "primaryAttributeValueId": self.rng.randrange(1000, 9999),
            "primaryAttributeValue": str(self.value(kind.primary)),
            "attributes": self.attributes(kind),
        }
        if self.rng.random() < 0.3:
            data["campaignId"] = self.rng.randrange(1000, 60_000)
            data["campaignName"] = str(self.value("campaign"))
        return data

    def tenant(self) -> SimTenant:
        return self.rng.choice(self.tenants)

    # --------------------------------------------------------------------- events
    def activity(self, tenant: SimTenant, kind: ActivityType | None = None) -> SimEvent:
        """One activity of the direct push (docs/protocol.md): ``marketoGUID`` is its id."""
        kind = kind or self.rng.choice(self.types)
        guid = self.uuid()
        doc = {"marketoGUID": guid, **self.activity_data(kind)}
        # The push's documented fields (docs/protocol.md) carry no campaign name; the REST API
        # that recovers a lost push has none either.
        doc.pop("campaignName", None)
        return SimEvent(guid, LEAD_ACTIVITY, tenant.munchkin_id, doc, type_of(kind))

    def lead_activity(self, tenant: SimTenant, kind: ActivityType | None = None) -> SimEvent:
        """A flat Lead Activity CloudEvent of Adobe I/O (docs/protocol.md); ``leadId`` a string."""
        kind = kind or self.rng.choice(self.types)
        data = self.activity_data(kind)
        data = {"munchkinId": tenant.munchkin_id, **data, "leadId": str(data["leadId"])}
        ce_id, event_id, code = self.uuid(), self.uuid(), type_of(kind)
        doc = {
            "specversion": "1.0",
            "type": code,
            "source": LADS_SOURCE,
            "id": ce_id,
            "time": _time(self.clock()),
            "datacontenttype": "application/json",
            "eventid": event_id,
            "recipientclientid": tenant.client_id,
            "data": data,
        }
        return SimEvent(ce_id, LEAD_ACTIVITY, tenant.munchkin_id, doc, code, event_id)

    def audit(self, tenant: SimTenant, pair: tuple[str, str] | None = None) -> SimEvent:
        """A wrapped User Audit event (docs/protocol.md): no CloudEvent id, so ``eventid``."""
        component, action = pair or self.rng.choice(AUDIT_PAIRS)
        suffix, _ = AUDIT_COMPONENTS[component]
        data = {
            "componentId": self.rng.randrange(1000, 60_000),
            "componentType": component,
            "eventAction": action,
            "munchkinId": tenant.munchkin_id,
            "imsOrgId": tenant.ims_org,
            "userId": str(self.value("email")),
        }
        body = {
            "specversion": "1.0",
            "type": AUDIT_PREFIX + suffix,
            "source": self.rng.choice(("urn:mlm", "urn:userservice", "urn:asset_api")),
            "time": self.clock().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            "datacontenttype": "application/json",
            "dataschema": "V2.0",
            "data": data,
        }
        return self._wrapped(tenant, body, USER_AUDIT)

    def notification(self, tenant: SimTenant, kind: str | None = None) -> SimEvent:
        """A wrapped Notification event (docs/protocol.md)."""
        kind = kind or self.rng.choice(tuple(NOTIFICATIONS))
        body = {
            "specversion": "1.0",
            "source": "urn:mlm",
            "time": _time(self.clock()),
            "type": NOTIFICATION_PREFIX + kind,
            "dataschema": "V1.0",
            "datacontenttype": "application/json",
            "data": {
                "munchkinId": tenant.munchkin_id,
                "imsOrgId": tenant.ims_org,
                **NOTIFICATIONS[kind],
            },
        }
        return self._wrapped(tenant, body, NOTIFICATION)

    def _wrapped(self, tenant: SimTenant, body: dict[str, Any], stream: str) -> SimEvent:
        event_id = self.uuid()
        doc = {"eventid": event_id, "event": {"body": body}, "recipientclientid": tenant.client_id}
        return SimEvent(event_id, stream, tenant.munchkin_id, doc, body["type"], event_id)

    def adobe_event(self, tenant: SimTenant) -> SimEvent:
        """Any Adobe I/O event; lead activity dominates as it does in practice."""
        roll = self.rng.random()
        if roll < 0.8:
            return self.lead_activity(tenant)
        if roll < 0.95:
            return self.audit(tenant)
        return self.notification(tenant)

    # --------------------------------------------------------------------- malformed
    def malformed(self, event: SimEvent) -> SimEvent:
        """A variant the ingress cannot normalize: it must dead-letter it with ``reason``."""
        doc = event.doc
        if event.adobe_event_id is None:  # direct-push activity
            choice = self.rng.randrange(3)
            if choice == 0:
                doc = {k: v for k, v in doc.items() if k != "leadId"}
                return replace(event, doc=doc, reason="missing_lead_id")
            if choice == 1:
                return replace(
                    event, doc={**doc, "activityTypeId": "two"}, reason="missing_activity_type"
                )
            return replace(event, doc=f"garbage activity {event.id}", reason="invalid_activity")
        if event.stream == LEAD_ACTIVITY:
            if self.rng.random() < 0.5:
                doc = {k: v for k, v in doc.items() if k != "data"}
                return replace(event, doc=doc, reason="missing_data")
            doc = {**doc, "type": "com.adobe.platform.marketo.unheard.of"}
            return replace(event, doc=doc, reason="unknown_type")
        body = doc["event"]["body"]
        data = {k: v for k, v in body["data"].items() if k != "munchkinId"}
        doc = {**doc, "event": {"body": {**body, "data": data}}}
        return replace(event, doc=doc, reason="missing_munchkin_id")


def type_of(kind: ActivityType) -> str:
    """The CloudEvent ``type`` by the documented naming rule (custom types share one)."""
    return cloudevent_type(kind.id, kind.name) or ACTIVITY_PREFIX + "custom"


PAGES = ("pricing", "events/spring-webinar", "blog/data-streams", "contact", "product/tour")
AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari",
)
FIRST = ("Pat", "Sam", "Alex", "Robin", "Kim", "Jo", "Chris", "Noor")
WORDS: dict[str, tuple[str, ...]] = {
    "title": ("Analyst", "Senior Analyst", "Director", "VP Marketing", "Engineer"),
    "page": ("Pricing", "Spring Webinar", "Contact Us", "Product Tour"),
    "form": ("Webinar Registration Form", "Contact Sales", "Newsletter Signup"),
    "link": ("https://www.example.com/download", "https://www.example.com/demo"),
    "email": ("Spring Webinar.Confirmation Email", "Newsletter.March", "Nurture.Step 3"),
    "list": ("Trade Show 2026", "Web Leads", "Partner Referrals"),
    "field": ("Job Title", "Company", "Lead Status", "Industry"),
    "score": ("Behavior Score", "Demographic Score", "Lead Score"),
    "lead": ("Lead", "Person"),
    "moment": ("Web", "Email", "Milestone"),
    "program": ("2026-03 Spring Webinar", "Always-On Nurture", "Q2 Trade Show"),
    "segment": ("Region", "Industry", "Company Size"),
    "crm": ("Opportunity 4411", "Task: Follow up", "Campaign Member"),
    "social": ("Referral Offer", "Sweepstakes 2026", "Poll: Favourite Feature"),
    "plan": ("Pro Plan", "Team Plan", "Enterprise Trial"),
    "campaign": ("Score Web Visits", "Route New Leads", "Sync to CRM"),
    "reason": ("Form fill", "Changed by flow", "Hard bounce", "Smart campaign"),
    "source": ("Web form fillout", "Salesforce.com", "List import", "API"),
    "channel": ("Online Advertising", "Email", "Webinar"),
    "bounce": ("1", "2", "3", "Mailbox full"),
    "platform": ("Windows", "iOS", "Mac OS", "Android"),
    "device": ("Desktop", "iPhone", "Samsung Galaxy"),
    "status": ("Registered", "Attended", "No Show", "Member"),
    "sfdc": ("Lead", "Contact"),
    "network": ("Facebook", "LinkedIn", "X"),
    "priority": ("Low", "Normal", "Urgent"),
}
