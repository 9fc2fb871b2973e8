"""Date headers -> aware UTC datetimes, tolerant of what mailers write."""

from __future__ import annotations

import email.utils
import re
from datetime import datetime, timedelta, timezone

from daemon.mail.cleaners import ascii_header, one_line

_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_ZONES = {"ut": 0, "utc": 0, "gmt": 0, "z": 0, "est": -300, "edt": -240, "cst": -360,
          "cdt": -300, "mst": -420, "mdt": -360, "pst": -480, "pdt": -420, "cet": 60,
          "cest": 120, "msk": 180}
_DATE_RE = re.compile(
    r"\s*(?:[A-Za-z]+\.?\s*,?\s*)?(\d{1,2})[\s-]+([A-Za-z]{3,})\.?[\s-]+(\d{1,4})\s+"
    r"(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?\s*(?:([+-])(\d{2}):?(\d{2})|([A-Za-z]{1,5})\b)?")
_EARLIEST = datetime(1980, 1, 1, tzinfo=timezone.utc)


def parse_date(value: str | None, now: datetime | None = None) -> datetime | None:
    """A Date header as an aware UTC datetime; None if missing, unreadable or absurd.

    Absurd means before 1980-01-01 or more than two days after `now`.
    """
    if not value:
        return None
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    text = one_line(ascii_header(value))
    parsed = _rfc5322_date(text)
    if parsed is None:
        parsed = _lenient_date(text)
    if parsed is None or parsed < _EARLIEST or parsed > now + timedelta(days=2):
        return None
    return parsed


def _rfc5322_date(text: str) -> datetime | None:
    """Read the usual 'Mon, 2 Jan 2026 10:00:00 +0100' shape; None if not that shape."""
    match = _DATE_RE.match(text)
    if not match or match.group(2)[:3].lower() not in _MONTHS:
        return None
    day, month_name, year_text, hour, minute, second, sign, tz_h, tz_m, zone = match.groups()
    year = _full_year(year_text)
    try:
        local = datetime(year, _MONTHS[month_name[:3].lower()], int(day), int(hour), int(minute),
                         min(int(second or 0), 59), tzinfo=_zone(sign, tz_h, tz_m, zone))
        return local.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return _EARLIEST - timedelta(days=1)  # the right shape with impossible values: absurd


def _full_year(text: str) -> int:
    """RFC 5322 obsolete years: two digits are 19xx/20xx, three are 1900+; one digit is absurd."""
    year = int(text)
    if len(text) == 2:
        return year + (2000 if year < 50 else 1900)
    if len(text) == 3:
        return year + 1900
    return year if len(text) == 4 else 0


def _zone(sign: str | None, hours: str | None, minutes: str | None, name: str | None) -> timezone:
    """The time zone of a date; unknown or impossible zones count as UTC."""
    offset = 0
    if sign and int(hours) < 24 and int(minutes) < 60:
        offset = (int(hours) * 60 + int(minutes)) * (-1 if sign == "-" else 1)
    elif name:
        offset = _ZONES.get(name.lower(), 0)
    return timezone(timedelta(minutes=offset))


def _lenient_date(text: str) -> datetime | None:
    """Other shapes: whatever the stdlib or ISO 8601 can read."""
    try:
        parts = email.utils.parsedate_tz(text)
    except Exception:  # noqa: BLE001
        parts = None
    try:
        if parts and len(re.findall(r"\d{4}", text)):
            stamp = datetime(*parts[:6], tzinfo=timezone(timedelta(seconds=parts[9] or 0)))
            return stamp.astimezone(timezone.utc)
        stamp = datetime.fromisoformat(text.strip())
    except (ValueError, OverflowError, TypeError):
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.astimezone(timezone.utc)
