"""The simulator's settings: frozen, built once by the command line, units in the names.

The defaults are the upstreams' documented behaviour (docs/protocol.md). ``time_scale``
multiplies every *interval* (push cadence, retry waits, pauses, retention, the Adobe retry table
and its 24 h window) so that a test can replay hours in seconds; request *timeouts* are not
intervals and keep their own settings.
"""

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.config import DAYS, HOURS, MIB, MINUTES, SECONDS

# Lead ids are drawn from this many; fewer make each lead's history longer (scoring tests).
DEFAULT_LEADS = 1_999_000


class SimulatorConfigError(ValueError):
    """A setting is out of range or names a target the simulator will not send to."""


@dataclass(frozen=True)
class DirectPushSettings:
    """Marketo's direct Lead Activity push (docs/protocol.md)."""

    interval_s: float = 2 * SECONDS
    batch_min: int = 100
    batch_max: int = 500
    small_batch_wait_s: float = 20 * SECONDS  # ours: the docs give no rule for small batches
    timeout_s: float = 20 * SECONDS
    retries: int = 3
    retry_wait_s: float = 3 * MINUTES
    reenable_wait_s: float = 3 * MINUTES
    retention_s: float = 7 * DAYS
    bearer: bool = True  # ``Authorization: Bearer <token>``; False sends the bare token


@dataclass(frozen=True)
class OAuthClient:
    """OAuth 2.0 client credentials: the push fetches (and caches) a token from ``token_url``."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class AdobeIoSettings:
    """Adobe I/O Events webhooks (docs/protocol.md)."""

    batch: bool = True  # webhook_batch; False: one event per request
    max_batch_events: int = 20
    max_batch_bytes: int = 2 * MIB
    timeout_s: float = 10 * SECONDS
    retry_waits_s: tuple[float, ...] = (1 * MINUTES, 2 * MINUTES, 4 * MINUTES, 8 * MINUTES)
    retry_wait_after_s: float = 15 * MINUTES
    retry_window_s: float = 24 * HOURS
    concurrency: int = 4  # deliveries in flight per registration
    batch_window_s: float = 0.05 * SECONDS  # how long a batch waits to fill (real time)
    events_per_s: float = 20.0  # per registration when no --rate is given


@dataclass(frozen=True)
class SimulatorSettings:
    url: str = "http://127.0.0.1:8080"
    push_path: str = "/v1/lead-activity"
    adobe_path: str = "/v1/adobe-io"
    direct_push: bool = True
    adobe_io: bool = True
    tenants: int = 4
    seed: int = 1
    time_scale: float = 1.0
    duplicates: float = 0.0  # fraction of acknowledged events delivered again later
    malformed: float = 0.0  # fraction of events the ingress cannot normalize
    leads: int = DEFAULT_LEADS  # distinct lead ids the activities are spread over
    rate_per_s: float | None = None  # events/s over all tenants and paths; None: natural cadence
    duration_s: float = 60 * SECONDS
    drain_s: float = 10 * SECONDS  # after duration: keep delivering what is queued for this long
    ack_file: Path | None = None
    key_port: int = 0  # the signing key server's port on 127.0.0.1 (0: any free port)
    progress_interval_s: float = 1 * SECONDS
    push: DirectPushSettings = field(default_factory=DirectPushSettings)
    adobe: AdobeIoSettings = field(default_factory=AdobeIoSettings)
    oauth: OAuthClient | None = None

    @property
    def push_url(self) -> str:
        return self.url.rstrip("/") + self.push_path

    @property
    def adobe_url(self) -> str:
        return self.url.rstrip("/") + self.adobe_path

    def scaled(self, upstream_s: float) -> float:
        """An upstream interval in real seconds."""
        return upstream_s * self.time_scale


def require_loopback(url: str, what: str) -> None:
    """The simulator sends only to this machine's loopback addresses."""
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback or urlsplit(url).scheme not in ("http", "https"):
        raise SimulatorConfigError(f"{what} {url!r} is not an http(s) URL on 127.0.0.1/::1")


def validate(s: SimulatorSettings) -> SimulatorSettings:
    require_loopback(s.url, "--url")
    if s.oauth is not None:
        require_loopback(s.oauth.token_url, "--oauth-token-url")
    checks = (
        (0 < s.time_scale <= 1000, f"--time-scale {s.time_scale}: expected 0 < scale <= 1000"),
        (0 <= s.duplicates <= 1, f"--duplicates {s.duplicates}: expected a fraction 0-1"),
        (0 <= s.malformed <= 1, f"--malformed {s.malformed}: expected a fraction 0-1"),
        (s.tenants >= 1, f"--tenants {s.tenants}: expected at least 1"),
        (s.leads >= 1, f"--leads {s.leads}: expected at least 1"),
        (s.rate_per_s is None or s.rate_per_s > 0, f"--rate {s.rate_per_s}: expected > 0"),
        (s.duration_s > 0, f"--duration {s.duration_s}: expected > 0"),
        (s.direct_push or s.adobe_io, "no path to simulate: enable direct push or Adobe I/O"),
        (
            1 <= s.push.batch_min <= s.push.batch_max,
            f"push batches {s.push.batch_min}-{s.push.batch_max}: expected 1 <= min <= max",
        ),
        (
            1 <= s.adobe.max_batch_events <= 20,
            f"Adobe batches of {s.adobe.max_batch_events}: Adobe sends 1-20 events per batch",
        ),
    )
    for ok, message in checks:
        if not ok:
            raise SimulatorConfigError(message)
    return s
