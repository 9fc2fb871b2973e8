"""How often one client may post to a public form: a count per form, client and minute, in the database.

The count lives in the database, not in a process, so every console process and
daemon behind one proxy counts together. Its key is a keyed hash of the form and
the client's address: the address itself is never stored, and windows older than
a few minutes are deleted as new ones begin. The last sixty seconds are estimated
from this minute's count and the share of the minute before still inside them, so
a burst across a minute's turn is not allowed twice the limit.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from flask import current_app, request

from daemon.store.db import database
from daemon.store.models import RateLimit, utcnow

KEPT = dt.timedelta(minutes=10)  # windows older than this are deleted
MINUTE = dt.timedelta(minutes=1)


def allowed(form: str, limit: int, now: dt.datetime | None = None) -> bool:
    """Count one post of this request's client to `form`; False once the posts of the last sixty seconds
    come to more than `limit` (the post is counted either way: hammering does not reopen the window)."""
    now = now or utcnow()
    window = now.replace(second=0, microsecond=0)
    client = request.remote_addr or "unknown"
    key = hmac.new(current_app.secret_key.encode(), f"{form}\0{client}".encode(), hashlib.sha256).hexdigest()
    with database.atomic():
        RateLimit.insert(key=key, window=window, count=1).on_conflict(
            conflict_target=[RateLimit.key, RateLimit.window],
            update={RateLimit.count: RateLimit.count + 1}).execute()
        counts = dict(RateLimit.select(RateLimit.window, RateLimit.count).where(
            (RateLimit.key == key) & RateLimit.window.in_((window, window - MINUTE))).tuples())
        count = counts.get(window, 0)
        if count == 1:  # a client's first post of a minute: the moment to forget old windows
            RateLimit.delete().where(RateLimit.window < window - KEPT).execute()
    before = counts.get(window - MINUTE, 0) * (1 - (now - window) / MINUTE)
    return count + before <= limit
