"""An envelope's event time as epoch seconds: from its ``time`` text (``event_time_s``), or from
a record's ``ce_time`` header as the ingress writes it (``ce_time_s``, the scoring worker's hot
path).

``ce_time_s`` gives exactly what ``event_time_s`` gives. The ingress writes every time as
``YYYY-MM-DDTHH:MM:SS.mmmZ`` (``pipeline.envelope.format_time``), and a worker reads many
records within the same second: the epoch of each second seen is cached by its first 19 bytes,
and the milliseconds come from a table of all thousand ``.mmmZ`` endings, so a record costs two
slices and two dictionary lookups instead of building a ``datetime``. Both ways give the same
float: ``datetime.timestamp()`` divides the whole microseconds since the epoch by 10**6, and
``(second_ms + ms) / 1000`` is the same rational number, rounded once by the same rule
(``tests/pipeline/consume/test_event_time.py`` holds the two to it). Anything else (another
form, a second not seen yet, bytes that do not parse) goes the slow way, with its errors.
"""

import re
from datetime import datetime

from pipeline.errors import UnusableInput

# ".000Z" … ".999Z" → milliseconds
_MILLIS = {f".{n:03d}Z".encode(): n for n in range(1000)}
_SECOND = re.compile(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
_SECONDS_KEPT = 10_000  # about 1.5 MB; past that the cache starts again empty
_seconds: dict[bytes, int] = {}  # "YYYY-MM-DDTHH:MM:SS" → epoch milliseconds of that second


def event_time_s(time_text: str) -> float:
    """An envelope ``time`` as epoch seconds (the ingress writes UTC RFC 3339)."""
    try:
        return datetime.fromisoformat(time_text).timestamp()
    except (TypeError, ValueError) as exc:
        raise UnusableInput("invalid_time", f"envelope time {str(time_text)[:40]!r}") from exc


def ce_time_s(ce_time: bytes) -> float:
    """``event_time_s(ce_time.decode())``, the same value and errors, faster for the form the
    ingress writes."""
    ms = _MILLIS.get(ce_time[19:])
    if ms is not None:
        second_ms = _seconds.get(ce_time[:19])
        if second_ms is not None:
            return (second_ms + ms) / 1000
    at_s = event_time_s(ce_time.decode())
    if ms is not None and _SECOND.fullmatch(ce_time[:19]):
        # the second's own epoch, from a whole second: an exact integer
        second = datetime.fromisoformat(ce_time[:19].decode() + "+00:00").timestamp()
        if (int(second) * 1000 + ms) / 1000 == at_s:  # always, by the module's argument
            if len(_seconds) >= _SECONDS_KEPT:
                _seconds.clear()
            _seconds[ce_time[:19]] = int(second) * 1000
    return at_s
