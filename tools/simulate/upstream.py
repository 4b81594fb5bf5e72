"""What the upstreams keep of the events the simulator generates, whatever the push did with them:
a journal per Adobe I/O registration and an activity log per Marketo instance.

Every event is kept at the moment it is generated, as Adobe and Marketo keep theirs before any
delivery is attempted; ``journal_api.py`` and ``marketo_api.py`` serve them. An Adobe Lead
Activity event is also an activity of its instance (its CloudEvent ``id`` is the
``marketoGUID``, docs/protocol.md), so the REST API returns those too. Malformed events are kept
in the journal as they were sent (the journal holds the pushed payload) and left out of the
activity log (the malformation is the push's, not the instance's).
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.config import DAYS
from tools.simulate.catalog import activity_types
from tools.simulate.events import LEAD_ACTIVITY, SimEvent
from tools.simulate.tenants import SimTenant

DELETE_LEAD = 37  # served by deletedleads.json, not by activities.json


@dataclass(frozen=True)
class JournalEntry:
    seq: int
    at: float  # epoch seconds the upstream received it
    event: Any


@dataclass(frozen=True)
class LoggedActivity:
    at: float
    record: dict[str, Any]  # as GET /rest/v1/activities.json returns it


@dataclass
class Journal:
    """One registration's journal: entries in order, kept ``retention_s``."""

    tenant: SimTenant
    entries: list[JournalEntry] = field(default_factory=list)

    @property
    def path(self) -> str:
        org = self.tenant.ims_org.removesuffix("@AdobeOrg")
        return f"/events/organizations/{org}/integrations/{self.tenant.client_id}/registration"


def rest_record(data: dict[str, Any], guid: str) -> dict[str, Any]:
    """An activity as Marketo's REST API returns it: ``id`` (the log item), ``leadId`` a number,
    attributes without ``dataType``, none of the push's names."""
    record: dict[str, Any] = {
        "id": data["activityLogItemId"],
        "marketoGUID": guid,
        "leadId": int(data["leadId"]),
        "activityDate": data["activityDate"],
        "activityTypeId": data["activityTypeId"],
    }
    for name in ("campaignId", "primaryAttributeValueId", "primaryAttributeValue"):
        if name in data:
            record[name] = data[name]
    record["attributes"] = [{"name": a["name"], "value": a["value"]} for a in data["attributes"]]
    return record


def types_result() -> list[dict[str, Any]]:
    """``GET /rest/v1/activities/types.json``'s result for every simulated type."""
    return [
        {
            "id": kind.id,
            "name": kind.name,
            "description": kind.name,
            "primaryAttribute": {"name": kind.primary, "dataType": "string"},
            "attributes": [{"name": n, "dataType": d} for n, d, _ in kind.attributes],
        }
        for kind in activity_types()
    ]


class Upstream:
    """The journals and activity logs of the simulated tenants."""

    def __init__(
        self,
        tenants: Sequence[SimTenant],
        *,
        retention_s: float = 7 * DAYS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.retention_s = retention_s
        self.clock = clock
        self.journals = {t.client_id: Journal(t) for t in tenants}
        self.logs: dict[str, list[LoggedActivity]] = {t.munchkin_id: [] for t in tenants}
        self.tenants = {t.munchkin_id: t for t in tenants}
        self.generated: list[SimEvent] = []  # in order, whatever became of them
        self._seq = 0

    def record(self, event: SimEvent, via: str) -> None:
        now = self.clock()
        self.generated.append(event)
        tenant = self.tenants[event.tenant]
        if via == "adobe-io":
            self._seq += 1
            self.journals[tenant.client_id].entries.append(JournalEntry(self._seq, now, event.doc))
        if event.reason is not None or event.stream != LEAD_ACTIVITY:
            return
        if via == "adobe-io":
            record = rest_record(event.doc["data"], event.id)
        else:
            record = rest_record(event.doc, event.id)
        self.logs[event.tenant].append(LoggedActivity(now, record))

    def retained(self, journal: Journal) -> list[JournalEntry]:
        oldest = self.clock() - self.retention_s
        return [e for e in journal.entries if e.at >= oldest]

    def journal_by_path(self, path: str) -> Journal | None:
        return next((j for j in self.journals.values() if j.path == path.rstrip("/")), None)
