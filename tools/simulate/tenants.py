"""The simulated Marketo instances, and the ingress configuration that admits them.

Each tenant is one munchkin ID with a static push token and the client id of its Adobe I/O
registration. Both are derived from the seed, so a simulator and the ingress it feeds agree
without sharing anything but ``--seed`` and ``--tenants``.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SimTenant:
    munchkin_id: str
    token: str = field(repr=False)
    client_id: str
    ims_org: str

    # The server-to-server credential of the Adobe project (the journal) and the REST API client
    # of the Marketo instance (the backfill), derived so that nothing else needs sharing.
    @property
    def client_secret(self) -> str:
        return f"s2s-{self.token.removeprefix('sim-')}"

    @property
    def rest_client_id(self) -> str:
        return f"rest-{self.munchkin_id}"

    @property
    def rest_client_secret(self) -> str:
        return f"rest-{self.token.removeprefix('sim-')[::-1]}"


def make_tenants(count: int, seed: int) -> tuple[SimTenant, ...]:
    rng = random.Random(f"tenants:{seed}")  # noqa: S311 - test data, not secrets
    tenants = []
    for n in range(count):
        letters = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(3))
        tenants.append(
            SimTenant(
                munchkin_id=f"{n + 100:03d}-{letters}-{rng.randrange(1000):03d}",
                token=f"sim-{rng.getrandbits(128):032x}",
                client_id=f"{rng.getrandbits(128):032x}",
                ims_org=f"{rng.getrandbits(96):024X}@AdobeOrg",
            )
        )
    return tuple(tenants)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class IngressConfig:
    """The parts of an ingress TOML config the tools write (everything else keeps defaults)."""

    port: int
    bootstrap: str
    topic_prefix: str
    key_base_url: str
    partitions: int = 6
    # The tools measure or demo the ingress itself: per-credential limits are raised so they do
    # not decide the figures (the bench's overload step sheds on max_concurrent_deliveries).
    events_per_s: float = 10_000_000.0
    deliveries_per_s: float = 1_000_000.0
    max_concurrent_deliveries: int = 64  # the ingress default
    log_level: str = "WARNING"


def ingress_toml(config: IngressConfig, tenants: Sequence[SimTenant]) -> str:
    lines = [
        "# Written by datastreams tools for a local ingress on 127.0.0.1. Test tokens only.",
        "[server]",
        'host = "127.0.0.1"',
        f"port = {config.port}",
        f"max_concurrent_deliveries = {config.max_concurrent_deliveries}",
        f"log_level = {_quote(config.log_level)}",
        "[kafka]",
        f"bootstrap_servers = {_quote(config.bootstrap)}",
        "[topics]",
        f"prefix = {_quote(config.topic_prefix)}",
        f"partitions = {config.partitions}",
        "[adobe_io]",
        f"public_key_base_url = {_quote(config.key_base_url)}",
        "[limits]",
        f"events_per_second = {config.events_per_s:.1f}",
        f"events_burst = {int(config.events_per_s)}",
        f"deliveries_per_second = {config.deliveries_per_s:.1f}",
        f"deliveries_burst = {int(config.deliveries_per_s)}",
    ]
    return "\n".join(lines) + "\n" + tenants_toml(tenants)


def tenants_toml(tenants: Sequence[SimTenant]) -> str:
    """The ``[[tenants]]`` tables that admit these tenants to an ingress."""
    lines = []
    for t in tenants:
        lines += [
            "[[tenants]]",
            f"munchkin_id = {_quote(t.munchkin_id)}",
            f"api_tokens = [{_quote(t.token)}]",
            f"adobe_client_id = {_quote(t.client_id)}",
        ]
    return "\n".join(lines) + "\n"
