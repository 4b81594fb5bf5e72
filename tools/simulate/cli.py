"""``datastreams simulate``: arguments → ``SimulatorSettings`` → a run with a summary.

Dispatched by ``ingest/cli.py``, which hands it the process environment; the OAuth client secret
is the one value read from it.
"""

import argparse
import asyncio
import signal
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import orjson
from aiohttp import web

from pipeline.config import DAYS
from pipeline.logs import configure_logging
from tools.simulate.run import SimulationResult, Simulator, result_json
from tools.simulate.settings import (
    AdobeIoSettings,
    DirectPushSettings,
    OAuthClient,
    SimulatorConfigError,
    SimulatorSettings,
    validate,
)
from tools.simulate.tenants import make_tenants, tenants_toml
from tools.simulate.upstream import Upstream
from tools.simulate.upstream_app import UpstreamApis, recovery_toml

SECRET_ENV = "SIMULATE_OAUTH_CLIENT_SECRET"  # noqa: S105 - the variable's name, not a secret


HELP = (
    "An upstream that behaves as Marketo's direct push and Adobe I/O Events do (docs/protocol.md)."
    " Every interval is multiplied by --time-scale."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = SimulatorSettings()
    p.add_argument("--url", default=d.url, help="ingress base URL (loopback only)")
    p.add_argument("--push-path", default=d.push_path)
    p.add_argument("--adobe-path", default=d.adobe_path)
    p.add_argument("--paths", default="direct,adobe", help="direct, adobe or both (comma)")
    p.add_argument("--adobe-delivery", choices=("batch", "single"), default="batch")
    p.add_argument("--tenants", type=int, default=d.tenants, help="Marketo instances")
    p.add_argument("--seed", type=int, default=d.seed, help="same seed, same events and tenants")
    p.add_argument("--time-scale", type=float, default=d.time_scale, help="e.g. 0.01: 100x faster")
    p.add_argument("--duplicates", type=float, default=0.0, help="fraction delivered twice")
    p.add_argument("--malformed", type=float, default=0.0, help="fraction made unusable")
    p.add_argument("--rate", type=float, default=None, help="events/s in all (default: cadence)")
    p.add_argument("--leads", type=int, default=d.leads, help="distinct lead ids to spread over")
    p.add_argument("--duration", type=float, default=d.duration_s, help="seconds of generation")
    p.add_argument("--drain", type=float, default=d.drain_s, help="seconds to finish deliveries")
    p.add_argument("--ack-file", type=Path, default=None, help="JSON lines of acknowledged ids")
    p.add_argument("--summary-json", type=Path, default=None, help="write the summary here")
    p.add_argument("--key-port", type=int, default=0, help="signing key server port (0: free)")
    p.add_argument("--bare-token", action="store_true", help="send the token without 'Bearer'")
    p.add_argument("--oauth-token-url", default=None, help="fetch push tokens (client creds)")
    p.add_argument("--oauth-client-id", default="datastreams-simulator")
    p.add_argument(
        "--upstream-port",
        type=int,
        default=None,
        help="also serve the journals (with IMS) and Marketo's REST API on this port",
    )
    p.add_argument(
        "--write-tenants",
        type=Path,
        default=None,
        help="write the [[tenants]] TOML for these --seed/--tenants and exit",
    )


def settings_from(args: argparse.Namespace, env: Mapping[str, str]) -> SimulatorSettings:
    paths = {p.strip() for p in args.paths.split(",") if p.strip()}
    unknown = paths - {"direct", "adobe"}
    if unknown:
        raise SimulatorConfigError(f"--paths {sorted(unknown)}: expected 'direct' and/or 'adobe'")
    oauth = None
    if args.oauth_token_url:
        secret = env.get(SECRET_ENV)
        if not secret:
            raise SimulatorConfigError(f"--oauth-token-url needs the secret in ${SECRET_ENV}")
        oauth = OAuthClient(args.oauth_token_url, args.oauth_client_id, secret)
    return SimulatorSettings(
        url=args.url,
        push_path=args.push_path,
        adobe_path=args.adobe_path,
        direct_push="direct" in paths,
        adobe_io="adobe" in paths,
        tenants=args.tenants,
        seed=args.seed,
        time_scale=args.time_scale,
        duplicates=args.duplicates,
        malformed=args.malformed,
        rate_per_s=args.rate,
        leads=args.leads,
        duration_s=args.duration,
        drain_s=args.drain,
        ack_file=args.ack_file,
        key_port=args.key_port,
        push=replace(DirectPushSettings(), bearer=not args.bare_token),
        adobe=replace(AdobeIoSettings(), batch=args.adobe_delivery == "batch"),
        oauth=oauth,
    )


async def _run(settings: SimulatorSettings, upstream_port: int | None) -> SimulationResult:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if upstream_port is None:
        return await Simulator(settings).run(stop.wait())
    tenants = make_tenants(settings.tenants, settings.seed)
    apis = UpstreamApis(Upstream(tenants, retention_s=settings.scaled(7 * DAYS)))
    runner = web.AppRunner(apis.app(), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", upstream_port).start()
        result = await Simulator(settings, upstream=apis.upstream).run(stop.wait())
        print(
            f"upstreams served at http://127.0.0.1:{upstream_port} until Ctrl-C; their tables:\n"
            + recovery_toml(apis, f"http://127.0.0.1:{upstream_port}"),
            file=sys.stderr,
        )
        await stop.wait()  # the recovery commands read them after the pushes
        return result
    finally:
        await runner.cleanup()


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    configure_logging(env.get("DATASTREAMS_LOG_LEVEL", "INFO").upper())
    if args.write_tenants is not None:
        tenants = make_tenants(args.tenants, args.seed)
        args.write_tenants.write_text(tenants_toml(tenants), "utf-8")
        return 0
    try:
        settings = validate(settings_from(args, env))
    except SimulatorConfigError as exc:
        print(f"datastreams simulate: {exc}", file=sys.stderr)
        return 2
    result = asyncio.run(_run(settings, args.upstream_port))
    print(result.text())
    if args.summary_json is not None:
        args.summary_json.write_bytes(orjson.dumps(result_json(result), option=orjson.OPT_INDENT_2))
    return 1 if result.unverified_registrations else 0
