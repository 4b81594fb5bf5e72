"""``deeper_than`` (orjson's depth limit, in C) decides exactly as ``walked_deeper`` (the walk in
Python that it replaced) on documents JSON decoding gives, around every limit a setting allows,
and the orjson behaviour it rests on is what it assumes."""

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.parse import ORJSON_MAX_DEPTH, deeper_than, walked_deeper
from ingest.settings import MAX_JSON_DEPTH

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # beyond 64 bits orjson refuses to serialize: the walk decides then
    st.floats(allow_nan=False),
    st.text(max_size=3),
)
shallow = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3)
    ),
    max_leaves=12,
)


# beside the spine: branches up to two deep (cheap to draw three hundred of)
side_branches: st.SearchStrategy[Any] = st.sampled_from(
    [0, "x", None, [], {}, [1], {"x": []}, [[1]], {"x": {"y": 2}}]
)


def _spine(depth: int, kinds: int, siblings: list[Any], leaf: Any) -> Any:
    """Containers nested ``depth`` deep along one path (a list where bit i of ``kinds`` is set,
    an object where not), each with a side branch (``siblings`` in turn), ending in ``leaf``."""
    node = leaf
    for level in range(depth):
        sibling = siblings[level % len(siblings)]
        node = [sibling, node] if kinds >> level & 1 else {"s": sibling, "n": node}
    return node


limits = st.one_of(
    st.integers(min_value=0, max_value=8),
    st.integers(min_value=28, max_value=36),  # the default, 32
    st.integers(min_value=MAX_JSON_DEPTH - 4, max_value=ORJSON_MAX_DEPTH + 2),
)


@st.composite
def around_the_limit(draw: st.DrawFn) -> tuple[Any, int]:
    limit = draw(limits)
    depth = draw(st.integers(min_value=max(0, limit - 3), max_value=limit + 3))
    kinds = draw(st.integers(min_value=0, max_value=2**depth - 1)) if depth else 0
    siblings = draw(st.lists(side_branches, min_size=1, max_size=5))
    return _spine(depth, kinds, siblings, draw(shallow)), limit


@settings(max_examples=200)
@given(around_the_limit())
def test_deeper_than_decides_as_the_walk_around_the_limit(case: tuple[Any, int]) -> None:
    doc, limit = case
    assert deeper_than(doc, limit) is walked_deeper(doc, limit)


@given(shallow, st.integers(min_value=-1, max_value=6))
def test_deeper_than_decides_as_the_walk_on_shallow_documents(doc: Any, limit: int) -> None:
    assert deeper_than(doc, limit) is walked_deeper(doc, limit)


@pytest.mark.parametrize("limit", [4, 32, MAX_JSON_DEPTH])
def test_each_allowed_limit_is_exact_at_its_edge(limit: int) -> None:
    for depth in (limit - 1, limit, limit + 1, ORJSON_MAX_DEPTH + 1):
        doc = orjson.loads(b"[" * depth + b"]" * depth)
        assert deeper_than(doc, limit) is (depth > limit)
        doc = orjson.loads(b'{"a":' * depth + b"1" + b"}" * depth)
        assert deeper_than(doc, limit) is (depth > limit)


def test_orjson_refuses_exactly_beyond_its_depth_limit() -> None:
    """What ``deeper_than`` rests on: should an orjson upgrade change it, this fails (the walk
    would still decide right where the message differs, only slower)."""
    ok = orjson.loads(b"[" * ORJSON_MAX_DEPTH + b"]" * ORJSON_MAX_DEPTH)
    orjson.dumps(ok)
    too_deep = [ok]
    with pytest.raises(orjson.JSONEncodeError) as info:
        orjson.dumps(too_deep)
    assert str(info.value) == "Recursion limit reached"
