"""The journal's ``seek``: a negative ISO 8601 duration (``-PT30H``, ``-P1D``, ``-P5DT2H``)."""

import re
from datetime import timedelta

_DURATION = re.compile(
    r"-P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_seek(text: str) -> timedelta | None:
    """How far back ``text`` reaches; None unless it is a negative duration the journal takes."""
    match = _DURATION.match(text)
    if match is None or not any(match.groupdict().values()):
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return timedelta(
        days=parts.get("d", 0),
        hours=parts.get("h", 0),
        minutes=parts.get("m", 0),
        seconds=parts.get("s", 0),
    )


def as_seek(span: timedelta) -> str:
    """``span`` back from now as a seek, rounded up to a whole second."""
    seconds = max(1, int(-(-span.total_seconds() // 1)))
    return f"-PT{seconds}S"
