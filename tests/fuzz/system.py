"""The system under fuzz, all real: a ``datastreams ingress`` process started from a generated TOML
config, the session's Kafka broker, an Adobe-style key server and one identity provider per
OAuth tenant (tests/idp.py), plus what the fuzzer observes: raw HTTP exchanges over sockets (so
header bytes no client library would send can be sent), the records each request added to any
topic, the identity providers' introspection requests, the process' log and its RSS.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeAlias

from aiohttp.test_utils import TestServer
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from pipeline.admin import partitions_of
from pipeline.settings import TopicSettings
from pipeline.topics import Topics, build_topics
from tests.fuzz import model as m
from tests.support.idp import AUDIENCE, CLIENT_ID, IdentityProvider, IdpKey
from tools.process import free_port
from tools.simulate.signing import KeyServer, SigningKey

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 30.0
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


@dataclass
class Answer:
    """One HTTP response as read off the socket."""

    status: int | None = None
    version: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None  # why no complete response could be read

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def parse_answer(data: bytes, head_request: bool, eof: bool) -> Answer | None:
    """The final (non-1xx) response in ``data``; None while it is incomplete."""
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return None
        lines = data[:end].split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            return Answer(error=f"unparseable status line {lines[0][:80]!r}")
        status = int(parts[1])
        rest = data[end + 4 :]
        if 100 <= status < 200:
            data = rest
            continue
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        answer = Answer(status, parts[0], headers)
        if head_request or status in (204, 304):
            return answer
        if "content-length" in headers:
            length = int(headers["content-length"])
            if len(rest) < length:
                return None
            answer.body = rest[:length]
            return answer
        if "chunked" in headers.get("transfer-encoding", ""):
            body = _dechunk(rest)
            if body is None:
                return None
            answer.body = body
            return answer
        if not eof:
            return None  # delimited by the connection closing
        answer.body = rest
        return answer


def _dechunk(data: bytes) -> bytes | None:
    out = b""
    while True:
        line_end = data.find(b"\r\n")
        if line_end < 0:
            return None
        size = int(data[:line_end].split(b";")[0], 16)
        if size == 0:
            return out
        chunk = data[line_end + 2 : line_end + 2 + size]
        if len(chunk) < size:
            return None
        out += chunk
        data = data[line_end + 4 + size :]


async def exchange(port: int, raw: bytes, head_request: bool) -> Answer:
    """Write the request, read the response. The write runs beside the read: the ingress may
    answer (401, 413) before it has read a large body."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        return Answer(error=f"connect: {exc}")

    async def write() -> None:
        try:
            writer.write(raw)
            await writer.drain()
        except OSError:
            pass  # answered and closed before the whole request was read: the read decides

    sending = asyncio.ensure_future(write())
    data = b""
    error = None
    answer: Answer | None = None
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            while (answer := parse_answer(data, head_request, eof=False)) is None:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                data += chunk
    except TimeoutError:
        error = "no complete answer within the timeout"
    except OSError as exc:
        error = f"read: {type(exc).__name__}"
    finally:
        sending.cancel()
        writer.close()
    if answer is not None:
        return answer
    answer = parse_answer(data, head_request, eof=True)
    if answer is not None:
        return answer
    return Answer(error=error or ("closed without an answer" if not data else "incomplete answer"))


def rss_of(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in bytes."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) * 1024
    return values


class RecordWatcher:
    """Reads every record the ingress adds to its topics, request by request: offsets are dense
    (no transactions), so what lies between two end offsets is exactly what was written between
    two readings."""

    def __init__(self, bootstrap: str, topics: Topics) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.partitions: list[TopicPartition] = []
        self.next: dict[TopicPartition, int] = {}
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=5,
            max_partition_fetch_bytes=MAX_RECORD_BYTES,
            fetch_max_bytes=4 * MAX_RECORD_BYTES,
        )
        # End offsets come from a second client: a broker answers one connection's requests in
        # order, so behind the first client's long-polling fetch every query would wait for it.
        self.offsets = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)

    async def start(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            for topic in self.topics.all():
                ids = await partitions_of(admin, topic.name)
                self.partitions += [TopicPartition(topic.name, n) for n in ids]
        finally:
            await admin.close()
        await self.offsets.start()
        await self.consumer.start()
        self.consumer.assign(self.partitions)
        await self.consumer.seek_to_beginning(*self.partitions)
        self.next = dict.fromkeys(self.partitions, 0)

    async def new_records(self, timeout_s: float = 30.0) -> list[Record]:
        end = await self.offsets.end_offsets(self.partitions)
        out: list[Record] = []
        async with asyncio.timeout(timeout_s):
            while any(self.next[tp] < end[tp] for tp in self.partitions):
                batch = await self.consumer.getmany(timeout_ms=100)
                for tp, records in batch.items():
                    for record in records:
                        if record.offset >= self.next[tp]:
                            out.append(record)
                            self.next[tp] = record.offset + 1
        return out

    async def stop(self) -> None:
        await self.consumer.stop()
        await self.offsets.stop()


async def topic_names(bootstrap: str, prefix: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sorted(t for t in await admin.list_topics() if t.startswith(prefix + "."))
    finally:
        await admin.close()


async def end_offsets(bootstrap: str, topics: list[str]) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        partitions = [TopicPartition(t, n) for t in topics for n in await partitions_of(admin, t)]
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        offsets: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return offsets
    finally:
        await consumer.stop()


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
            f"max_body_bytes = {m.MAX_BODY_BYTES}",
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
