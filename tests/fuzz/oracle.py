"""What must hold for every request, whatever it was, and the tally of what happened.

The oracle knows the world (which tokens are valid for which tenant, the signing keys, which
recipient maps to which munchkin IDs) and sees each exchange: the request as sent, the answer, the
records it added to any topic, what the identity providers were asked and what the ingress
logged meanwhile. It is deliberately lenient where the contract leaves room (any 4xx for hostile
input is fine) and strict where it does not: no 5xx, a JSON answer from every route, nothing
published without a credential or across tenants, every record accounted for by the answer that
reported it, valid deliveries accepted, no credential in a log line.
"""

import base64
import binascii
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.fuzz import encodings as enc
from tests.fuzz import model as m
from tests.fuzz.claims import (
    adobe_events,
    adobe_violations,
    effective_path,
    loads,
    named_tenants,
    presented_tokens,
    push_claims,
)
from tests.fuzz.findings import (
    AuthBypass,
    CrossTenantAdobe,
    CrossTenantPush,
    ForeignRecord,
    Found,
    IntrospectionLeak,
    NoAnswer,
    NotJson,
    ProcessDied,
    SecretLogged,
    Unaccounted,
    ValidRefused,
    server_error,
)
from tests.fuzz.model import FuzzCase, Rendered
from tests.fuzz.observe import Record
from tests.fuzz.wire import Answer

PUSH = m.PUSH_PATH
ADOBE = m.ADOBE_PATH


@dataclass
class Exchange:
    case: FuzzCase
    rendered: Rendered
    answer: Answer
    records: list[Record]
    introspections: dict[str, list[str]]  # tenant of the IdP -> tokens it was asked about
    log: str
    alive: bool


class SecretIndex:
    """Finds any 12 consecutive characters of a secret in a text: a secret cut by an injected
    byte or shortened in a message is still found."""

    WINDOW = 12

    def __init__(self, secrets: Iterable[str]) -> None:
        w = self.WINDOW
        self.windows = {s[i : i + w] for s in secrets for i in range(len(s) - w + 1)}

    def find(self, text: str) -> str | None:
        w = self.WINDOW
        for line in text.splitlines():
            for i in range(len(line) - w + 1):
                if line[i : i + w] in self.windows:
                    return line
        return None


@dataclass
class Tally:
    outcomes: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    findings: Counter[str] = field(default_factory=Counter)
    explicit: Counter[str] = field(default_factory=Counter)  # of those, by regression examples
    examples: dict[str, tuple[int, str]] = field(default_factory=dict)  # kind -> smallest
    records: Counter[str] = field(default_factory=Counter)
    requests: int = 0

    def add(self, outcome: tuple[str, str, str], records: list[Record], topics: str) -> None:
        self.requests += 1
        self.outcomes[outcome] += 1
        for record in records:
            self.records["dead letters" if record.topic == topics else "envelopes"] += 1

    def remember(self, kind: str, size: int, text: str, explicit: bool) -> None:
        self.findings[kind] += 1
        self.explicit[kind] += explicit
        if kind not in self.examples or size < self.examples[kind][0]:
            self.examples[kind] = (size, text)

    def table(self) -> str:
        rows = sorted(self.outcomes.items(), key=lambda kv: (kv[0][0], kv[0][1], -kv[1]))
        width = max([len(route) for (route, _, _) in self.outcomes] + [5])
        code_width = max([len(code) for (_, _, code) in self.outcomes] + [4])
        lines = [f"{'route':<{width}}  status  {'code':<{code_width}}  requests"]
        lines += [
            f"{route:<{width}}  {status:>6}  {code:<{code_width}}  {count:>8}"
            for (route, status, code), count in rows
        ]
        lines.append(f"{'total':<{width}}  {'':>6}  {'':<{code_width}}  {self.requests:>8}")
        return "\n".join(lines)


class Oracle:
    def __init__(
        self,
        tokens: dict[str, str],
        public_keys: dict[str, Any],
        dead_letter_topic: str,
        secrets: Iterable[str],
    ) -> None:
        self.tenant_of_token = {tokens[name]: t for name, t in m.VALID_TOKENS.items()}
        self.public_keys = public_keys
        self.dead_letter_topic = dead_letter_topic
        self.secrets = SecretIndex(secrets)

    # ---- the outcome of a request, for the table ----

    def outcome(self, ex: Exchange) -> tuple[str, str, str]:
        case, answer = ex.case, ex.answer
        path = effective_path(case.target)
        method = case.method.decode("latin-1") if case.method in m.METHODS else "(odd method)"
        route = f"{method} {path.decode('latin-1') if path in m.ROUTE_PATHS else '(other path)'}"
        if answer.status is None:
            return route, "-", f"({answer.error})"
        return route, str(answer.status), self.code(ex)

    def code(self, ex: Exchange) -> str:
        answer = ex.answer
        if self.parser_rejection(answer):
            return "(aiohttp HTTP parser)"
        doc = loads(answer.body) if answer.body else None
        if isinstance(doc, dict) and isinstance(doc.get("error"), str):
            return str(doc["error"])
        if isinstance(doc, dict) and "accepted" in doc:
            return "validation logged" if "validation" in doc else "accepted"
        if not answer.body:
            return "(empty)"
        return f"({answer.content_type or 'no content type'})"

    @staticmethod
    def parser_rejection(answer: Answer) -> bool:
        """aiohttp's own HTTP parser refuses malformed requests with a plain-text 400 before any
        route (or our middleware) runs."""
        return answer.status == 400 and answer.content_type == "text/plain"

    # ---- the checks ----

    def check(self, ex: Exchange) -> Found:
        found: Found = []
        answer = ex.answer
        if not ex.alive:
            found.append((ProcessDied, "the ingress process is no longer running"))
        if answer.status is None:
            found.append((NoAnswer, str(answer.error)))
        else:
            found += self._answer_checks(ex)
        found += self._record_checks(ex)
        found += self._introspection_checks(ex)
        line = self.secrets.find(ex.log) or self._signature_in_log(ex)
        if line is not None:
            found.append((SecretLogged, f"log line: {line[:300]}"))
        return found

    def _answer_checks(self, ex: Exchange) -> Found:
        answer, case = ex.answer, ex.case
        assert answer.status is not None
        found: Found = []
        doc = loads(answer.body)
        code = doc.get("error") if isinstance(doc, dict) else None
        if answer.status >= 500 and not self._may_be_unavailable(ex, code):
            found.append((server_error(ex.log), f"{answer.status} {answer.body[:200]!r}"))
        path = effective_path(case.target)
        text_allowed = (case.method == b"GET" and path in (ADOBE, b"/metrics")) or (
            case.method == b"HEAD"
        )
        if not self.parser_rejection(answer) and not text_allowed:
            if not isinstance(doc, dict) or answer.content_type != "application/json":
                found.append(
                    (NotJson, f"{answer.status} {answer.content_type} {answer.body[:200]!r}")
                )
            elif answer.status >= 400 and not (
                isinstance(doc.get("error"), str) and isinstance(doc.get("detail"), str)
            ):
                found.append((NotJson, f"error answer without error/detail: {doc!r:.200}"))
        if case.pristine_events is not None:
            expected = {"accepted": case.pristine_events, "deadlettered": 0}
            got = {k: doc.get(k) for k in expected} if isinstance(doc, dict) else doc
            if answer.status != 200 or got != expected:
                found.append(
                    (ValidRefused, f"expected 200 {expected}, got {answer.status} {doc!r:.300}")
                )
        return found

    def _may_be_unavailable(self, ex: Exchange, code: Any) -> bool:
        """503 signing_keys_unavailable is the contract's answer when no key named by the request
        can be fetched: the fuzzer names keys the key server does not have."""
        if ex.answer.status != 503 or code != "signing_keys_unavailable":
            return False
        # Like the ingress, only pairs with both a signature and a path count.
        pairs = [(s.strip(b" \t"), p.strip(b" \t")) for s, p in ex.rendered.signatures]
        paths = [path.decode("latin-1") for signature, path in pairs if signature and path]
        return bool(paths) and not any(p in self.public_keys for p in paths)

    def _delivery(self, ex: Exchange) -> dict[str, Any] | None:
        """The answer of an accepted delivery: 200 from POST to a delivery route."""
        if ex.answer.status != 200 or ex.case.method != b"POST":
            return None
        if effective_path(ex.case.target) not in (PUSH, ADOBE):
            return None
        doc = loads(ex.answer.body)
        return doc if isinstance(doc, dict) else {}

    def _record_checks(self, ex: Exchange) -> Found:
        answer = self._delivery(ex)
        if answer is None:
            if ex.records:
                return [
                    (
                        Unaccounted,
                        f"{len(ex.records)} record(s) published for a request "
                        f"answered {ex.answer.status}: {self._describe(ex.records)}",
                    )
                ]
            return []
        found: Found = []
        accepted, dead = answer.get("accepted"), answer.get("deadlettered")
        counted = accepted + dead if isinstance(accepted, int) and isinstance(dead, int) else None
        if counted != len(ex.records):
            found.append(
                (
                    Unaccounted,
                    f"the answer {answer!r:.100} accounts for {counted} record(s), "
                    f"{len(ex.records)} were published: {self._describe(ex.records)}",
                )
            )
        if effective_path(ex.case.target) == PUSH:
            found += self._push_checks(ex)
        else:
            found += self._adobe_checks(ex, answer)
        return found

    def _push_checks(self, ex: Exchange) -> Found:
        tenants = {
            t
            for token in presented_tokens(ex.rendered.authorizations)
            if (t := self.tenant_of_token.get(token)) is not None
        }
        if not tenants:
            return [(AuthBypass, "a direct push without a valid token was accepted")]
        found = self._tenants_of_records(ex, tenants)
        if enc.ENCODINGS[ex.case.encoding].clean:
            foreign = push_claims(loads(ex.rendered.body)) - tenants
            if foreign:
                found.append(
                    (
                        CrossTenantPush,
                        f"a push authenticated for {sorted(tenants)} that names "
                        f"{sorted(foreign)} was accepted",
                    )
                )
        return found

    def _adobe_checks(self, ex: Exchange, answer: dict[str, Any]) -> Found:
        docs = [d for d in map(loads, [ex.rendered.body, *enc.decodings(ex.rendered.wire_body)])]
        if not self._signed(ex.rendered):
            validation = any(isinstance(d, dict) and set(d) == {"validationUrl"} for d in docs)
            if ex.records or answer.get("accepted") or answer.get("deadlettered") or not validation:
                return [(AuthBypass, "an Adobe delivery without a valid signature was accepted")]
            return []
        allowed = {"unknown"}
        for doc in docs:
            for recipient, _ in adobe_events(doc):
                allowed |= m.MUNCHKINS_BY_CLIENT.get(recipient or "", frozenset())
        found = self._tenants_of_records(ex, allowed)
        doc = loads(ex.rendered.body)
        if enc.ENCODINGS[ex.case.encoding].clean:
            found += [(CrossTenantAdobe, problem) for problem in adobe_violations(doc)]
        return found

    def _tenants_of_records(self, ex: Exchange, allowed: set[str]) -> Found:
        for record in ex.records:
            key = (record.key or b"").decode("utf-8", "replace")
            dead_letter = record.topic == self.dead_letter_topic
            tenant = key if dead_letter else key.split(":", 1)[0]
            if (tenant == "unknown" and not dead_letter) or tenant not in allowed:
                problem = f"record on {record.topic} keyed {key[:80]!r}: the credential may "
                return [(ForeignRecord, problem + f"publish for {sorted(allowed)} only")]
            envelope = None if dead_letter else loads(record.value or b"")
            if isinstance(envelope, dict) and envelope.get("munchkinid") != tenant:
                problem = f"envelope keyed {key[:80]!r} is of {envelope.get('munchkinid')!r}"
                return [(Unaccounted, problem)]
        return []

    def _signed(self, rendered: Rendered) -> bool:
        """Whether any signature header pair verifies, over the body or the wire bytes."""
        for signature, path in rendered.signatures:
            key = self.public_keys.get(path.strip(b" \t").decode("latin-1"))
            try:
                raw = base64.b64decode(signature.strip(b" \t"), validate=True)
            except (binascii.Error, ValueError):
                continue
            for data in (rendered.body, rendered.wire_body):
                try:
                    if key is not None:
                        key.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
                        return True
                except InvalidSignature:
                    continue
        return False

    def _introspection_checks(self, ex: Exchange) -> Found:
        asked = {tenant: tokens for tenant, tokens in ex.introspections.items() if tokens}
        if not asked:
            return []
        bodies = [ex.rendered.body, *enc.decodings(ex.rendered.wire_body)]
        named = named_tenants(loads(b) for b in bodies)
        wrong = sorted(tenant for tenant in asked if tenant not in named)
        if not wrong:
            return []
        return [
            (
                IntrospectionLeak,
                f"the IdP of {wrong} was asked about a token of a delivery "
                f"naming {sorted(named) or 'no tenant'}",
            )
        ]

    def _signature_in_log(self, ex: Exchange) -> str | None:
        values = [s.decode("latin-1") for s, _ in ex.rendered.signatures if len(s) >= 24]
        if not values or not ex.log:
            return None
        return SecretIndex(values).find(ex.log)

    @staticmethod
    def _describe(records: list[Record]) -> str:
        keys = [
            f"{r.topic.rsplit('.', 1)[-1]}:{(r.key or b'').decode('utf-8', 'replace')[:40]}"
            for r in records[:5]
        ]
        return ", ".join(keys) + (" ..." if len(records) > 5 else "")
