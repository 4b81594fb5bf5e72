"""Score thresholds with hysteresis, per tenant: when a lead's score crosses one, up or down.

A threshold (``[[scoring.thresholds]]``) belongs to one tenant. A lead is *above* it once its
score reaches ``up_at`` and stays above until its score falls below ``down_at`` (at most
``up_at``): a score wavering between the two crosses nothing. Each crossing is decided once, in
record order, by the scoring worker (``Crossings.cross``), and written to the score-crossings
topic with an id derived from the lead, the threshold, the direction and the activity that made
it, so a crossing decided again after a crash is the same record. The thresholds a lead is above
travel with its state on the lead-scores topic, so a restore resumes the hysteresis exactly.

Each crossing names its actions (``on_up``, ``on_down``): request a campaign with the score as a
``{{my.token}}``, change the lead's status in a program (a nurture program), add it to or remove
it from a list (a name from ``[[marketo]] lists``).
"""

import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from pipeline.config import read_section, setting
from pipeline.errors import ConfigError

ACTIONS = ("request_campaign", "change_program_status", "add_to_list", "remove_from_list")
DIRECTIONS = ("up", "down")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class ScoreAction:
    """One action of a crossing (an item of ``on_up`` or ``on_down``)."""

    action: str = setting("request_campaign", choices=ACTIONS)
    campaign_id: int = setting(0, minimum=0)
    token: str = setting("{{my.score}}")  # the campaign token that carries the score
    program_id: int = setting(0, minimum=0)
    status: str = setting("")
    list_name: str = setting("", key="list")

    def check(self, where: str) -> None:
        needs = {
            "request_campaign": ("campaign_id", self.campaign_id),
            "change_program_status": ("program_id", self.program_id and self.status),
            "add_to_list": ("list", self.list_name),
            "remove_from_list": ("list", self.list_name),
        }
        key, given = needs[self.action]
        if not given:
            what = "program_id and status" if self.action == "change_program_status" else key
            raise ConfigError(f"Config '{where}' ({self.action}) needs {what}.")

    def to_json(self) -> dict[str, Any]:
        """As the crossing record carries it: only what this action uses."""
        fields: dict[str, dict[str, Any]] = {
            "request_campaign": {"campaignId": self.campaign_id, "token": self.token},
            "change_program_status": {"programId": self.program_id, "status": self.status},
            "add_to_list": {"list": self.list_name},
            "remove_from_list": {"list": self.list_name},
        }
        return {"action": self.action, **fields[self.action]}


def _actions(raw: Any, where: str, env: Mapping[str, str]) -> tuple[ScoreAction, ...]:
    if not isinstance(raw, list) or not all(isinstance(a, Mapping) for a in raw):
        raise ConfigError(f"Config '{where}' must be a list of tables ({{ action = … }}).")
    actions = []
    for i, values in enumerate(raw):
        action = read_section(ScoreAction, f"{where}[{i}]", values, env)
        action.check(f"{where}[{i}]")
        actions.append(action)
    return tuple(actions)


@dataclass(frozen=True)
class ScoreThreshold:
    id: str = setting("")
    tenant: str = setting("")  # the munchkin ID whose leads it watches
    up_at: float = setting(0.0)
    down_at: float | None = setting(None)  # default: up_at (no hysteresis)
    on_up: tuple[ScoreAction, ...] = setting(factory=tuple, parse=_actions)
    on_down: tuple[ScoreAction, ...] = setting(factory=tuple, parse=_actions)

    @property
    def low(self) -> float:
        return self.up_at if self.down_at is None else self.down_at


def read_thresholds(raw: Any, where: str, env: Mapping[str, str]) -> tuple[ScoreThreshold, ...]:
    """``[[scoring.thresholds]]``: every id unique within its tenant, ``down_at <= up_at``."""
    if not isinstance(raw, list) or not all(isinstance(t, Mapping) for t in raw):
        raise ConfigError(f"Config '{where}' must be an array of tables ([[{where}]]).")
    found: list[ScoreThreshold] = []
    for i, values in enumerate(raw):
        at = f"{where}[{i}]"
        t = read_section(ScoreThreshold, at, values, env)
        if not _ID.match(t.id) or not t.tenant:
            raise ConfigError(f"Config '{at}' needs an id ([a-z0-9-]) and a tenant.")
        if t.low > t.up_at:
            raise ConfigError(f"Config '{at}.down_at' ({t.down_at}) must be at most up_at.")
        if any((o.tenant, o.id) == (t.tenant, t.id) for o in found):
            raise ConfigError(f"Config '{at}': {t.tenant} has threshold {t.id!r} twice.")
        found.append(t)
    return tuple(found)


class Crossing(NamedTuple):
    threshold: ScoreThreshold
    direction: str  # up or down


def crossing_id(lead_key: str, threshold: str, direction: str, event_id: str) -> str:
    text = f"{lead_key}|{threshold}|{direction}|{event_id}"
    return "xing-" + hashlib.sha256(text.encode()).hexdigest()[:32]


class Crossings:
    """The thresholds by tenant; ``cross`` is pure: (thresholds above, score) → what changed."""

    def __init__(self, thresholds: Sequence[ScoreThreshold]) -> None:
        by_tenant: dict[str, list[ScoreThreshold]] = {}
        for t in thresholds:
            by_tenant.setdefault(t.tenant, []).append(t)
        self.by_tenant = {k: tuple(v) for k, v in by_tenant.items()}

    def cross(
        self, tenant: str, above: Collection[str], score: float
    ) -> tuple[frozenset[str], list[Crossing]]:
        thresholds = self.by_tenant.get(tenant, ())
        now = {a for a in above if any(a == t.id for t in thresholds)}  # forget removed ones
        crossed = []
        for t in thresholds:
            if t.id not in now and score >= t.up_at:
                now.add(t.id)
                crossed.append(Crossing(t, "up"))
            elif t.id in now and score < t.low:
                now.discard(t.id)
                crossed.append(Crossing(t, "down"))
        return frozenset(now), crossed
