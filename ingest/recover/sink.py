"""Publishing what a recovery read: gated outcomes minus what is already on the topics, then its
cursor, each acknowledged by Kafka before the next step."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from ingest.accounting import prepare
from ingest.gate import Outcome, Part
from pipeline.publish import Publisher
from pipeline.topics import OutboundRecord, Topics

log = logging.getLogger(__name__)


@dataclass
class Tally:
    published: int = 0  # envelopes
    deadlettered: int = 0
    present: int = 0  # already on the topics: skipped
    refused: int = 0  # by the tenant gate or the recipient check
    ids: list[str] = field(default_factory=list)  # the envelope ids published

    def add(self, other: "Tally") -> None:
        self.published += other.published
        self.deadlettered += other.deadlettered
        self.present += other.present
        self.refused += other.refused
        self.ids += other.ids


class Sink:
    """``present``: ids (envelopes' and dead letters') already on the topics; None publishes all.
    It grows with what this sink publishes, so a re-read page is not published twice."""

    def __init__(self, publisher: Publisher, topics: Topics, present: set[str] | None) -> None:
        self.publisher = publisher
        self.topics = topics
        self.present = present

    def _new(self, outcome: Outcome, tally: Tally) -> Outcome:
        if self.present is None:
            return outcome
        parts = []
        for part in outcome.parts:
            envelopes = [e for e in part.envelopes if e.id not in self.present]
            letters = [d for d in part.dead_letters if d.id not in self.present]
            tally.present += len(part.envelopes) + len(part.dead_letters)
            tally.present -= len(envelopes) + len(letters)
            parts.append(Part(part.principal, envelopes, letters, part.named, part.first_index))
        return Outcome(parts)

    async def publish(
        self, outcomes: Iterable[Outcome], cursor: OutboundRecord | None, refused: int = 0
    ) -> Tally:
        tally = Tally(refused=refused)
        records: list[OutboundRecord] = []
        for outcome in outcomes:
            new = self._new(outcome, tally)
            records += prepare(new, self.topics).records
            tally.ids += [e.id for e in new.envelopes()]
            tally.published += len(new.envelopes())
            tally.deadlettered += len(new.dead_letters())
            if self.present is not None:
                self.present.update(tally.ids)
                self.present.update(d.id for d in new.dead_letters())
        if records:
            await self.publisher.publish(records)
        if cursor is not None:  # only once the events it covers are acknowledged
            await self.publisher.publish([cursor])
        return tally
