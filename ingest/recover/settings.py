"""The recovery commands' tables of the ingress file: ``[[journal]]`` (one Adobe I/O registration
read through its journal), ``[recovery]`` (how the journal and the backfill run), and
``[[marketo]]`` (the instances a REST backfill reads; ``pipeline.marketo.settings``).

A registration's tenants are not configured here: they are the ``[[tenants]]`` whose
``adobe_client_id`` is the registration's ``client_id``, the same principal the webhook's
deliveries are admitted under.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pipeline.config import DAYS, SECONDS, Secret, http_url, read_section, setting, table, tables
from pipeline.errors import ConfigError

IMS_URL = "https://ims-na1.adobelogin.com/ims/token/v3"
MAX_JOURNAL_LIMIT = 1000


class OnExpired(StrEnum):
    """Where a journal cursor goes when Adobe answers 410 (its events are older than 7 days)."""

    OLDEST = "oldest"  # the oldest event still kept: loses only what already expired
    LATEST = "latest"  # the end of the journal: skips what is still kept, for a fresh start


@dataclass(frozen=True)
class JournalRegistration:
    name: str = setting("")  # the cursor's key and the metrics' label
    url: str = setting("", parse=http_url)  # the registration's journal (events_url)
    org_id: str = setting("")  # <org>@AdobeOrg
    client_id: str = setting("")
    client_secret: Secret = setting(Secret(""))
    scopes: tuple[str, ...] = setting(("adobeio_api", "AdobeID", "openid"))
    ims_url: str = setting(IMS_URL, parse=http_url)
    limit: int = setting(100, minimum=1, maximum=MAX_JOURNAL_LIMIT)
    on_expired: OnExpired = setting(OnExpired.OLDEST)
    timeout_s: float = setting(30 * SECONDS, minimum=0.1)


@dataclass(frozen=True)
class RecoverySettings:
    # `journal --follow` serves /metrics here; the bounded runs push to the Pushgateway instead.
    metrics_port: int = setting(9103, minimum=0, maximum=65535)
    metrics_host: str = setting("0.0.0.0")  # noqa: S104 - every interface of the pod
    pushgateway_url: str | None = setting(None, parse=http_url)
    # Backoff on 429, 5xx and network errors of either upstream, doubling up to the maximum.
    retry_initial_s: float = setting(1 * SECONDS, minimum=0.01)
    retry_max_s: float = setting(60 * SECONDS, minimum=0.01)
    # A bounded run gives up after this many failed attempts in a row (its cursor is kept).
    max_attempts: int = setting(8, minimum=1)
    # The longest a 204's retry-after is honoured (Adobe's examples say 10 s).
    max_retry_after_s: float = setting(60 * SECONDS, minimum=0)
    # REST backfill: the activity types asked for (empty: every type of the instance) and from
    # which range length the bulk extract is used instead of paging.
    activity_type_ids: tuple[int, ...] = setting((), parse=lambda raw, where, env: _ids(raw, where))
    bulk_after_s: float = setting(7 * DAYS, key="bulk_after_days", scale=DAYS, minimum=0.0001)
    bulk_poll_s: float = setting(30 * SECONDS, minimum=0.01)
    # Records older than this before the start of a range are looked at too when deciding what is
    # already on the topics (the push publishes an event after it happened).
    presence_margin_s: float = setting(1 * DAYS, key="presence_margin_days", scale=DAYS, minimum=0)


def _ids(raw: Any, where: str) -> tuple[int, ...]:
    ok = isinstance(raw, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in raw)
    if not ok:
        raise ConfigError(f"Config '{where}' must be a list of activity type ids (integers).")
    return tuple(raw)


def read_journal(doc: Mapping[str, Any], env: Mapping[str, str]) -> tuple[JournalRegistration, ...]:
    out = []
    for where, values in tables(doc, "journal"):
        registration = read_section(JournalRegistration, where, values, env)
        required = ("name", "url", "org_id", "client_id")
        missing = [k for k in required if not getattr(registration, k)]
        if missing or not registration.client_secret.reveal():
            raise ConfigError(f"Config '{where}' needs {missing or ['client_secret']}.")
        out.append(registration)
    names = [r.name for r in out]
    if len(set(names)) != len(names):
        raise ConfigError("Config 'journal': a name appears more than once.")
    return tuple(out)


def read_recovery(doc: Mapping[str, Any], env: Mapping[str, str]) -> RecoverySettings:
    return read_section(RecoverySettings, "recovery", table(doc, "recovery"), env)
