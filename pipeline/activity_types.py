"""Marketo activity type ids → the CloudEvent ``type`` Adobe I/O Events gives them.

A lead activity from the direct push carries only ``activityTypeId``/``activityType``; we give it
the same ``type`` it would have had through Adobe I/O Events so that downstream routing does not
depend on the path an event took. The naming rule (docs/protocol.md): the event type name in lower
case with spaces removed; custom activity types share one ``type`` with no suffix.
"""

import csv
import functools
import re
from importlib import resources

STANDARD_TYPE_PREFIX = "com.adobe.platform.marketo.activity.standard."
CUSTOM_TYPE = "com.adobe.platform.marketo.activity.custom"
# The current doc says custom ids start at 100000; before Oct 2025 it said 10000. An id at or above
# the older bound that is not a known standard type is taken as custom.
CUSTOM_ID_MIN = 100_000
LEGACY_CUSTOM_ID_MIN = 10_000

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def type_suffix(name: str) -> str:
    """ "Open Email" → "openemail"; "Enrich with Data.com" → "enrichwithdatacom"."""
    return _NOT_ALNUM.sub("", name.lower())


@functools.cache
def standard_names() -> dict[int, str]:
    """Activity type id → name, from the table shipped with the package."""
    text = resources.files("pipeline").joinpath("data/activity-types.csv").read_text("utf-8")
    return {int(row["id"]): row["name"] for row in csv.DictReader(text.splitlines())}


def is_custom(type_id: int) -> bool:
    return type_id >= CUSTOM_ID_MIN or (
        type_id >= LEGACY_CUSTOM_ID_MIN and type_id not in standard_names()
    )


@functools.lru_cache(maxsize=4096)
def cloudevent_type(type_id: int, name: str | None) -> str | None:
    """The Adobe I/O ``type`` for an activity, or None when neither id nor name tells it."""
    if is_custom(type_id):
        return CUSTOM_TYPE
    known = standard_names().get(type_id) or name
    if not known or not type_suffix(known):
        return None
    return STANDARD_TYPE_PREFIX + type_suffix(known)
