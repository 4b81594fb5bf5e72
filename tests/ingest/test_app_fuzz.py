"""Mutation fuzzing through the real app: realistic deliveries with fields deleted, retyped and
bytes cut. Whatever arrives, the answer is a precise JSON status (never a 500), every event of an
accepted delivery is accounted for, and the server stays healthy."""

import copy
import random
from typing import Any

import orjson

from tests.support import payloads as p
from tests.support.ingress import Ingress

ODD_VALUES: list[Any] = [None, True, -1, 2**63, 1.5e308, "", "x" * 300, [], {}, [[[]]], "\u0000"]


def mutate(rng: random.Random, doc: Any) -> Any:
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 4)):
        node = doc
        path: list[Any] = []
        while isinstance(node, dict | list) and node and rng.random() < 0.7:
            key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
            path.append((node, key))
            node = node[key]
        if not path:
            continue
        parent, key = path[-1]
        if isinstance(parent, dict) and rng.random() < 0.4:
            del parent[key]
        else:
            parent[key] = rng.choice(ODD_VALUES)
    return doc


def samples(rng: random.Random) -> list[bytes]:
    base = [
        p.direct_push([p.activity(), p.activity(13, "Change Data Value")]),
        [p.activity(), p.activity(100001, "Custom")],
    ]
    bodies = [orjson.dumps(mutate(rng, rng.choice(base))) for _ in range(60)]
    bodies += [b[: rng.randrange(1, len(b))] for b in bodies[:20]]  # truncated
    bodies += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))) for _ in range(10)]
    return bodies


async def test_direct_push_survives_mutated_input(ingress: Ingress) -> None:
    rng = random.Random(20261128)
    accepted = 0
    for body in samples(rng):
        resp = await ingress.post_push(body)
        answer = await resp.json()
        assert resp.status in (200, 403), (resp.status, answer, body[:200])
        if resp.status == 200:
            assert set(answer) == {"accepted", "deadlettered"}
            accepted += answer["accepted"] + answer["deadlettered"]
        else:
            assert answer["error"] == "tenant_mismatch"
    assert (await ingress.client.get("/healthz")).status == 200
    assert await ingress.total_published() == accepted


async def test_adobe_route_survives_mutated_signed_input(ingress: Ingress) -> None:
    rng = random.Random(7)
    base = [
        p.lads_event(),
        p.wrapped(p.audit_body("Email", "approve")),
        p.wrapped(p.notification_body("campaign_abort")),
    ]
    accepted = 0
    for _ in range(60):
        doc = [mutate(rng, rng.choice(base)) for _ in range(rng.randint(1, 3))]
        resp = await ingress.post_adobe(doc)
        answer = await resp.json()
        assert resp.status in (200, 403), (resp.status, answer, doc)
        if resp.status == 200:
            accepted += answer["accepted"] + answer["deadlettered"]
        else:
            assert answer["error"] in ("wrong_recipient", "tenant_mismatch")
    assert accepted > 0
    assert await ingress.total_published() == accepted
