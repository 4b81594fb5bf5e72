"""The tenant gate: the one check between what a delivery says and what reaches Kafka.

Every path into Kafka (the direct push, Adobe I/O, redrive, the journal, the REST backfill)
hands its ``Outcome`` to ``admit`` before it publishes anything. An outcome is made of parts,
each accepted under one ``Principal``: who authenticated it and which munchkin IDs that
credential may publish for. A record is attributed to a tenant from its own content
(``data.munchkinId`` of an event, an activity's or the push's ``munchkinId``); a dead letter whose
content names none (an unparseable body) is attributed to its principal. If any attribution
falls outside its part's principal, the whole delivery is refused (403) and nothing of it is
published.

The principal travels with every dead letter (header ``dl_principal``), so a redrive rebuilds it
from today's configuration and puts the dead letter through this same gate.
"""

from collections import Counter
from dataclasses import dataclass, field

from ingest.errors import TenantMismatch, shorten
from pipeline.envelope import DeadLetter, Envelope, Stream
from pipeline.topics import OutboundRecord

ADOBE = "adobe"  # an Adobe signature proves who sent the bytes, not which registration they name
REST = "marketo-rest"


@dataclass(frozen=True, slots=True)
class Principal:
    """``credential`` names the credential for limits and logs (``push:<munchkin>``,
    ``adobe:<client id>``), never holding a secret; ``tenants`` are the munchkin IDs it may
    publish for."""

    credential: str
    tenants: frozenset[str]

    @classmethod
    def push(cls, munchkin_id: str) -> "Principal":
        return cls(f"push:{munchkin_id}", frozenset({munchkin_id}))

    @classmethod
    def adobe(cls, client_id: str, tenants: frozenset[str]) -> "Principal":
        return cls(f"{ADOBE}:{client_id}", tenants)

    @classmethod
    def rest(cls, munchkin_id: str) -> "Principal":
        """The REST backfill: what an instance's own API returns belongs to that instance."""
        return cls(f"{REST}:{munchkin_id}", frozenset({munchkin_id}))

    @property
    def sole_tenant(self) -> str | None:
        """The tenant a record that names none belongs to, when there is exactly one."""
        if len(self.tenants) == 1:
            return next(iter(self.tenants))
        return None


UNATTRIBUTED_ADOBE = Principal(ADOBE, frozenset())  # signed bytes that name no registration


def _no_records() -> Counter[tuple[str, Stream]]:
    # An empty Counter without ``Counter.__init__``, whose ``update`` call is most of the cost
    # of a part, and an Adobe batch makes a part per event. A Counter holds no state of its own.
    return Counter.__new__(Counter)


@dataclass(slots=True)
class Part:
    """The records of a delivery accepted under one principal, and the tenants its content names
    outside any record (a push's top-level ``munchkinId``)."""

    principal: Principal
    envelopes: list[Envelope] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    named: set[str] = field(default_factory=set)
    # Where the part starts in the delivery, so a refusal can say which event it was.
    first_index: int = 0
    # Envelope records built straight from content (ingest.fastpath), and for each of them the
    # (munchkin ID, stream) its own content names, exactly as an envelope's ``munchkinid``.
    records: list[OutboundRecord] = field(default_factory=list)
    record_tenants: Counter[tuple[str, Stream]] = field(default_factory=_no_records)


@dataclass
class Outcome:
    """What one delivery became: its parts, in delivery order."""

    parts: list[Part] = field(default_factory=list)

    def envelopes(self) -> list[Envelope]:
        return [e for part in self.parts for e in part.envelopes]

    def dead_letters(self) -> list[DeadLetter]:
        return [d for part in self.parts for d in part.dead_letters]

    @property
    def count(self) -> int:
        return sum(
            len(part.envelopes) + len(part.records) + len(part.dead_letters) for part in self.parts
        )


def admit(outcome: Outcome) -> None:
    """Return if every record of every part belongs to its principal's tenants; else refuse the
    whole delivery with 403 ``tenant_mismatch``."""
    for part in outcome.parts:
        allowed = part.principal.tenants
        claimed = part.named | {e.munchkinid for e in part.envelopes}
        claimed |= {tenant for tenant, _ in part.record_tenants}
        claimed |= {d.munchkinid for d in part.dead_letters if d.munchkinid is not None}
        foreign = claimed - allowed
        if foreign:
            raise TenantMismatch(
                f"{_where(part)} carries munchkin ID {shorten(min(foreign))}, which "
                f"{part.principal.credential} may not publish for; nothing was published"
            )


def _where(part: Part) -> str:
    if part.principal.credential.startswith(ADOBE):
        return f"event {part.first_index}"
    return "the delivery"
