"""Sign-in lock-out: at most `limit` password checks per account name between locks.

An attempt is reserved before the password is checked, in one UPDATE, so a
burst of parallel guesses cannot all slip in before the first failure is
counted; the reservation that goes over the limit locks the name at once.
A success forgets the name's failures; failures older than the lock's
length are forgotten too. Unknown names are counted alike, so the page
never tells which names exist.
"""
from __future__ import annotations

import datetime as dt

from peewee import Case

from daemon.db import database
from daemon.models import SignInFailure


def reserve(key: str, now: dt.datetime, limit: int, minutes: int) -> dt.datetime | None:
    """Take an attempt for `key`; returns when the lock ends if the name is locked (nothing is taken then)."""
    forgotten = now - dt.timedelta(minutes=minutes)
    with database.atomic():
        SignInFailure.insert(username=key, failures=0, last_at=now).on_conflict_ignore().execute()
        taken = list(SignInFailure.update(
            failures=Case(None, [(SignInFailure.last_at < forgotten, 1)], SignInFailure.failures + 1), last_at=now)
            .where((SignInFailure.username == key)
                   & (SignInFailure.locked_until.is_null() | (SignInFailure.locked_until <= now)))
            .returning(SignInFailure.failures).tuples().execute())
        if not taken:
            return SignInFailure.get(SignInFailure.username == key).locked_until
        if taken[0][0] > limit:
            return _lock(key, now, minutes)
    return None


def failed(key: str, now: dt.datetime, limit: int, minutes: int) -> None:
    """The reserved attempt failed: lock the name when it was the last one allowed."""
    SignInFailure.update(failures=0, locked_until=now + dt.timedelta(minutes=minutes)).where(
        (SignInFailure.username == key) & (SignInFailure.failures >= limit)).execute()


def succeeded(key: str) -> None:
    SignInFailure.delete().where(SignInFailure.username == key).execute()


def _lock(key: str, now: dt.datetime, minutes: int) -> dt.datetime:
    until = now + dt.timedelta(minutes=minutes)
    SignInFailure.update(failures=0, locked_until=until).where(SignInFailure.username == key).execute()
    return until
