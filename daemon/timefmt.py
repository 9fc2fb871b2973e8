"""Times as people read them in listings: '12 s', '10 min', '3 h', '2 d'."""
from __future__ import annotations

import datetime as dt


def seconds_since(iso: str | None, now: dt.datetime) -> float | None:
    """Seconds from a stored UTC timestamp (naive, or with an offset) to `now` (naive UTC); None for never."""
    if not iso:
        return None
    moment = dt.datetime.fromisoformat(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return max(0.0, (now - moment).total_seconds())


def duration(seconds: float) -> str:
    """A rough, readable length of time: 12 s, 10 min, 3 h, 2 d."""
    for unit, size, up_to in (("s", 1, 90), ("min", 60, 90 * 60), ("h", 3600, 48 * 3600)):
        if seconds < up_to:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds // 86400)} d"


def ago(iso: str | None, now: dt.datetime) -> str:
    """'12 s ago' for a stored UTC timestamp; 'never' for none."""
    seconds = seconds_since(iso, now)
    return "never" if seconds is None else f"{duration(seconds)} ago"
