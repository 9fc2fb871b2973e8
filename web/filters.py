"""Template filters the console's pages share: times, sizes, JSON fields, in the page's language."""
from __future__ import annotations

import datetime as dt
import json

from flask import Flask
from babel.dates import format_timedelta
from flask_babel import format_decimal, get_locale, gettext, ngettext

from daemon import timefmt
from daemon.store.models import utcnow


def _elapsed(moment) -> dt.timedelta | None:
    if moment is None:
        return None
    if isinstance(moment, str):
        return dt.timedelta(seconds=timefmt.seconds_since(moment, utcnow()) or 0.0)
    # A datetime needs no trip through text: the queue shows a few of these on every row.
    return max(dt.timedelta(0), utcnow() - moment)


def ago(moment) -> str:
    """'12 minutes ago' ('12 minutter siden', '12 минут назад') for a stored UTC datetime or ISO string;
    'never' for none."""
    elapsed = _elapsed(moment)
    if elapsed is None:
        return gettext("never")
    return format_timedelta(-elapsed, threshold=1.5, add_direction=True, format="short", locale=get_locale())


def duration(moment) -> str:
    """How long since `moment`, without 'ago': '12 min' ('12 мин')."""
    elapsed = _elapsed(moment)
    return "" if elapsed is None else format_timedelta(elapsed, threshold=1.5, format="short", locale=get_locale())


def when(moment) -> str:
    if moment is None:
        return ""
    return moment.strftime("%Y-%m-%d %H:%M") + " UTC"


def size(count: int) -> str:
    if count < 1024:
        return ngettext("%(size)s byte", "%(size)s bytes", count, size=format_decimal(count))
    for unit in ("KB", "MB"):
        count /= 1024
        if count < 1024 or unit == "MB":
            return f"{format_decimal(round(count, 1), format='#,##0.0')} {unit}"
    return str(count)


def init_app(app: Flask) -> None:
    app.add_template_filter(ago, "ago")
    app.add_template_filter(duration, "duration")
    app.add_template_filter(when, "when")
    app.add_template_filter(size, "size")
    app.add_template_filter(lambda text: json.loads(text or "[]"), "json_list")
    app.add_template_filter(lambda value: (value, value), "as_choice")
