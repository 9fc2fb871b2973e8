"""Template filters the console's pages share: times, sizes, JSON fields."""
from __future__ import annotations

import json

from flask import Flask

from daemon import timefmt
from daemon.store.models import utcnow


def ago(moment) -> str:
    """'12 min ago' for a stored UTC datetime or ISO string; 'never' for none."""
    if moment is None:
        return "never"
    if isinstance(moment, str):
        return timefmt.ago(moment, utcnow())
    # A datetime needs no trip through text: the queue shows a few of these on every row.
    return f"{timefmt.duration(max(0.0, (utcnow() - moment).total_seconds()))} ago"


def when(moment) -> str:
    if moment is None:
        return ""
    return moment.strftime("%Y-%m-%d %H:%M") + " UTC"


def size(count: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if count < 1024 or unit == "MB":
            return f"{count} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return str(count)


def init_app(app: Flask) -> None:
    app.add_template_filter(ago, "ago")
    app.add_template_filter(when, "when")
    app.add_template_filter(size, "size")
    app.add_template_filter(lambda text: json.loads(text or "[]"), "json_list")
    app.add_template_filter(lambda value: (value, value), "as_choice")
