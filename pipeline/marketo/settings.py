"""One Marketo instance as a process that calls it is configured (``[[marketo]]``, in the
workers' file and, for the backfill, in the ingress'): where its identity and REST endpoints are,
the client credentials, and the share of the instance's limits this process may use."""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pipeline.config import SECONDS, Secret, http_url, read_section, setting, tables
from pipeline.errors import ConfigError


def _list_ids(raw: Any, where: str, env: Mapping[str, str]) -> Mapping[str, int]:
    ok = isinstance(raw, Mapping) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in raw.values()
    )
    if not ok:
        raise ConfigError(f"Config '{where}' maps list names to Marketo list ids.")
    return dict(raw)


@dataclass(frozen=True)
class MarketoInstance:
    munchkin_id: str = setting("")
    identity_url: str = setting("", parse=http_url)
    rest_url: str = setting("", parse=http_url)
    client_id: str = setting("")
    client_secret: Secret = setting(Secret(""))
    # The older form of client_secret = "env:NAME": the name of an environment variable.
    client_secret_env: str | None = setting(None)
    lists: Mapping[str, int] = setting(factory=dict, parse=_list_ids)
    timeout_s: float = setting(10 * SECONDS, minimum=0.1)
    max_attempts: int = setting(4, minimum=1)
    retry_initial_s: float = 1 * SECONDS
    # Marketo allows an instance 100 calls per 20 s and 10 at once, shared with every other
    # integration of the instance: this process uses this share of both. The shares of all the
    # processes that call one instance (each worker, a backfill) should add up to at most 1.
    rate_share: float = setting(0.5, minimum=0.01, maximum=1.0)
    # The instance's daily API quota (50,000 by default, reset at 00:00 US Central) and the share
    # of it this process may spend; past it, calls wait for the reset instead of failing others.
    daily_quota: int = setting(50_000, minimum=1)
    quota_share: float = setting(0.2, minimum=0.001, maximum=1.0)
    # After a 606 (the instance's rate was exceeded, by us or another integration), this
    # process' calls to the instance pause this long: Marketo counts over 20-s windows.
    rate_limit_backoff_s: float = setting(20 * SECONDS, minimum=0.1)


def read_marketo(doc: Mapping[str, Any], env: Mapping[str, str]) -> tuple[MarketoInstance, ...]:
    out = []
    for where, values in tables(doc, "marketo"):
        instance = read_section(MarketoInstance, where, values, env)
        if instance.client_secret_env:
            instance = replace(
                instance, client_secret=Secret(env.get(instance.client_secret_env, ""))
            )
        if not instance.client_secret.reveal():
            raise ConfigError(
                f"Config '{where}' needs client_secret, or client_secret_env naming a set "
                "environment variable."
            )
        if not (instance.identity_url and instance.rest_url):
            raise ConfigError(f"Config '{where}' needs identity_url and rest_url.")
        out.append(instance)
    if any(not m.munchkin_id or not m.client_id for m in out):
        raise ConfigError("Config 'marketo': every instance needs munchkin_id and client_id.")
    return tuple(out)
