"""Drawing primitives (each shrinks towards the plain, valid choice), edits of decoded documents
and of bytes, credentials and the transport of one request."""

import copy
from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from hypothesis import strategies as st

from tests.fuzz.model import (
    INVALID_TOKENS,
    SIG_MODES,
    TENANTS,
    Auth,
    ByteEdit,
    Raw,
    SigSlot,
)
from tests.fuzz.values import (
    BOMBS,
    CLAIMS,
    CLEAN_CONTENT_TYPES,
    CLEAN_ENCODINGS,
    CLEAN_SCHEMES,
    CONTENT_TYPES,
    EDIT_BYTES,
    ENCODING_NAMES,
    EXTRA_HEADERS,
    EXTREME_IDS,
    EXTREME_TIMES,
    FIELD_GROUPS,
    HOSTILE_BYTES,
    ODD_PATHS,
    OTHER_METHODS,
    SCHEMES,
    SPECIAL_VALUES,
    VALID_NAMES,
)

T = TypeVar("T")

# Strategies are built once: building one per draw costs more than drawing from it.
_PICKS: dict[int, tuple[Sequence[Any], st.SearchStrategy[Any]]] = {}
PERCENT = st.integers(0, 99)


def pick(options: Sequence[T]) -> st.SearchStrategy[T]:
    """Shrinks to the first option."""
    cached = _PICKS.get(id(options))
    if cached is None or cached[0] is not options:
        cached = _PICKS[id(options)] = (options, st.sampled_from(options))
    return cached[1]


@cache
def integers(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


def rarely(draw: st.DrawFn, percent: int) -> bool:
    """True about ``percent`` times in a hundred; shrinks to False."""
    return draw(PERCENT) >= 100 - percent


BINARY = st.binary(max_size=48)


def json_int(value: int) -> Any:
    return value if -(2**63) <= value < 2**64 else Raw(str(value))


VALUES: st.SearchStrategy[Any] = st.one_of(
    # Twice: the hand-picked values are the ones most likely to matter.
    pick(SPECIAL_VALUES),
    pick(SPECIAL_VALUES),
    st.integers(min_value=-(2**70), max_value=2**70).map(json_int),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=24),
    pick(CLAIMS),
)


def field_edit(draw: st.DrawFn, fields: Sequence[str]) -> tuple[str, int, bool, Any]:
    """(field, which occurrence, delete?, new value)."""
    name = draw(pick(fields))
    occurrence = draw(integers(0, 7))
    delete = rarely(draw, 12)
    return name, occurrence, delete, None if delete else draw(VALUES)


def _occurrences(doc: Any, name: str) -> tuple[list[tuple[dict[str, Any], str]], list[Any]]:
    found: list[tuple[dict[str, Any], str]] = []
    containers: list[Any] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            containers.append(node)
            for key, child in node.items():
                if key == name:
                    found.append((node, key))
                stack.append(child)
        elif isinstance(node, list):
            containers.append(node)
            stack.extend(node)
    return found, containers


def apply_edit(doc: Any, edit: tuple[str, int, bool, Any]) -> None:
    """Set (or delete) the n-th occurrence of a field; add it to the n-th container if absent."""
    name, occurrence, delete, value = edit
    # A copy: the values' lists and objects are module constants, and a later edit may add to
    # whatever this one put in place (one shared list inside itself makes every walk endless).
    value = copy.deepcopy(value)
    found, containers = _occurrences(doc, name)
    if found:
        parent, key = found[occurrence % len(found)]
        if delete:
            del parent[key]
        else:
            parent[key] = value
    elif containers and not delete:
        target = containers[occurrence % len(containers)]
        if isinstance(target, dict):
            target[name] = value
        else:
            target.append(value)


def extremes(draw: st.DrawFn, event: Any, times: Sequence[str], ids: Sequence[str]) -> bool:
    """Put an extreme value in one time field and one id or number field of an event (each
    sometimes); True if it did."""
    changed = False
    if rarely(draw, 8):
        apply_edit(event, (draw(pick(times)), 0, False, draw(pick(EXTREME_TIMES))))
        changed = True
    if rarely(draw, 8):
        apply_edit(event, (draw(pick(ids)), 0, False, draw(pick(EXTREME_IDS))))
        changed = True
    return changed


def edits(draw: st.DrawFn) -> list[tuple[str, int, bool, Any]]:
    """None in half the cases; else one to four, each in a time, id, number or structure field."""
    how_many = draw(integers(0, 9))
    count = (0, 0, 0, 0, 0, 1, 1, 1, 2, 4)[how_many]
    return [field_edit(draw, draw(pick(FIELD_GROUPS))) for _ in range(count)]


def byte_edits(draw: st.DrawFn) -> ByteEdit | None:
    if not rarely(draw, 10):
        return None
    kind = draw(pick(("truncate", "insert", "prefix", "suffix", "replace")))
    at = draw(integers(0, 400))
    data = draw(pick(EDIT_BYTES)) if not rarely(draw, 30) else draw(BINARY)
    return ByteEdit(kind, at, data)


# ---- credentials --------------------------------------------------------------------------------


def tokens(draw: st.DrawFn) -> str:
    """A token name: three times in four one that is valid for some tenant."""
    if rarely(draw, 25):
        return draw(pick(INVALID_TOKENS))
    return draw(pick(VALID_NAMES))


def claims(draw: st.DrawFn) -> Any:
    """Another munchkin ID: mostly a configured tenant's, else an odd one."""
    if rarely(draw, 40):
        return draw(pick(CLAIMS))
    return draw(pick(TENANTS))


def auths(draw: st.DrawFn, token: str) -> tuple[Auth | None, bool]:
    """An Authorization header for the token (or none), and whether it is one a client sends."""
    if rarely(draw, 5):
        return None, False
    scheme = draw(pick(SCHEMES)) if rarely(draw, 15) else b"Bearer "
    pad = draw(pick((b" ", b"\t", b"  \t "))) if rarely(draw, 6) else b""
    inject = None
    if rarely(draw, 12):
        inject = (draw(integers(0, 64)), draw(pick(HOSTILE_BYTES)))
    repeat = draw(pick((2, 320, 2000))) if rarely(draw, 3) else 1
    duplicate = tokens(draw) if rarely(draw, 3) else None
    auth = Auth(token, scheme, pad, inject, repeat, duplicate)
    clean = scheme in CLEAN_SCHEMES and not pad and inject is None and repeat == 1
    return auth, clean and duplicate is None


def signatures(draw: st.DrawFn) -> tuple[tuple[SigSlot, SigSlot], bool]:
    slots = []
    for _ in range(2):
        mode = draw(pick(SIG_MODES)) if rarely(draw, 22) else "valid"
        inject = None
        if rarely(draw, 6):
            inject = (draw(integers(0, 400)), draw(pick(HOSTILE_BYTES)))
        slots.append(SigSlot(mode, inject))
    first, second = slots
    modes = {first.mode, second.mode}
    clean = modes <= {"valid", "absent"} and "valid" in modes
    clean = clean and first.inject is None and second.inject is None
    return (first, second), clean


# ---- transport: method, target, headers, encoding -----------------------------------------------


def transport(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    content_type = draw(pick(CONTENT_TYPES)) if rarely(draw, 15) else b"application/json"
    encoding = "none"
    if rarely(draw, 25):
        encoding = draw(pick(ENCODING_NAMES))
    elif rarely(draw, 1):  # each costs the ingress seconds of CPU (it inflates the whole GiB)
        encoding = draw(pick(BOMBS))
    chunked = rarely(draw, 8)
    headers = draw(pick(EXTRA_HEADERS)) if rarely(draw, 8) else ()
    clean = content_type in CLEAN_CONTENT_TYPES and encoding in CLEAN_ENCODINGS and not headers
    options = {
        "content_type": content_type,
        "encoding": encoding,
        "chunked": chunked,
        "headers": headers,
    }
    return options, clean


def method_and_target(draw: st.DrawFn, path: bytes) -> tuple[bytes, bytes, bool]:
    if not rarely(draw, 6):
        return b"POST", path, True
    if rarely(draw, 50):
        return draw(pick(OTHER_METHODS)), path, False
    return b"POST", draw(pick(ODD_PATHS)), False
