"""The system under fuzz, all real: a ``datastreams ingress`` process started from a generated TOML
config, the session's Kafka broker, an Adobe-style key server and one identity provider per
OAuth tenant (tests/support/idp.py). Raw HTTP exchanges are in ``wire``; the records each request
added and the process' memory are observed by ``observe``.

The ingress is a separate process so that its log is the one the command line configures and its
memory is its own, not the test runner's.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import IO, Any, TypeAlias

from aiohttp.test_utils import TestServer
from aiokafka.structs import ConsumerRecord

from pipeline.settings import TopicSettings
from pipeline.topics import Topics, build_topics
from tests.fuzz import model as m
from tests.fuzz.encodings import MAX_BODY_BYTES
from tests.fuzz.observe import (
    RecordWatcher,
    rss_of,
)
from tests.fuzz.wire import (
    Answer,
    exchange,
)
from tests.support.idp import AUDIENCE, CLIENT_ID, IdentityProvider, IdpKey
from tools.process import free_port
from tools.simulate.signing import KeyServer, SigningKey

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0
TOKEN_LIFETIME_S = 6 * 3600  # outlives the longest fuzz run, so valid tokens stay valid
MAX_RECORD_BYTES = 10 * 1024 * 1024
OAUTH_CLIENTS = {m.OPA: "opa-push-client", m.OPB: "opb-push-client"}


Record: TypeAlias = ConsumerRecord[Any, Any]


def _fixed(name: str) -> str:
    """A token that looks random and is the same in every run (failures replay byte for byte)."""
    return name + "-" + hashlib.sha256(name.encode()).hexdigest()[:24]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def toml_value(value: Any) -> str:
    """TOML basic strings, arrays and numbers share JSON's syntax for what the config needs."""
    return json.dumps(value)


class World:
    """Everything the fuzzer talks to. ``start`` brings it up; ``stop`` takes it down."""

    def __init__(self, bootstrap: str, workdir: Path) -> None:
        self.bootstrap = bootstrap
        self.workdir = workdir
        self.prefix = f"fuzz-{uuid.uuid4().hex[:10]}"
        self.topics: Topics = build_topics(
            TopicSettings(prefix=self.prefix, partitions=3), MAX_RECORD_BYTES
        )
        self.signing_keys = (SigningKey(), SigningKey())
        self.key_server = KeyServer(*self.signing_keys)
        self.idps = {
            tenant: IdentityProvider((f"introspector-{tenant}", _fixed(f"introspection-{tenant}")))
            for tenant in (m.JWT, m.OPA, m.OPB)
        }
        self.servers: list[TestServer] = []
        self.tokens: dict[str, str] = {}
        self.port = 0
        self.process: asyncio.subprocess.Process | None = None
        self.log_path = workdir / "ingress.log"
        self._log: IO[bytes] | None = None
        self._log_offset = 0
        self._introspected = dict.fromkeys(self.idps, 0)
        self.watcher: RecordWatcher | None = None
        self.key_base_url = ""

    # ---- Secrets (tests.fuzz.model) ----

    def token(self, name: str) -> str:
        return self.tokens[name]

    def sign(self, slot: int, body: bytes) -> str:
        return self.signing_keys[slot - 1].sign(body)

    def key_path(self, slot: int) -> str:
        return self.signing_keys[slot - 1].path

    # ---- lifecycle ----

    async def start(self) -> None:
        self.key_base_url = await self._serve(self.key_server.app)
        for idp in self.idps.values():
            idp.base_url = await self._serve(idp.app)
        self.tokens = self._make_tokens()
        self.port = free_port()
        config = self.workdir / "datastreams.toml"
        config.write_text(self._config())
        env = {k: v for k, v in os.environ.items() if not k.startswith("DATASTREAMS_")}
        env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        env["DATASTREAMS_CONFIG"] = str(config)
        env["FUZZ_SBX_TOKEN"] = self.tokens["static-sbx"]
        for tenant in (m.OPA, m.OPB):
            env[f"FUZZ_INTROSPECTION_SECRET_{tenant[4:7]}"] = self.idps[
                tenant
            ].introspection_client[1]
        self._log = self.log_path.open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ingest",
            "ingress",
            cwd=REPO_ROOT,
            env=env,
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
        )
        await self._wait_ready()
        self.watcher = RecordWatcher(self.bootstrap, self.topics)
        await self.watcher.start()

    async def _serve(self, app: Any) -> str:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        self.servers.append(server)
        return str(server.make_url("")).rstrip("/")

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        request = b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"the ingress exited during startup:\n{self.log_tail()}")
            answer = await exchange(self.port, request, head_request=False)
            if answer.status == 200:
                return
            await asyncio.sleep(0.2)
        raise RuntimeError(
            f"the ingress was not ready within {READY_TIMEOUT_S:g} s:\n{self.log_tail()}"
        )

    async def stop(self) -> int | None:
        """Stops everything; returns the ingress' exit code."""
        if self.watcher is not None:
            await self.watcher.stop()
        code = None
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                code = await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                code = await self.process.wait()
        elif self.process is not None:
            code = self.process.returncode
        if self._log is not None:
            self._log.close()
        for server in self.servers:
            await server.close()
        return code

    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    # ---- observations ----

    async def send(self, raw: bytes, head_request: bool) -> Answer:
        return await exchange(self.port, raw, head_request)

    async def new_records(self) -> list[Record]:
        assert self.watcher is not None
        return await self.watcher.new_records()

    def new_introspections(self) -> dict[str, list[str]]:
        """The tokens each identity provider was asked about since the last call, by tenant."""
        out = {}
        for tenant, idp in self.idps.items():
            seen = self._introspected[tenant]
            out[tenant] = idp.introspected[seen:]
            self._introspected[tenant] = len(idp.introspected)
        return out

    def new_log(self) -> str:
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            data = log.read()
        self._log_offset += len(data)
        return data.decode("utf-8", "backslashreplace")

    def whole_log(self) -> str:
        return self.log_path.read_bytes().decode("utf-8", "backslashreplace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.whole_log().splitlines()[-lines:])

    def rss(self) -> dict[str, int]:
        assert self.process is not None
        return rss_of(self.process.pid)

    def served_key_paths(self) -> set[str]:
        return set(self.key_server.keys)

    def public_keys(self) -> dict[str, Any]:
        return {k.path: k.private.public_key() for k in self.signing_keys}

    def secrets(self) -> list[str]:
        """Every credential of the run: a log line holding any part of one is a finding."""
        values = [t for t in self.tokens.values() if len(t) >= 16]
        values += [t.rsplit(".", 1)[1] for t in self.tokens.values() if t.count(".") == 2]
        values += [idp.introspection_client[1] for idp in self.idps.values()]
        return [v for v in values if len(v) >= 12]

    # ---- configuration ----

    def _make_tokens(self) -> dict[str, str]:
        tokens = {
            "static-sta-0": _fixed("static-sta-0"),
            "static-sta-1": _fixed("static-sta-1"),
            "static-sbx": _fixed("static-sbx"),
            "static-own": _fixed("static-own"),
            "static-unknown": _fixed("static-unknown"),
            "garbage-dots": "not.a.jwt",
            "garbage-short": "x",
            "empty": "",
        }
        tokens.update(self._jwts())
        tokens.update(self._opaque_tokens())
        assert set(tokens) == set(m.TOKEN_NAMES), set(tokens) ^ set(m.TOKEN_NAMES)
        return tokens

    def _jwts(self) -> dict[str, str]:
        idp = self.idps[m.JWT]
        now = int(time.time())
        exp = now + TOKEN_LIFETIME_S
        rsa_key, ec_key = idp.keys
        valid = idp.token(rsa_key, exp=exp)
        header, payload, signature = valid.split(".")
        forged_payload = _b64(json.dumps(idp.claims(exp=exp, azp="someone-else")).encode())
        unsigned = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode()) + "." + payload
        hs_header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": rsa_key.kid}).encode())
        hs_input = f"{hs_header}.{payload}"
        hs_signature = hmac.new(rsa_key.public_pem(), hs_input.encode(), "sha256").digest()
        impostor = IdpKey("RS256", kid=rsa_key.kid)  # the IdP's kid, a key it never published
        return {
            "jwt-rs256": valid,
            "jwt-es256": idp.token(ec_key, exp=exp),
            "jwt-expired": idp.token(exp=now - 3600, iat=now - 7200, nbf=now - 7200),
            "jwt-not-yet-valid": idp.token(nbf=exp, exp=exp + 60),
            "jwt-wrong-audience": idp.token(aud="someone-else", exp=exp),
            "jwt-wrong-issuer": idp.token(iss="https://issuer.invalid/", exp=exp),
            "jwt-wrong-client": idp.token(azp="someone-else", sub="someone-else", exp=exp),
            "jwt-alg-none": unsigned + ".",
            "jwt-hs256-public-key": f"{hs_input}.{_b64(hs_signature)}",
            "jwt-tampered": f"{header}.{forged_payload}.{signature}",
            "jwt-unknown-kid": idp.token(headers={"kid": "kid-nobody-published"}, exp=exp),
            "jwt-foreign-key": idp.token(impostor, exp=exp),
        }

    def _opaque_tokens(self) -> dict[str, str]:
        now = int(time.time())
        specs = {  # name: (tenant whose IdP knows it, active, client id, exp)
            "opaque-opa": (m.OPA, True, OAUTH_CLIENTS[m.OPA], now + TOKEN_LIFETIME_S),
            "opaque-opb": (m.OPB, True, OAUTH_CLIENTS[m.OPB], now + TOKEN_LIFETIME_S),
            "opaque-opa-inactive": (m.OPA, False, OAUTH_CLIENTS[m.OPA], now + TOKEN_LIFETIME_S),
            "opaque-opa-expired": (m.OPA, True, OAUTH_CLIENTS[m.OPA], now - 3600),
            "opaque-opb-wrong-client": (m.OPB, True, "someone-else", now + TOKEN_LIFETIME_S),
        }
        tokens = {"opaque-unknown": _b64(hashlib.sha256(b"opaque-unknown").digest()[:18])}
        for name, (tenant, active, client, exp) in specs.items():
            token = _b64(hashlib.sha256(name.encode()).digest()[:18])
            self.idps[tenant].opaque[token] = {
                "active": active,
                "client_id": client,
                "aud": AUDIENCE,
                "exp": exp,
            }
            tokens[name] = token
        return tokens

    def _config(self) -> str:
        t = self.tokens
        sta_digest = hashlib.sha256(t["static-sta-1"].encode()).hexdigest()
        lines = [
            "[server]",
            'host = "127.0.0.1"',
            f"port = {self.port}",
            f"max_json_depth = {m.MAX_JSON_DEPTH}",
            f"max_events_per_delivery = {m.MAX_EVENTS}",
            f"max_body_bytes = {MAX_BODY_BYTES}",
            # Short, so a request the fuzzer leaves incomplete costs seconds, not minutes.
            "body_timeout_seconds = 5",
            "idle_timeout_seconds = 5",
            "[kafka]",
            f"bootstrap_servers = {toml_value(self.bootstrap)}",
            'client_id = "fuzz-ingress"',
            # Every dependency is up: on this shared machine only starvation could make a call
            # time out, and a 503 for that would be noise, not a finding.
            "publish_timeout_seconds = 20",
            "[topics]",
            f"prefix = {toml_value(self.prefix)}",
            "partitions = 3",
            "[adobe_io]",
            f"public_key_base_url = {toml_value(self.key_base_url)}",
            "key_fetch_timeout_seconds = 20",
            "[oauth]",
            "http_timeout_seconds = 20",
            # Rate limits are tested elsewhere; here they would only hide the paths behind them.
            "[limits]",
            "events_per_second = 1000000",
            "events_burst = 1000000",
            "deliveries_per_second = 1000000",
            "deliveries_burst = 1000000",
            "[[tenants]]",
            f"munchkin_id = {toml_value(m.STA)}",
            f"api_tokens = {toml_value([t['static-sta-0'], 'sha256:' + sta_digest])}",
            f"adobe_client_id = {toml_value(m.SHARED_CLIENT)}",
            "[[tenants]]",
            f"munchkin_id = {toml_value(m.SBX)}",
            'api_tokens = ["env:FUZZ_SBX_TOKEN"]',
            f"adobe_client_id = {toml_value(m.SHARED_CLIENT)}",
            "[[tenants]]",
            f"munchkin_id = {toml_value(m.OWN)}",
            f"api_tokens = {toml_value([t['static-own']])}",
            f"adobe_client_id = {toml_value(m.OWN_CLIENT)}",
            "[[tenants]]",
            f"munchkin_id = {toml_value(m.JWT)}",
            "[tenants.oauth]",
            f"issuer = {toml_value(self.idps[m.JWT].issuer)}",
            f"audience = {toml_value(AUDIENCE)}",
            f"client_ids = {toml_value([CLIENT_ID])}",
        ]
        for tenant in (m.OPA, m.OPB):
            idp = self.idps[tenant]
            lines += [
                "[[tenants]]",
                f"munchkin_id = {toml_value(tenant)}",
                "[tenants.oauth]",
                f"issuer = {toml_value(idp.issuer)}",
                f"audience = {toml_value(AUDIENCE)}",
                f"client_ids = {toml_value([OAUTH_CLIENTS[tenant]])}",
                f"introspection_url = {toml_value(idp.base_url + '/introspect')}",
                f"introspection_client_id = {toml_value(idp.introspection_client[0])}",
                "introspection_client_secret = "
                + toml_value(f"env:FUZZ_INTROSPECTION_SECRET_{tenant[4:7]}"),
            ]
        return "\n".join(lines) + "\n"
